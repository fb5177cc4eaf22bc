"""The ingestion hot path of `POST /api/v1/events` (CONTRACT §3): validate, resolve contacts, store, commit.

Shape of the work, whatever the batch size: msgspec decodes and validates each item (a slower, thorough check
runs only for items that fail, to report every field path); contacts are resolved in one query (and unknown
emails created in one more); dedupe keys and event rows are written by `events.services.events_write` (one
statement + one COPY). The caller answers 202 only after this function's transaction has committed.

Two front doors share this module: the Django view (`events.views`, canonical, what the test client drives) and
the ASGI fast path (`events.fastpath`, what uvicorn serves). Both call the pure `ingest_validate()` and the same
SQL (`contact_lookup_sql`, `events.services.EVENTS_INSERT_SQL`); only the way they reach PostgreSQL differs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from django.db import connection, transaction
from django.utils import timezone

from events.models import Event
from events.services import MAX_FUTURE, EventRow, events_insert, events_write
from penguinflow.common.errors import InvalidInput
from penguinflow.common.validators import (
    BAD_TEXT_MESSAGE,
    MAX_JSON_DEPTH,
    TOO_DEEP_MESSAGE,
    has_bad_text,
    json_problem,
)

MAX_BATCH = 1000
MAX_PROPERTIES_BYTES = 32 * 1024
MAX_ID_CHARS = 128
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CAMPAIGN_LEVEL_TYPES = frozenset({"campaign.started", "campaign.paused", "campaign.completed"})
EVENT_FIELDS = ("id", "type", "contact", "occurred_at", "properties")
CONTACT_FIELDS = ("id", "email", "external_id")
_TIMESTAMP_HELP = "an ISO 8601 timestamp with a time zone, e.g. 2026-11-22T10:00:00Z"
# Properties are kept as the client's bytes; only those that may hold something unstorable are decoded and walked:
# an escape (it may hide NUL or an unpaired surrogate), a run of 19 digits (an integer beyond 64 bits has one), an
# exponent of 3 digits (a float that overflows to infinity has one). Nesting is checked by counting brackets.
_SUSPECT_PROPERTIES = re.compile(rb"\\u|[0-9]{19}|[eE][+-]?[0-9]{3}")

# Called with the contacts an ingestion created (see `on_contacts_created`).
ContactsCreatedHook = Callable[..., object]
_contacts_created_hooks: list[ContactsCreatedHook] = []


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    id: str | None = None
    email: str | None = None
    external_id: str | None = None


class EventIn(msgspec.Struct, forbid_unknown_fields=True):
    type: str
    id: str | None = None
    contact: ContactIn | None = None
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    properties: msgspec.Raw = msgspec.Raw(b"")  # empty when absent


_event_decoder = msgspec.json.Decoder(EventIn)
_object_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_any_decoder = msgspec.json.Decoder()
_timestamp_decoder = msgspec.json.Decoder(Annotated[datetime, msgspec.Meta(tz=True)])
_datetime_decoder = msgspec.json.Decoder(datetime)


@dataclass(slots=True)
class _Item:
    index: int
    type: str
    client_id: str | None
    contact_kind: str | None  # "id" | "email" | "external_id" | None (campaign-level)
    contact_value: Any
    occurred_at: datetime
    properties_json: str
    contact_id: UUID | None = None


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_body(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def _text_error(value: str, *, max_chars: int) -> str | None:
    if not value:
        return "Must not be empty."
    if len(value) > max_chars:
        return f"Must be at most {max_chars} characters (got {len(value)})."
    if has_bad_text(value):
        return BAD_TEXT_MESSAGE
    return None


def _properties(raw: msgspec.Raw, event_type: str) -> tuple[str | None, dict[str, str]]:
    """Return the properties as JSON text, or the errors that make them unacceptable."""
    data = bytes(raw)
    if not data:
        data = b"{}"
    if not data.startswith(b"{"):
        return None, {"properties": "Must be a JSON object."}
    if problem := _storable_problem(data):
        return None, problem
    if len(data) > MAX_PROPERTIES_BYTES:
        # The limit is on the serialized object, not on the client's whitespace.
        size = len(msgspec.json.encode(_any_decoder.decode(data)))
        if size > MAX_PROPERTIES_BYTES:
            return None, {"properties": f"Must be at most 32 KiB serialized (got {size} bytes)."}
    if event_type in CAMPAIGN_LEVEL_TYPES:
        campaign_id = _any_decoder.decode(data).get("campaign_id")
        try:
            UUID(str(campaign_id))
        except ValueError:
            return None, {"properties.campaign_id": "Required for campaign-level events: the campaign's id."}
    return data.decode(), {}


def _storable_problem(data: bytes) -> dict[str, str]:
    """Return the error of properties that cannot be stored and read back (see `json_problem`), else {}."""
    if not _SUSPECT_PROPERTIES.search(data) and data.count(b"{") + data.count(b"[") <= MAX_JSON_DEPTH:
        return {}
    try:
        decoded = _any_decoder.decode(data)
    except RecursionError:
        return {"properties": TOO_DEEP_MESSAGE}
    except msgspec.ValidationError:
        # msgspec refuses what it cannot represent: an integer of thousands of digits, a float beyond 1.8e308.
        return {"properties": "Numbers must be finite and integers must lie between -2^63 and 2^63 - 1."}
    except msgspec.DecodeError:
        return {"properties": "Must not contain unpaired surrogates."}
    problem = json_problem(decoded, path="properties")
    if problem is None:
        return {}
    # Reported under "properties", as it always was; the message says where inside.
    where = f" (at {problem.path})" if problem.path != "properties" else ""
    return {"properties": problem.message.removesuffix(".") + where + "."}


def _occurred_at_error(occurred_at: datetime, now: datetime) -> str | None:
    try:
        # An offset can carry a timestamp of year 1 or 9999 outside the years 1-9999 once in UTC, which
        # PostgreSQL would store (as a BC date, or year 10000) and no Python reader could read back.
        moment = occurred_at.astimezone(UTC)
    except OverflowError:
        return "Must lie between the years 1 and 9999 in UTC."
    if moment > now + MAX_FUTURE:
        return "Must not be more than 1 day in the future."
    return None


def _check(event: EventIn, index: int, now: datetime, anonymous_ok: bool = False
           ) -> tuple[_Item | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if len(event.type) > 128 or not TYPE_PATTERN.match(event.type):
        errors["type"] = (
            "Must be a catalogue type or a custom type matching ^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)+$ "
            "(e.g. 'order.completed'), at most 128 characters."
        )
    if event.id is not None and (problem := _text_error(event.id, max_chars=MAX_ID_CHARS)):
        errors["id"] = problem
    occurred_at = event.occurred_at or now
    if problem := _occurred_at_error(occurred_at, now):
        errors["occurred_at"] = problem
    else:
        # Stored in UTC: ISO 8601 allows offsets up to ±23:59, PostgreSQL only to ±15:59 (it refused +21:20).
        occurred_at = occurred_at.astimezone(UTC)
    properties_json, property_errors = _properties(event.properties, event.type)
    errors.update(property_errors)
    kind, value = None, None
    if event.type in CAMPAIGN_LEVEL_TYPES:
        if event.contact is not None:
            errors["contact"] = "Campaign-level events (campaign.started|paused|completed) carry no contact."
    elif event.contact is None:
        if not anonymous_ok:
            errors["contact"] = "Required: identify the contact by one of id, email, external_id."
    else:
        given = [name for name in CONTACT_FIELDS if getattr(event.contact, name) is not None]
        if len(given) != 1:
            errors["contact"] = (
                "Give exactly one of id, email, external_id"
                + (f" (got {', '.join(given)})." if given else ".")
            )
        else:
            kind = given[0]
            value = getattr(event.contact, kind)
            if kind == "id":
                try:
                    value = UUID(value)
                except ValueError:
                    errors["contact.id"] = "Must be a UUID."
            elif kind == "email":
                value = value.strip().lower()
                if problem := _text_error(value, max_chars=254):
                    errors["contact.email"] = problem
            elif problem := _text_error(value, max_chars=255):
                errors["contact.external_id"] = problem
    if errors:
        return None, errors
    return _Item(index, event.type, event.id, kind, value, occurred_at, properties_json), {}


def _shape_errors(raw: bytes) -> dict[str, str]:
    """Explain, field by field, why an item did not decode (the slow path: only for rejected items)."""
    try:
        item = _any_decoder.decode(raw)
    except msgspec.DecodeError as error:
        return {"event": f"Not valid JSON: {error}."}
    except RecursionError:
        return {"event": TOO_DEEP_MESSAGE}
    if not isinstance(item, dict):
        return {"event": "Each event must be a JSON object."}
    errors: dict[str, str] = {}
    for name in item:
        if name not in EVENT_FIELDS:
            errors[name] = f"Unknown field; an event has {', '.join(EVENT_FIELDS)}."
    if "type" not in item:
        errors["type"] = "Required."
    elif not isinstance(item["type"], str):
        errors["type"] = "Must be a string."
    if item.get("id") is not None and not isinstance(item["id"], str):
        errors["id"] = "Must be a string of at most 128 characters."
    contact = item.get("contact")
    if contact is not None:
        if not isinstance(contact, dict):
            errors["contact"] = "Must be an object with one of id, email, external_id."
        else:
            for name, value in contact.items():
                if name not in CONTACT_FIELDS:
                    errors[f"contact.{name}"] = "Unknown field; use one of id, email, external_id."
                elif value is not None and not isinstance(value, str):
                    errors[f"contact.{name}"] = "Must be a string."
    occurred_at = item.get("occurred_at")
    if occurred_at is not None:
        if not isinstance(occurred_at, str):
            errors["occurred_at"] = f"Must be {_TIMESTAMP_HELP}."
        else:
            encoded = msgspec.json.encode(occurred_at)
            try:
                _timestamp_decoder.decode(encoded)
            except msgspec.ValidationError:
                try:
                    _datetime_decoder.decode(encoded)
                    errors["occurred_at"] = f"Must include a time zone: {_TIMESTAMP_HELP}."
                except msgspec.ValidationError:
                    errors["occurred_at"] = f"Not {_TIMESTAMP_HELP}."
    if "properties" in item and not isinstance(item["properties"], dict):
        errors["properties"] = "Must be a JSON object."
    return errors


def _msgspec_path_errors(error: Exception) -> dict[str, str]:
    text = str(error)
    message, _, path = text.partition(" - at `$")
    path = path.rstrip("`").lstrip(".") or "event"
    return {path: message + "."}


def _lenient_split(body: bytes) -> dict[str, Any] | None:
    """Parse a body msgspec refused, with the standard library (which accepts unpaired surrogate escapes), so
    that one bad item does not take its valid neighbours down with it; None when it is not JSON at all."""
    try:
        top = json.loads(body)
        if not isinstance(top, dict):
            return top
        if isinstance(top.get("events"), list):
            top["events"] = [msgspec.Raw(json.dumps(item).encode()) for item in top["events"]]
        return {name: value if name == "events" else msgspec.Raw(json.dumps(value).encode())
                for name, value in top.items()}
    except ValueError:
        return None
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> InvalidInput:
    return InvalidInput(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.",
                        details={"body": TOO_DEEP_MESSAGE})


def parse_body(body: bytes) -> tuple[list[bytes], bool]:
    """Split the body into raw items; return them and whether the body was a batch. Raise InvalidInput."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"The body is not valid UTF-8 ({error.reason} at byte {error.start}).",
                           code="invalid_utf8") from None
    not_an_object = InvalidInput(
        'The body must be a JSON object: one event, or {"events": [event, ...]}.', code="validation_error",
        details={"body": "Must be a JSON object."},
    )
    try:
        top: Any = _object_decoder.decode(body)
    except msgspec.ValidationError:
        raise not_an_object from None
    except RecursionError:
        # msgspec counts its nesting against Python's recursion limit; far deeper than any event may nest.
        raise _too_deep() from None
    except msgspec.DecodeError as error:
        top = _lenient_split(body)
        if top is None:
            raise InvalidInput(f"The request body is not valid JSON: {error}.", code="malformed_json") from None
        if not isinstance(top, dict):
            raise not_an_object from None
    if "events" not in top:
        return [body], False
    if len(top) != 1:
        others = ", ".join(sorted(name for name in top if name != "events"))
        raise InvalidInput('A batch is {"events": [...]} and nothing else.',
                           details={"events": f"Unexpected fields beside events: {others}."})
    items = top["events"]
    if not isinstance(items, list):
        try:
            items = _list_decoder.decode(items)
        except msgspec.ValidationError:
            raise InvalidInput("events must be a list of events.", details={"events": "Must be a list."}) from None
        except RecursionError:
            raise _too_deep() from None
    if not items:
        raise InvalidInput("The batch is empty.", details={"events": "Must hold at least one event."})
    if len(items) > MAX_BATCH:
        raise InvalidInput(
            f"A batch holds at most {MAX_BATCH} events; this one has {len(items)}.",
            details={"events": f"At most {MAX_BATCH} events per request (got {len(items)})."},
        )
    return [bytes(item) for item in items], True


