"""`POST /api/v1/track`: what the website script (`/js/penguinflow.js`) sends, admitted by a public write key.

The body is `POST /api/v1/events`'s (one event or `{"events": [...]}`), with three differences, all decided here
before the shared ingestion (`events.ingest`) validates and stores it:

- an event may name no contact and carry `anonymous_id` instead (the visitor's id in the browser's storage): it is
  stored without a contact, the id in `properties.anonymous_id`. Events sent after `identify()` name the contact
  by email (or external_id) and carry the anonymous id too; earlier anonymous events stay unattached.
- a public key must not be able to forge what the project itself records (an unsubscribe, an email opened, a
  campaign started...): types of those families are refused, item by item.
- `write_key` may be in the body, as `navigator.sendBeacon` cannot set a header.

The write key is looked up in a small per-process cache (`_CACHE_SECONDS`), so a rotation or a change of the
declared origins takes effect in every server process within those seconds.

Like `events.admission` for `POST /api/v1/events`, the decisions live here as plain functions shared by the two
front doors, the Django view (`events.track_views`) and the ASGI fast path (`events.fastpath`). Order of checks:
the body's size (413), its content type (415), the body (400), the write key (401), the page's Origin among the
workspace's `tracking_origins` (403), the per-workspace rate (429), then the shared ingestion (202).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from events.admission import Refusal
from events.ingest import MAX_ID_CHARS, Prepared, ingest_validate
from events.models import Event
from penguinflow.common.errors import InvalidInput
from penguinflow.workspaces.messaging_settings import messaging_settings
from penguinflow.workspaces.models import Workspace

TRACK_PATH = "/api/v1/track"
MAX_TRACK_BATCH = 100  # a page's script flushes every second or so: a hundred events is far more than it keeps
# Families of what the project records itself (CONTRACT §3, §13, §18): never from a public key.
RESERVED_FAMILIES = frozenset({"email", "contact", "campaign", "segment", "workflow", "sms", "push", "crm",
                               "webhook", "task"})
_CACHE_SECONDS = 5.0
_MISSING_IDENTITY = "Name the visitor: anonymous_id (the script's), or contact {email | external_id | id}."


@dataclass(frozen=True, slots=True)
class Site:
    """A workspace as its write key admits it: the workspace and the origins its pages may send from."""

    workspace: Workspace
    origins: frozenset[str]

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and origin.lower().rstrip("/") in self.origins


_sites: dict[str, tuple[float, Site | None]] = {}
_declared: dict[str, tuple[float, bool]] = {}
NOT_CACHED = object()


def cached_site(write_key: str) -> Site | object | None:
    """Return the site of a write key as cached (None: known to be unknown), or NOT_CACHED (no database)."""
    cached = _sites.get(write_key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return NOT_CACHED


def site_for_write_key(write_key: str) -> Site | None:
    """Return the site of a write key, None for an unknown (or rotated) one."""
    now = time.monotonic()
    cached = cached_site(write_key)
    if cached is not NOT_CACHED:
        return cached  # type: ignore[return-value]
    workspace = Workspace.objects.filter(write_key=write_key).first() if 0 < len(write_key) <= 64 else None
    site = None
    if workspace is not None:
        origins = frozenset(origin.lower().rstrip("/") for origin in messaging_settings(workspace).tracking_origins)
        site = Site(workspace, origins)
    if len(_sites) > 10_000:  # unknown keys are cached too: keep the map bounded whatever is sent
        _sites.clear()
    _sites[write_key] = (now + _CACHE_SECONDS, site)
    return site


def origin_declared_anywhere(origin: str) -> bool:
    """Whether some workspace declares this origin (a preflight names no key: it cannot tell which one)."""
    origin = origin.lower().rstrip("/")
    now = time.monotonic()
    cached = _declared.get(origin)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = Workspace.objects.filter(settings__tracking_origins__contains=[origin]).exists()
    if len(_declared) > 10_000:
        _declared.clear()
    _declared[origin] = (now + _CACHE_SECONDS, found)
    return found


def forget_cached_sites() -> None:
    """Drop the caches (tests that change a key or the origins and call again at once)."""
    _sites.clear()
    _declared.clear()


def _reserved(event_type: Any) -> bool:
    return isinstance(event_type, str) and event_type.partition(".")[0] in RESERVED_FAMILIES


def _adapt(item: Any) -> dict[str, str]:
    """Move the item's `anonymous_id` into its properties; return what the script may not send (else {})."""
    if not isinstance(item, dict):
        return {}  # the shared validation names the problem
    errors: dict[str, str] = {}
    if "contact" in item and not isinstance(item["contact"], dict):
        errors["contact"] = "Must be an object with one of id, email, external_id (or leave it out)."
    has_anonymous_id = "anonymous_id" in item
    anonymous_id = item.pop("anonymous_id", None)
    if has_anonymous_id:
        if not isinstance(anonymous_id, str) or not 0 < len(anonymous_id) <= MAX_ID_CHARS:
            errors["anonymous_id"] = f"Must be a string of 1 to {MAX_ID_CHARS} characters."
        elif isinstance(item.get("properties", {}), dict):
            item["properties"] = {**item.get("properties", {}), "anonymous_id": anonymous_id}
    elif "contact" not in item:
        errors["contact"] = _MISSING_IDENTITY
    if _reserved(item.get("type")):
        errors["type"] = (f"{item['type']!r} is recorded by PenguinFlow itself: the website may send page.viewed, "
                          f"form.submitted, visitor.identified or a type of its own (e.g. 'cart.updated').")
    return errors


