"""`POST /api/v1/track` (the website script's events, CORS limited to the workspace's declared sites) and
`GET /js/penguinflow.js` (the script itself). No login, no cookie: a public write key admits the events.

The checks and their order are `events.tracking`'s, shared with the ASGI fast path (`events.fastpath`, what
uvicorn serves). A browser refuses an undeclared origin earlier, at the preflight (OPTIONS, answered here only:
403 without CORS headers).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from events.admission import Refusal, body_size_refusal, throttled
from events.ingest import ingest_result, ingest_store
from events.tracking import (
    INVALID_WRITE_KEY,
    TRACK_PATH,
    content_type_refusal,
    cors_headers,
    origin_declared_anywhere,
    origin_refusal,
    rate_key,
    site_for_write_key,
    track_prepare,
    write_key_of,
)
from events.views import _json, _refusal, _retry_after
from penguinflow.common.errors import InvalidInput, error_response

_SCRIPT = Path(__file__).resolve().parent / "scripts" / "penguinflow.js"


def _cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    for name, value in cors_headers(origin):
        response[name] = value
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
        refusal = Refusal(403, "origin_not_allowed", "This page's origin may not send events: add it to the "
                          "workspace's settings (tracking_origins).", {"origin": origin or "(none sent)"})
        return _cors(_refusal(refusal), None)
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type, X-Write-Key"
    response["Access-Control-Max-Age"] = "600"
    return _cors(response, origin)


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
    body = request.body
    if refusal := body_size_refusal(len(body), TRACK_PATH):
        return _cors(_refusal(refusal), origin)
    if refusal := content_type_refusal(request.META.get("CONTENT_TYPE") or ""):
        return _cors(_refusal(refusal), origin)
    now = timezone.now()
    try:
        prepared, body_key = track_prepare(body, now)
    except InvalidInput as error:
        return _cors(error_response(error.status, error.code, error.message, error.details), origin)
    write_key = write_key_of(request.META.get("HTTP_X_WRITE_KEY"), request.GET.get("write_key"), body_key)
    if isinstance(write_key, Refusal):
        return _cors(_refusal(write_key), origin)
    site = site_for_write_key(write_key)
    if site is None:
        return _cors(_refusal(INVALID_WRITE_KEY), origin)
    if refusal := origin_refusal(site, origin):
        return _cors(_refusal(refusal), origin)
    wait = _retry_after(rate_key(site), settings.TRACKING_RATE_PER_MINUTE)
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