def _validate(raw_items: list[bytes], now: datetime, anonymous_ok: bool = False
              ) -> tuple[list[_Item], dict[int, dict[str, str]]]:
    valid: list[_Item] = []
    rejected: dict[int, dict[str, str]] = {}
    for index, raw in enumerate(raw_items):
        try:
            event = _event_decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            rejected[index] = _shape_errors(raw) or _msgspec_path_errors(error)
            continue
        except RecursionError:
            rejected[index] = {"event": TOO_DEEP_MESSAGE}
            continue
        item, errors = _check(event, index, now, anonymous_ok)
        if item is None:
            rejected[index] = errors
        else:
            valid.append(item)
    return valid, rejected


@dataclass(slots=True)
class ContactMatches:
    """The contacts named by a request's items, as found in the workspace."""

    by_id: set[UUID] = field(default_factory=set)
    by_email: dict[str, UUID] = field(default_factory=dict)
    by_external: dict[str, UUID] = field(default_factory=dict)

    def add_rows(self, rows) -> None:
        for contact_id, email, external_id in rows:
            self.by_id.add(contact_id)
            self.by_email[email] = contact_id
            if external_id is not None:
                self.by_external[external_id] = contact_id


def _text_array(values) -> str:
    """Return a PostgreSQL text array literal (several times cheaper than psycopg's quoting of a list)."""
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


