"""`POST /api/v1/track` (the website script's events, CORS limited to the workspace's declared sites) and
`GET /js/penguinflow.js` (the script itself). No login, no cookie: a public write key admits the events.

The write key is read from the `X-Write-Key` header, else the `write_key` query parameter, else the body's
`write_key` (what `navigator.sendBeacon` sends: it cannot set headers). A beacon's body is sent as `text/plain`
(a CORS "simple" request, which needs no preflight), so that content type is taken as JSON here too.

Checks, in order: the body (400), the write key (401), the page's Origin among the workspace's
`tracking_origins` (403), the per-workspace rate (429), then the shared ingestion (202 once stored, with the
duplicates counted). A browser refuses an undeclared origin earlier, at the preflight (403 without CORS headers);
answers to a POST carry the page's origin in `Access-Control-Allow-Origin`, refusals too (they hold nothing but
the reason), so the script can tell a refusal, which it must not send again, from a network failure, which it
retries.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from events.admission import Refusal, throttled
from events.ingest import ingest_result, ingest_store
from events.tracking import Site, origin_declared_anywhere, site_for_write_key, track_prepare
from events.views import _json, _refusal, _retry_after
from penguinflow.common.errors import InvalidInput, error_response

_SCRIPT = Path(__file__).resolve().parent / "scripts" / "penguinflow.js"
_JSON_TYPES = frozenset({"application/json", "text/plain"})
_NO_STORE = "no-store"


def _cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    response["Cache-Control"] = _NO_STORE
    return response


def _preflight(request, origin: str | None) -> HttpResponse:
    """Answer the browser's OPTIONS: allowed only for an origin some workspace declared (the one of the key, when
    the query names it), else 403 without CORS headers, which the browser takes as a refusal."""
    write_key = request.GET.get("write_key")
    if write_key:
        site = site_for_write_key(write_key)
        allowed = site is not None and site.allows(origin)
    else:
        allowed = bool(origin) and origin_declared_anywhere(origin)
    if not allowed:
        return _cors(_origin_refused(origin), None)
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type, X-Write-Key"
    response["Access-Control-Max-Age"] = "600"
    return _cors(response, origin)


def _origin_refused(origin: str | None) -> HttpResponse:
    return error_response(403, "origin_not_allowed",
                          "This page's origin may not send events with this write key: add it to the workspace's "
                          "settings (tracking_origins).", {"origin": origin or "(none sent)"})


def _admit(request, body_key: str | None) -> Site | Refusal:
    write_key = request.META.get("HTTP_X_WRITE_KEY") or request.GET.get("write_key") or body_key
    if not write_key:
        return Refusal(401, "not_authenticated", "A write key is required: send the X-Write-Key header (or "
                                                 "write_key in the body or the query string).")
    site = site_for_write_key(write_key)
    if site is None:
        return Refusal(401, "authentication_failed", "This write key is not valid, or has been rotated.")
    return site


@csrf_exempt
def track(request) -> HttpResponse:
    """Ingest the website script's events (CONTRACT §18)."""
    origin = request.META.get("HTTP_ORIGIN")
    if request.method == "OPTIONS":
        return _preflight(request, origin)
    if request.method != "POST":
        response = error_response(405, "method_not_allowed", f'Method "{request.method}" not allowed: POST events.')
        response["Allow"] = "POST, OPTIONS"
        return _cors(response, origin)
    content_type = (request.META.get("CONTENT_TYPE") or "").partition(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        refusal = Refusal(415, "unsupported_media_type", "Send the events as application/json (or text/plain, "
                                                          "as navigator.sendBeacon does).")
        return _cors(_refusal(refusal), origin)
    now = timezone.now()
    try:
        prepared, body_key = track_prepare(request.body, now)
    except InvalidInput as error:
        return _cors(error_response(error.status, error.code, error.message, error.details), origin)
    site = _admit(request, body_key)
    if isinstance(site, Refusal):
        return _cors(_refusal(site), origin)
    if not site.allows(origin):
        return _cors(_origin_refused(origin), origin)
    wait = _retry_after(f"web:{site.workspace.pk}", settings.TRACKING_RATE_PER_MINUTE)
    if wait is not None:
        return _cors(_refusal(throttled(wait)), origin)
    try:
        result = ingest_result(prepared, ingest_store(workspace=site.workspace, prepared=prepared, now=now))
    except InvalidInput as error:
        return _cors(error_response(error.status, error.code, error.message, error.details), origin)
    return _cors(_json(202, result.as_body()), origin)


def script(request) -> HttpResponse:
    """`GET /js/penguinflow.js`: the website script (hand-written ES5, served as it is; see its header)."""
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "method_not_allowed", "GET the script.")
    response = HttpResponse(_SCRIPT.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"  # public code
    return response