def _adapted_body(body: bytes) -> tuple[bytes, str | None, dict[int, dict[str, str]]]:
    """Return the body for the shared validation, the write key found in it, and the items refused here."""
    try:
        top = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return body, None, {}  # the shared validation explains it
    if not isinstance(top, dict):
        return body, None, {}
    has_key = "write_key" in top
    write_key = top.pop("write_key", None)
    if has_key and not isinstance(write_key, str):
        raise InvalidInput("write_key must be a string.", details={"write_key": "Must be a string."})
    if has_key and "events" not in top:
        raise InvalidInput('write_key goes beside a batch: {"write_key": "...", "events": [...]}.',
                           details={"write_key": "Only in a batch body."})
    errors: dict[int, dict[str, str]] = {}
    if "events" in top:
        items = top["events"]
        if isinstance(items, list):
            if len(items) > MAX_TRACK_BATCH:
                raise InvalidInput(f"A batch holds at most {MAX_TRACK_BATCH} events here; this one has {len(items)}.",
                                   details={"events": f"At most {MAX_TRACK_BATCH} events per request."})
            errors = {index: problem for index, item in enumerate(items) if (problem := _adapt(item))}
    elif problem := _adapt(top):
        errors = {0: problem}
    return msgspec.json.encode(top), write_key, errors


def track_prepare(body: bytes, now: datetime) -> tuple[Prepared, str | None]:
    """Validate a tracking request's body (no database); return it prepared for `ingest_store` and the write key
    it carries (a beacon's). Raise InvalidInput when the body as a whole is unacceptable."""
    adapted, write_key, refused = _adapted_body(body)
    prepared = ingest_validate(adapted, now, anonymous_ok=True, source=Event.Source.WEB)
    if refused:
        for index, problem in refused.items():
            prepared.rejected[index] = {**prepared.rejected.get(index, {}), **problem}
        prepared.valid = [item for item in prepared.valid if item.index not in refused]
    return prepared, write_key


# --- admission: what both front doors check, in this order --------------------------------------------------

_JSON_TYPES = frozenset({"application/json", "text/plain"})


def content_type_refusal(content_type: str) -> Refusal | None:
    """JSON, declared as such or as `text/plain` (what `navigator.sendBeacon` sends a string as: a CORS "simple"
    request, which needs no preflight)."""
    if content_type.partition(";")[0].strip().lower() in _JSON_TYPES:
        return None
    return Refusal(415, "unsupported_media_type",
                   "Send the events as application/json (or text/plain, as navigator.sendBeacon does).")


def write_key_of(header: str | None, query: str | None, body: str | None) -> str | Refusal:
    """The write key of a request: the `X-Write-Key` header, else `?write_key=`, else the body's `write_key`."""
    write_key = header or query or body
    if not write_key:
        return Refusal(401, "not_authenticated", "A write key is required: send the X-Write-Key header (or "
                                                 "write_key in the body or the query string).")
    return write_key


INVALID_WRITE_KEY = Refusal(401, "authentication_failed", "This write key is not valid, or has been rotated.")


def origin_refusal(site: Site, origin: str | None) -> Refusal | None:
    if site.allows(origin):
        return None
    return Refusal(403, "origin_not_allowed", "This page's origin may not send events with this write key: add it "
                   "to the workspace's settings (tracking_origins).", {"origin": origin or "(none sent)"})


def rate_key(site: Site) -> str:
    """The rate window's name: one per workspace, all its pages together."""
    return f"web:{site.workspace.pk}"


def cors_headers(origin: str | None) -> tuple[tuple[str, str], ...]:
    """The headers of every answer to a POST: the page's origin (refusals too: they hold nothing but the reason,
    and the script must tell a refusal, never sent again, from a network failure, retried)."""
    allow = (("Access-Control-Allow-Origin", origin),) if origin else ()
    return (*allow, ("Vary", "Origin"), ("Cache-Control", "no-store"))