def contact_lookup_sql(workspace_id: UUID, items: list[_Item]) -> tuple[str, list[Any]] | None:
    """Return the one query that finds the contacts the items name (by id, email case-insensitively, or
    external_id) and its parameters; None when no item names a contact. Rows: (id, lower(email), external_id).

    One index probe per value (a LATERAL subquery behind OFFSET 0, which the planner cannot flatten): left to
    itself, the planner prefers to scan a small workspace's contacts and compute lower(email) for every row,
    several times slower for a batch of 500.
    """
    ids = {item.contact_value for item in items if item.contact_kind == "id"}
    emails = {item.contact_value for item in items if item.contact_kind == "email"}
    external_ids = {item.contact_value for item in items if item.contact_kind == "external_id"}
    parts, params = [], []
    for present, column, array in ((ids, "id", "%s::uuid[]"), (emails, "lower(email)", "%s::text[]"),
                                   (external_ids, "external_id", "%s::text[]")):
        if present:
            parts.append(
                f"SELECT c.* FROM unnest({array}) AS v(value) CROSS JOIN LATERAL ("
                f"SELECT id, lower(email), external_id FROM contacts_contact "
                f"WHERE workspace_id = %s AND {column} = v.value OFFSET 0) AS c"
            )
            # Literal arrays: the planner sees the values (and their number).
            params += [list(present) if present is ids else _text_array(present), workspace_id]
    if not parts:
        return None
    return " UNION ALL ".join(parts), params


