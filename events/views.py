"""`/api/v1/events`: POST ingests (a lean Django view), GET lists (a DRF view).

POST is served without DRF (and, under uvicorn, without Django at all: see `events.fastpath`): at thousands of requests per second DRF's per-request machinery (and its throttle,
which keeps a list of timestamps per key in the cache) costs more than the work itself. It keeps the project's
semantics: the bearer API key through `principal_for_key`, a per-key rate limit with `Retry-After`, the body
limit, and every error in the contract's format.
"""

from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from events.admission import (
    INVALID_KEY,
    Refusal,
    bearer_key,
    body_size_refusal,
    content_type_refusal,
    scope_refusal,
    throttle_window,
    throttled,
)
from events.ingest import CAMPAIGN_LEVEL_TYPES, MAX_BATCH, MAX_ID_CHARS, TYPE_PATTERN, events_ingest
from events.models import Event
from events.selectors import events_readable
from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.auth import key_last_used_touch, principal_for_key
from penguinflow.common.errors import InvalidInput, error_response
from penguinflow.common.pagination import limit_parameter_schema, page_size_from
from penguinflow.common.redis_client import redis_client
from penguinflow.common.validators import StoredJSONField

logger = logging.getLogger(__name__)

def _retry_after(key_id: str, per_minute: int | None = None) -> int | None:
    """Count this request against the key's fixed window; return seconds to wait when over, else None.

    One Redis round trip (INCR + EXPIRE pipelined), shared by all server processes. Fails open when Redis is
    unavailable: ingestion must not stop because the rate limiter cannot count.
    """
    now = time.time()
    window = throttle_window(key_id, now, per_minute=per_minute)
    if window is None:
        return None
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(window.key)
        pipe.expire(window.key, window.period + 1)
        count = pipe.execute()[0]
    except Exception:
        logger.warning("Event ingestion rate limiter unavailable; letting the request through", exc_info=True)
        return None
    return window.retry_after(count, now)


def _refusal(refusal: Refusal) -> HttpResponse:
    response = error_response(refusal.status, refusal.code, refusal.message, refusal.details)
    for name, value in refusal.headers:
        response[name] = value
    return response


def _json(status: int, body: dict) -> HttpResponse:
    return HttpResponse(msgspec.json.encode(body), status=status, content_type="application/json")


def post_events(request) -> HttpResponse:
    """Ingest events (CONTRACT §3). The checks and their order are `events.admission`'s, shared with the ASGI
    fast path (`events.fastpath`); the over-long Content-Length was already refused by the body-size middleware.
    """
    raw_key = bearer_key(request.META.get("HTTP_AUTHORIZATION", ""))
    if isinstance(raw_key, Refusal):
        return _refusal(raw_key)
    principal = principal_for_key(raw_key)
    if principal is None:
        return _refusal(INVALID_KEY)
    key_last_used_touch(principal.key_id)
    wait = _retry_after(principal.key_id, principal.rate_limit_per_minute)
    if wait is not None:
        return _refusal(throttled(wait))
    if refusal := scope_refusal(principal):
        return _refusal(refusal)
    if refusal := content_type_refusal(request.META.get("CONTENT_TYPE") or ""):
        return _refusal(refusal)
    body = request.body
    if refusal := body_size_refusal(len(body)):
        return _refusal(refusal)
    try:
        result, _ = events_ingest(workspace=principal.workspace, body=body)
    except InvalidInput as error:
        return error_response(error.status, error.code, error.message, error.details)
    return _json(202, result.as_body())


# --- GET: listing --------------------------------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    properties = StoredJSONField(source="properties_text")  # selected as text by `events_readable`

    class Meta:
        model = Event
        fields = ["id", "type", "contact_id", "occurred_at", "received_at", "properties", "source", "client_id",
                  "processed_at"]


class OccurredCursorPagination(BasePagination):
    """Keyset pagination on (occurred_at, id), newest first: the cursor is the last row's position."""

    page_size = 50
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = page_size_from(request.query_params.get("limit"), default=self.page_size,
                                    maximum=self.max_page_size)
        cursor = request.query_params.get("cursor")
        if cursor:
            try:
                moment, _, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
                position = (datetime.fromisoformat(moment), int(event_id))
            except (ValueError, UnicodeDecodeError):
                raise InvalidInput("The cursor is not valid.", details={"cursor": "Invalid cursor."}) from None
            from django.db.models import Q

            queryset = queryset.filter(
                Q(occurred_at__lt=position[0]) | Q(occurred_at=position[0], id__lt=position[1])
            )
        rows = list(queryset.order_by("-occurred_at", "-id")[: self.limit + 1])
        self.has_next = len(rows) > self.limit
        rows = rows[: self.limit]
        self.last = rows[-1] if rows else None
        return rows

    def get_paginated_response(self, data):
        next_url = None
        if self.has_next and self.last is not None:
            token = base64.urlsafe_b64encode(f"{self.last.occurred_at.isoformat()}|{self.last.id}".encode()).decode()
            from rest_framework.utils.urls import replace_query_param

            next_url = replace_query_param(self.request.build_absolute_uri(), "cursor", token)
        return Response({"next": next_url, "previous": None, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True,
                         "description": "The next (older) page, or null on the last page."},
                "previous": {"type": "string", "nullable": True,
                             "description": "Always null: pages are read newest first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "required": False, "in": "query", "schema": {"type": "string"},
             "description": "The position to read on from: take it from the `next` link."},
            limit_parameter_schema(default=self.page_size, maximum=self.max_page_size),
        ]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# The body of POST /api/v1/events, as `events.ingest` reads it: unknown fields are refused at every level.
