"""The API of CONTRACT §9/§9a: list (filters, search), detail with the step log, retry and cancel (one or bulk),
the CSV export; and the node-type catalogue."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.db_router import replica_reads
from penguinflow.common.errors import InvalidInput
from penguinflow.common.pagination import CreatedCursorPagination
from penguinflow.common.schema import error_responses
from workflows import execution_actions as actions
from workflows.engine.registry import registry
from workflows.execution_export import csv_chunks
from workflows.execution_query import (
    FILTERS,
    MAX_TEXT,
    MIN_SEARCH,
    VERSION_PATTERN,
    execution_query_parse,
    executions_matching,
)
from workflows.executions.serializers import (
    BulkCancelAnswerSerializer,
    BulkRetryAnswerSerializer,
    ExecutionDetailSerializer,
    ExecutionSerializer,
    RetrySerializer,
)
from workflows.models import Enrollment, StepRun
from workflows.openapi import ref
from workflows.serializers import NodeTypeSerializer

# Text PostgreSQL can compare: no NUL (refused with a 400, as the pattern says).
_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"^[^\u0000]*$"}
_FILTER_DOCS = {
    "workflow": (OpenApiTypes.UUID, "The workflow's id."),
    "version": ({"type": "string", "pattern": VERSION_PATTERN},
                "A version number (of `workflow`, or of every workflow) or a version's id."),
    "status": (ref("ExecutionStatusEnum"), "The execution's status."),
    "contact": (OpenApiTypes.UUID, "The contact's id."),
    "node": (_TEXT, "The node the execution stands at now (waits at, failed at, finished at)."),
    "error_type": (_TEXT, "The type of the error it failed with, e.g. PortError."),
    "since": (OpenApiTypes.DATETIME, "Entered at or after (ISO 8601 with a zone)."),
    "until": (OpenApiTypes.DATETIME, "Entered before (ISO 8601 with a zone)."),
    "q": ({**_TEXT, "minLength": MIN_SEARCH}, "Part of the contact's email or of the error message."),
}
FILTER_PARAMETERS = [OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=text)
                     for name, (kind, text) in _FILTER_DOCS.items()]
_BODY_TYPES = {OpenApiTypes.UUID: {"type": "string", "format": "uuid"},
               OpenApiTypes.DATETIME: {"type": "string", "format": "date-time"}}


def _bulk_body(**extra: dict) -> dict:
    """A bulk body: the list filters (no others: an unknown one is a 400) and `dry_run`."""
    properties = {name: {**(kind if isinstance(kind, dict) else _BODY_TYPES[kind]), "description": text}
                  for name, (kind, text) in _FILTER_DOCS.items()}
    properties["dry_run"] = {"type": "boolean", "default": False, "description": "Count only; change nothing."}
    return {"type": "object", "additionalProperties": False, "properties": {**properties, **extra}}


BULK_COMPONENTS = {
    "BulkCancelRequest": _bulk_body(),
    "BulkRetryRequest": _bulk_body(
        **{"from": {"type": "string", "enum": ["failed_step", "start"], "default": "failed_step"},
           "version": {"type": "string", "pattern": rf"^(?:own|latest|{VERSION_PATTERN[4:-2]})$", "default": "own",
                       "description": '"own" or "latest": the version to run on (as for one retry). Any other value '
                                      "is the list filter `version`, and the retry runs on the execution's own."}}),
}


class ExecutionPagination(CreatedCursorPagination):
    """Newest entry first; the keyset every filter's index is ordered by (workflows.execution_query)."""

    ordering = ("-entered_at", "-id")