def _lookup_contacts(workspace_id: UUID, items: list[_Item]) -> ContactMatches:
    """Find the contacts the items name: one query."""
    found = ContactMatches()
    query = contact_lookup_sql(workspace_id, items)
    if query is not None:
        with connection.cursor() as cursor:
            cursor.execute(*query)
            found.add_rows(cursor.fetchall())
    return found


def unknown_emails(items: list[_Item], found: ContactMatches) -> list[str]:
    """Return the well-formed addresses of the items that name no existing contact (sorted: stable locks)."""
    return sorted({item.contact_value for item in items if item.contact_kind == "email"
                   and item.contact_value not in found.by_email and EMAIL_PATTERN.match(item.contact_value)})


def _create_contacts(workspace_id: UUID, emails: list[str], now: datetime, by_email: dict[str, UUID]) -> list[UUID]:
    """Create contacts for unknown addresses (caller holds a transaction); return the ids created here."""
    created: list[UUID] = []
    with connection.cursor() as cursor:
        # Concurrent requests may create the same address: ON CONFLICT leaves it to the first, and the
        # re-read below finds it. Only the rows inserted here count as created (and emit contact.created).
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, workspace_id, created_at, updated_at, email, first_name,
                last_name, timezone, status, score, fields, tags, external_id)
            SELECT gen_random_uuid(), %s, %s, %s, e, '', '', '', %s, 0, '{}'::jsonb, '{}', NULL
            FROM unnest(%s::text[]) AS e
            ON CONFLICT DO NOTHING
            RETURNING id, email
            """,
            [workspace_id, now, now, "subscribed", emails],
        )
        for contact_id, email in cursor.fetchall():
            by_email[email] = contact_id
            created.append(contact_id)
        missing = [email for email in emails if email not in by_email]
        if missing:
            cursor.execute(
                "SELECT id, lower(email) FROM contacts_contact WHERE workspace_id = %s "
                "AND lower(email) = ANY(%s::text[])",
                [workspace_id, missing],
            )
            by_email.update({email: contact_id for contact_id, email in cursor.fetchall()})
    return created


def attach_contacts(items: list[_Item], found: ContactMatches, rejected: dict[int, dict[str, str]]) -> list[_Item]:
    """Set each item's contact_id; return the items whose contact exists (the others go to `rejected`)."""
    by_id, by_email, by_external = found.by_id, found.by_email, found.by_external
    resolved = []
    for item in items:
        if item.contact_kind is None:
            resolved.append(item)
            continue
        if item.contact_kind == "id":
            item.contact_id = item.contact_value if item.contact_value in by_id else None
            problem = "No contact with this id in this workspace."
        elif item.contact_kind == "email":
            item.contact_id = by_email.get(item.contact_value)
            problem = "Not a valid email address."
        else:
            item.contact_id = by_external.get(item.contact_value)
            problem = "No contact with this external_id; identify a new contact by email."
        if item.contact_id is None:
            rejected[item.index] = {f"contact.{item.contact_kind}": problem}
        else:
            resolved.append(item)
    return resolved


