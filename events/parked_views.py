"""`/api/v1/events/parked`: the events processing gave up on, for ops to read and replay.

Read with raw SQL rather than the ORM: a parked event can hold what the ORM's readers cannot load (a timestamp
outside Python's years, an integer past Python's digit limit), and listing it must not fail for that reason.
"""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from events.processing import MAX_ATTEMPTS, events_unpark
from penguinflow.common.errors import InvalidInput

_LIST_SQL = """
    SELECT id, type, contact_id, occurred_at::text, received_at, attempts, last_error, parked_at
    FROM events_event
    WHERE workspace_id = %s AND parked_at IS NOT NULL AND (%s::bigint IS NULL OR id < %s::bigint)
    ORDER BY id DESC
    LIMIT %s
"""

class ParkedEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    contact_id = serializers.UUIDField(allow_null=True)
    occurred_at = serializers.CharField(help_text="As stored (it may be a time no ISO reader accepts).")
    received_at = serializers.DateTimeField()
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    parked_at = serializers.DateTimeField()


def _int_param(request, name: str, *, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}.",
                           details={name: f"Must be a whole number from {low} to {high}."})
    return int(raw)


class ParkedEventsView(APIView):
    @extend_schema(
        operation_id="events_parked_list",
        summary="Events that processing gave up on",
        description=f"Newest first. An event is parked after {MAX_ATTEMPTS} failed processing attempts (each "
                    "retried after an exponential backoff); `next` is the `before` of the next page.",
        parameters=[OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
                    OpenApiParameter("before", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                                     description="Only events with a smaller id (the next page).")],
        responses={200: inline_serializer("ParkedEventPage", fields={
            "results": ParkedEventSerializer(many=True), "next": serializers.IntegerField(allow_null=True)})},
    )
    def get(self, request):
        limit = _int_param(request, "limit", default=100, low=1, high=500)
        before = _int_param(request, "before", default=None, low=1, high=2**63 - 1)
        with connection.cursor() as cursor:
            cursor.execute(_LIST_SQL, [request.workspace.pk, before, before, limit + 1])
            rows = cursor.fetchall()
        results = [
            {"id": row[0], "type": row[1], "contact_id": row[2], "occurred_at": row[3], "received_at": row[4],
             "attempts": row[5], "error": row[6], "parked_at": row[7]}
            for row in rows[:limit]
        ]
        following = results[-1]["id"] if len(rows) > limit else None
        return Response({"results": results, "next": following})


class ReplayParkedEventsView(APIView):
    @extend_schema(
        operation_id="events_parked_replay",
        summary="Queue parked events again",
        description="Replays the parked events named in `ids`, or all of the workspace's with `\"all\": true`. "
                    "Their attempts start again from zero.",
        request={"application/json": {"type": "object", "oneOf": [
            {"required": ["ids"], "properties": {
                "ids": {"type": "array", "maxItems": 10_000,
                        "items": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
                "all": {"type": "boolean", "enum": [False]}}},
            {"required": ["all"], "properties": {"all": {"type": "boolean", "enum": [True]}},
             "not": {"required": ["ids"]}},
        ]}},
        responses={200: inline_serializer("ParkedEventReplayResult", fields={"replayed": serializers.IntegerField()})},
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else None
        ids = body.get("ids") if body is not None else None
        replay_all = body.get("all") is True if body is not None else False
        if body is not None and not isinstance(body.get("all", False), bool):
            raise InvalidInput('"all" must be true or false.', details={"all": "Must be a boolean."})
        valid_ids = (isinstance(ids, list) and len(ids) <= 10_000
                     and all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids))
        if replay_all == (ids is not None) or (ids is not None and not valid_ids):
            raise InvalidInput("Name the events to replay: either \"ids\" (a list of at most 10,000 event ids) or "
                               "\"all\": true.", details={"ids": "A list of event ids, or send \"all\": true."})
        replayed = events_unpark(workspace_id=request.workspace.pk, event_ids=None if replay_all else ids)
        return Response({"replayed": replayed})