EVENT_CONTACT_SCHEMA = {
    "description": "The contact, by exactly one of `id`, `email` (an unknown email creates the contact) or "
                   "`external_id`.",
    "oneOf": [
        {"type": "object", "required": ["id"], "additionalProperties": False,
         "properties": {"id": {"type": "string", "format": "uuid"}}},
        {"type": "object", "required": ["email"], "additionalProperties": False,
         "properties": {"email": {"type": "string", "format": "email", "maxLength": 254}}},
        {"type": "object", "required": ["external_id"], "additionalProperties": False,
         "properties": {"external_id": {"type": "string", "minLength": 1, "maxLength": 255}}},
    ],
}
_EVENT_COMMON = {
    "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS, "nullable": True,
           "description": "Chosen by the client: a repeat in the same workspace is a duplicate, not a new event."},
    "occurred_at": {"type": "string", "format": "date-time", "nullable": True,
                    "description": "With a time zone; at most 1 day in the future. Defaults to the time of receipt."},
}
CONTACT_EVENT_SCHEMA = {
    "type": "object",
    "required": ["type", "contact"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "maxLength": 128, "pattern": TYPE_PATTERN.pattern,
                 "not": {"enum": sorted(CAMPAIGN_LEVEL_TYPES)},
                 "description": "A catalogue type (CONTRACT §3) or a custom one, e.g. `order.completed`."},
        "contact": _ref("EventContact"),
        "properties": {"type": "object", "additionalProperties": {}, "description": "At most 32 KiB."},
        **_EVENT_COMMON,
    },
}
CAMPAIGN_EVENT_SCHEMA = {
    "type": "object",
    "required": ["type", "properties"],
    "additionalProperties": False,
    "description": "A campaign-level event: no contact, the campaign's id in `properties`.",
    "properties": {
        "type": {"type": "string", "enum": sorted(CAMPAIGN_LEVEL_TYPES)},
        "properties": {"type": "object", "required": ["campaign_id"], "additionalProperties": {},
                       "properties": {"campaign_id": {"type": "string", "format": "uuid"}}},
        **_EVENT_COMMON,
    },
}
EVENT_BATCH_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "additionalProperties": False,
    "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": _ref("EventIn")}},
}


class RejectedEventSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the batch (0 for a single event).")
    errors = serializers.DictField(child=serializers.CharField(), help_text="Field paths mapped to messages.")


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Items whose `id` was seen before: not stored again.")
    rejected = RejectedEventSerializer(many=True)


def _timestamp(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is not None:
        try:
            # In UTC: PostgreSQL refuses offsets past ±15:59, which Python reads.
            return moment.astimezone(UTC)
        except OverflowError:  # the first or last hours of Python's calendar, moved past its end
            pass
    raise InvalidInput(f"{name} must be an ISO 8601 timestamp with a zone.",
                       details={name: "Must be an ISO 8601 timestamp with a zone, e.g. 2026-11-22T10:00:00Z."})


class EventViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """`/api/v1/events`: GET lists through DRF; POST is answered by `post_events` before DRF sees it."""

    model = Event
    serializer_class = EventSerializer
    pagination_class = OccurredCursorPagination
    filter_backends: list = []
    # What `post_events` can answer (it runs outside DRF: no 403, no content negotiation).
    error_statuses = {"POST": {400, 401, 403, 413, 415, 429}}
    schema_components = {
        "EventContact": EVENT_CONTACT_SCHEMA,
        "ContactEvent": CONTACT_EVENT_SCHEMA,
        "CampaignEvent": CAMPAIGN_EVENT_SCHEMA,
        "EventIn": {"oneOf": [_ref("ContactEvent"), _ref("CampaignEvent")]},
        "EventBatch": EVENT_BATCH_SCHEMA,
    }

    def dispatch(self, request, *args, **kwargs):
        # Ingestion skips DRF's per-request machinery (see the module docstring); `create` only documents it.
        if request.method == "POST":
            return post_events(request)
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        summary="Ingest one event or a batch",
        description="One event, or `{\"events\": [event, ...]}` with at most 1000 (CONTRACT §3). Valid items are "
                    "stored even when others in the batch are rejected; 400 only when none is valid. 202 means "
                    "durably stored; trigger matching and enrollment happen asynchronously.",
        request={"application/json": {"oneOf": [_ref("EventIn"), _ref("EventBatch")]}},
        responses={202: IngestResultSerializer},
    )
    def create(self, request):
        return post_events(request._request)

    @extend_schema(
        summary="List events, newest first",
        parameters=[
            OpenApiParameter("contact", OpenApiTypes.UUID, description="Only this contact's events."),
            OpenApiParameter("type", str, description="Only events of this type."),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Occurred at or after (with a zone)."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Occurred before (with a zone)."),
        ],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def scoped_queryset(self, queryset):
        queryset = events_readable(queryset)
        params = self.request.query_params
        if contact := params.get("contact"):
            try:
                queryset = queryset.filter(contact_id=UUID(contact))
            except ValueError:
                raise InvalidInput("contact must be a contact id.", details={"contact": "Must be a UUID."}) from None
        if event_type := params.get("type"):
            queryset = queryset.filter(type=event_type)
        if since := params.get("since"):
            queryset = queryset.filter(occurred_at__gte=_timestamp(since, "since"))
        if until := params.get("until"):
            queryset = queryset.filter(occurred_at__lt=_timestamp(until, "until"))
        return queryset


events_endpoint = EventViewSet.as_view({"get": "list", "post": "create"})