def event_rows(items: list[_Item], source: str = Event.Source.API) -> tuple[list[EventRow], int]:
    """Return the rows to write (a repeated id inside the request: the first wins) and the repeats.

    The dedupe key is `<source>:<id>`: ids of the website script (`web`) and of the API (`api`) never collide.
    """
    rows, seen = [], set()
    for item in items:
        key = f"{source}:{item.client_id}" if item.client_id is not None else None
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        rows.append(EventRow(contact_id=item.contact_id, type=item.type, occurred_at=item.occurred_at,
                             properties_json=item.properties_json, source=source,
                             client_id=item.client_id, key=key))
    return rows, len(items) - len(rows)


@dataclass(slots=True)
class Prepared:
    """A request body validated: its valid items (contacts not yet resolved) and the rejected ones."""

    is_batch: bool
    valid: list[_Item]
    rejected: dict[int, dict[str, str]]
    # Where the events come from (`Event.Source`): the stored source and the namespace of the dedupe keys.
    source: str = Event.Source.API


def ingest_validate(body: bytes, now: datetime, *, anonymous_ok: bool = False,
                    source: str = Event.Source.API) -> Prepared:
    """Parse and validate a request body without touching the database. Raise InvalidInput when the body as a
    whole is unacceptable (items that fail on their own are listed in `rejected`).

    `anonymous_ok`: an event may name no contact (the website script's anonymous visitors); it is stored
    without one.
    """
    raw_items, is_batch = parse_body(body)
    valid, rejected = _validate(raw_items, now, anonymous_ok)
    return Prepared(is_batch, valid, rejected, source)