class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    model = Enrollment
    schema_components = BULK_COMPONENTS
    pagination_class = ExecutionPagination
    filter_backends: list = []  # the filters are read by workflows.execution_query, strictly

    def get_serializer_class(self):
        return ExecutionDetailSerializer if self.action == "retrieve" else ExecutionSerializer

    def _filtered(self, params, *, also_allowed=(), body=False):
        query = execution_query_parse(params, also_allowed=also_allowed, body=body)
        return executions_matching(workspace=self.workspace, query=query)

    def scoped_queryset(self, queryset):
        queryset = queryset.select_related("contact", "version")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(Prefetch("step_runs", queryset=StepRun.objects.order_by("sequence")))
        return queryset

    @extend_schema(parameters=FILTER_PARAMETERS)
    @replica_reads
    def list(self, request, *args, **kwargs):
        queryset = self._filtered(request.query_params, also_allowed=("cursor", "limit"))
        page = self.paginate_queryset(queryset.select_related("contact", "version"))
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)

    @replica_reads
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=RetrySerializer, responses={202: ExecutionSerializer, **error_responses(409, descriptions={
        409: "It did not fail, or cannot be retried as asked (`error.code` and the message say why)."})})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        options = _valid(RetrySerializer, request.data)
        enrollment = actions.enrollment_retry(enrollment=self.get_object(), start_from=options["from"],
                                              version=options["version"])
        return Response(ExecutionSerializer(enrollment).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ExecutionSerializer, **error_responses(409, descriptions={
        409: "It has finished already."})})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        enrollment = actions.enrollment_cancel(enrollment=self.get_object())
        return Response(ExecutionSerializer(enrollment).data)

    @extend_schema(operation_id="v1_executions_bulk_retry", request={"application/json": ref("BulkRetryRequest")},
                   responses=BulkRetryAnswerSerializer)
    @action(detail=False, methods=["post"], url_path="retry")
    def bulk_retry(self, request):
        body = _body(request)
        choice = body.get("version", "own")
        if choice in ("own", "latest"):
            body.pop("version", None)
        else:
            choice = "own"
        options = _valid(RetrySerializer, {"from": body.pop("from", "failed_step"), "version": choice})
        dry_run = _dry_run(body)
        report = actions.executions_retry(enrollments=self._filtered(body, body=True), start_from=options["from"],
                                          version=options["version"], dry_run=dry_run)
        refused = {str(pk): code for pk, (code, _) in list(report.refused.items())[:100]}
        return Response({"matched": report.matched, "retried": report.done, "refused": refused})

    @extend_schema(operation_id="v1_executions_bulk_cancel", request={"application/json": ref("BulkCancelRequest")},
                   responses=BulkCancelAnswerSerializer)
    @action(detail=False, methods=["post"], url_path="cancel")
    def bulk_cancel(self, request):
        body = _body(request)
        dry_run = _dry_run(body)
        report = actions.executions_cancel(enrollments=self._filtered(body, body=True), dry_run=dry_run)
        return Response({"matched": report.matched, "cancelled": report.done})

    @extend_schema(operation_id="v1_executions_export_csv", parameters=FILTER_PARAMETERS,
                   responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path=r"export\.csv", pagination_class=None)
    @replica_reads
    def export(self, request):
        executions = self._filtered(request.query_params)
        # The rows stream after this method returns: pin them to the database chosen for this request now.
        chunks = csv_chunks(executions.using(executions.db))
        if isinstance(request._request, ASGIRequest):
            # Under ASGI, Django would read a plain iterator to its end before sending a byte (all in memory).
            chunks = _async_chunks(chunks)
        response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="executions.csv"'
        return response


async def _async_chunks(chunks):
    sentinel = object()
    while (chunk := await sync_to_async(next)(chunks, sentinel)) is not sentinel:
        yield chunk


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput("The body must be a JSON object of filters.", details={"body": "Must be an object."})
    return dict(request.data)


def _dry_run(body: dict) -> bool:
    value = body.pop("dry_run", False)
    if not isinstance(value, bool):
        raise InvalidInput("The request is not valid.", details={"dry_run": "Must be true or false."})
    return value


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidInput("The request is not valid.",
                           details={k: " ".join(map(str, v)) for k, v in serializer.errors.items()})
    return serializer.validated_data


class NodeTypesView(APIView):
    """The node catalogue the builder's palette, validation and execution all read (one registry)."""

    @extend_schema(responses=NodeTypeSerializer(many=True))
    def get(self, request):
        return Response(registry.describe())


__all__ = ["FILTERS", "ExecutionViewSet", "NodeTypesView"]
