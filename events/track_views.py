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
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from events.admission import Refusal, body_size_refusal, throttled
from events.ingest import ingest_result, ingest_store
from events.tracking import (
    INVALID_WRITE_KEY,
    MAX_TRACK_BATCH,
    RESERVED_FAMILIES,
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
from events.views import EVENT_CONTACT_SCHEMA, IngestResultSerializer, _json, _refusal, _retry_after
from penguinflow.common.errors import InvalidInput, error_response
from penguinflow.common.schema import error_response as error_response_schema

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


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


TRACK_EVENT_SCHEMA = {
    "type": "object",
    "required": ["type"],
    "additionalProperties": False,
    "description": "An event of POST /api/v1/events as the website sends it: `anonymous_id`, `contact`, or both.",
    "anyOf": [{"required": ["anonymous_id"]}, {"required": ["contact"]}],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 128, "nullable": True,
               "description": "The script's message id: a repeat in the same workspace is a duplicate, not stored."},
        "type": {"type": "string", "maxLength": 128, "pattern": r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$",
                 "not": {"pattern": f"^({'|'.join(sorted(RESERVED_FAMILIES))})\\."},
                 "description": "page.viewed, form.submitted, visitor.identified or a type of the site's own. Not of "
                                f"the families PenguinFlow records itself: {', '.join(sorted(RESERVED_FAMILIES))}."},
        "anonymous_id": {"type": "string", "minLength": 1, "maxLength": 128,
                         "description": "The visitor's id in the browser's storage; kept as properties.anonymous_id."},
        "contact": _ref("EventContact"),
        "occurred_at": {"type": "string", "format": "date-time", "nullable": True,
                        "description": "With a time zone; at most 1 day in the future. Defaults to the time of "
                                       "receipt."},
        "properties": {"type": "object", "additionalProperties": {}, "description": "At most 32 KiB."},
    },
}
TRACK_BATCH_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "additionalProperties": False,
    "properties": {
        "events": {"type": "array", "minItems": 1, "maxItems": MAX_TRACK_BATCH, "items": _ref("TrackEvent")},
        "write_key": {"type": "string", "description": "For navigator.sendBeacon, which cannot set X-Write-Key."},
    },
}


class TrackView(APIView):
    """`/api/v1/track`: answered by `track` (plain Django, no DRF machinery); this class only documents it."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    error_statuses = {"POST": {400, 401, 403, 413, 415, 429}}
    schema_components = {"EventContact": EVENT_CONTACT_SCHEMA, "TrackEvent": TRACK_EVENT_SCHEMA,
                         "TrackBatch": TRACK_BATCH_SCHEMA}

    def dispatch(self, request, *args, **kwargs):
        return track(request)

    @extend_schema(
        summary="Add the website script's events (public write key)",
        description="What `/js/penguinflow.js` sends: one event or `{\"events\": [...]}` (at most "
                    f"{MAX_TRACK_BATCH}), like POST /api/v1/events, from a page of an origin in the workspace's "
                    "`tracking_origins` (CORS; OPTIONS answers the preflight; another origin: 403). The write key "
                    "only adds events. Body as `application/json`, or `text/plain` (a beacon) with `write_key` "
                    "in it. See docs/api-additions.md, \"Website tracking\".",
        auth=[],
        parameters=[
            OpenApiParameter("X-Write-Key", str, OpenApiParameter.HEADER,
                             description="The workspace's public write key (or `write_key` in the query or body)."),
            OpenApiParameter("write_key", str, OpenApiParameter.QUERY, description="Instead of X-Write-Key."),
        ],
        request={"application/json": {"oneOf": [_ref("TrackEvent"), _ref("TrackBatch")]}},
        responses={202: IngestResultSerializer,
                   401: error_response_schema(401, "No write key, or one that is not (or no longer) valid."),
                   403: error_response_schema(403, "The page's Origin is not in the workspace's tracking_origins "
                                                   "(`origin_not_allowed`).")},
    )
    def post(self, request):
        return track(request._request)


track_endpoint = TrackView.as_view()


def script(request) -> HttpResponse:
    """`GET /js/penguinflow.js`: the website script (hand-written ES5, served as it is; see its header)."""
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "method_not_allowed", "GET the script.")
    response = HttpResponse(_SCRIPT.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"  # public code
    return response