def ingest_result(prepared: Prepared, result: IngestResult) -> IngestResult:
    """Fill in the rejected items; raise InvalidInput when no event of the request was valid (nothing stored)."""
    rejected = prepared.rejected
    result.rejected = [{"index": index, "errors": errors} for index, errors in sorted(rejected.items())]
    if result.accepted == 0 and result.duplicates == 0:
        if not prepared.is_batch:
            raise InvalidInput("The event is not valid.", details=rejected.get(0, {}))
        details = {
            f"events[{entry['index']}].{path}" if path != "event" else f"events[{entry['index']}]": message
            for entry in result.rejected
            for path, message in entry["errors"].items()
        }
        raise InvalidInput("No event in the batch is valid.", details=details)
    return result


def on_contacts_created(hook: ContactsCreatedHook) -> ContactsCreatedHook:
    """Have `hook(workspace=..., contact_ids=..., source=...)` called whenever ingestion creates contacts for
    unknown emails: inside that transaction, after their `contact.created` events are written.

    The contacts app registers its segment refresh here (`contacts.apps`): events imports no app above it.
    """
    if hook not in _contacts_created_hooks:
        _contacts_created_hooks.append(hook)
    return hook


def ingest_store(*, workspace, prepared: Prepared, now: datetime) -> IngestResult:
    """Store the valid items of `prepared` (creating contacts for unknown emails); return the counts.

    Adds items whose contact does not exist to `prepared.rejected`. Commits before returning.
    """
    result = IngestResult()
    valid, rejected = prepared.valid, prepared.rejected
    if not valid:
        return result
    found = _lookup_contacts(workspace.pk, valid)
    unknown = unknown_emails(valid, found)
    if not unknown:
        # Every contact is known: one INSERT statement, which commits by itself (no BEGIN/COMMIT trips).
        valid = attach_contacts(valid, found, rejected)
        rows, repeats = event_rows(valid, prepared.source)
        stored = events_insert(workspace_id=workspace.pk, rows=rows, received_at=now)
        result.accepted, result.duplicates = stored, repeats + len(rows) - stored
        return result
    with transaction.atomic():
        created = _create_contacts(workspace.pk, unknown, now, found.by_email)
        valid = attach_contacts(valid, found, rejected)
        rows, repeats = event_rows(valid, prepared.source)
        rows = [
            EventRow(contact_id=contact_id, type="contact.created", occurred_at=now, properties_json="{}",
                     source=prepared.source)
            for contact_id in created
        ] + rows
        ids = events_write(workspace_id=workspace.pk, rows=rows, received_at=now, need_ids=False)
        stored = sum(1 for event_id in ids[len(created):] if event_id is not None)
        result.accepted, result.duplicates = stored, repeats + len(rows) - len(created) - stored
        if created:
            for hook in _contacts_created_hooks:
                hook(workspace=workspace, contact_ids=created, source=prepared.source)
    return result


def events_ingest(*, workspace, body: bytes, now: datetime | None = None) -> tuple[IngestResult, bool]:
    """Validate and store the events of a request body; return the result and whether it was a batch.

    Raise InvalidInput when the body as a whole is unacceptable, or when none of its events is valid. Valid
    events are stored even when others are rejected. Commits before returning.
    """
    now = now or timezone.now()
    prepared = ingest_validate(body, now)
    result = ingest_store(workspace=workspace, prepared=prepared, now=now)
    return ingest_result(prepared, result), prepared.is_batch
