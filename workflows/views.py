from __future__ import annotations

import django_filters
from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.selectors import contacts_by_reference
from contacts.serializers import ContactReferencesSerializer
from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.db_router import replica_reads
from penguinflow.common.errors import InvalidInput, NotFound
from penguinflow.common.pagination import MAX_PAGE_SIZE, limit_parameter, page_size_from
from penguinflow.common.schema import error_responses
from workflows import services, version_graphs, version_migration
from workflows.analytics import analytics_extras, analytics_range
from workflows.execution_actions import workflow_unenroll
from workflows.migration_jobs import enqueue_migration
from workflows.migration_serializers import MigrateSerializer, PublishAnswerSerializer, PublishSerializer
from workflows.models import Workflow, WorkflowVersion
from workflows.openapi import COMPONENTS, ref
from workflows.selectors import enrollment_counts_by_workflow, versions_in_flight, workflow_analytics
from workflows.serializers import (
    AnalyticsSerializer,
    DraftSavedSerializer,
    DraftSaveSerializer,
    EnrollResultSerializer,
    EnrollSerializer,
    SimulateSerializer,
    SimulationResultSerializer,
    UnenrollResultSerializer,
    ValidateSerializer,
    ValidationReportSerializer,
    VersionSerializer,
    VersionSummarySerializer,
    WorkflowCreateSerializer,
    WorkflowListItemSerializer,
    WorkflowSerializer,
    WorkflowUpdateSerializer,
)
from workflows.suggestion_views import SuggestionActionsMixin

# Version numbers are PostgreSQL integers.
MAX_VERSION = 2**31 - 1


class WorkflowFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Workflow.Status.choices)
    q = django_filters.CharFilter(method="filter_q")

    class Meta:
        model = Workflow
        fields = ["status", "q"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class WorkflowViewSet(SuggestionActionsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    model = Workflow
    serializer_class = WorkflowSerializer
    filterset_class = WorkflowFilter
    schema_components = COMPONENTS
    # POSTs that compute and change nothing: an API key with the read scope may call them.
    api_key_scope = {"validate": "read", "simulate": "read"}

    def scoped_queryset(self, queryset):
        drafts = WorkflowVersion.objects.filter(number__isnull=True).prefetch_related("steps", "connections")
        return queryset.prefetch_related(Prefetch("versions", queryset=drafts))

    def _detail(self, workflow: Workflow, *, status_code: int = 200) -> Response:
        workflow = self.get_queryset().get(pk=workflow.pk)
        return Response(WorkflowSerializer(workflow).data, status=status_code)

    @extend_schema(responses=WorkflowListItemSerializer(many=True))
    def list(self, request, *args, **kwargs):
        # The page's enrollment counts in one grouped query, however many workflows the page holds.
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        workflows = list(queryset if page is None else page)
        context = {**self.get_serializer_context(), "counts": enrollment_counts_by_workflow(w.pk for w in workflows)}
        data = WorkflowListItemSerializer(workflows, many=True, context=context).data
        return Response(data) if page is None else self.get_paginated_response(data)

    @extend_schema(request=WorkflowCreateSerializer, responses={201: WorkflowSerializer})
    def create(self, request):
        serializer = WorkflowCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = services.workflow_create(workspace=self.workspace, **serializer.validated_data)
        return self._detail(workflow, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=WorkflowUpdateSerializer, responses=WorkflowSerializer)
    def partial_update(self, request, pk=None):
        workflow = self.get_object()
        serializer = WorkflowUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        for name, value in serializer.validated_data.items():
            setattr(workflow, name, value)
        workflow.save(update_fields=[*serializer.validated_data, "updated_at"])
        return self._detail(workflow)

    @extend_schema(responses={204: None, **error_responses(
        409, descriptions={409: "The workflow has live enrollments: pause or archive it and let them finish."})})
    def destroy(self, request, pk=None):
        services.workflow_delete(workflow=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=DraftSaveSerializer, responses={
        200: DraftSavedSerializer,
        **error_responses(409, descriptions={409: "A stale `revision`: the draft changed since it was loaded."}),
    })
    @action(detail=True, methods=["put"])
    def draft(self, request, pk=None):
        workflow = self.get_object()
        serializer = DraftSaveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = services.workflow_draft_save(workflow=workflow, **serializer.validated_data)
        return Response({"revision": saved.revision, "validation": saved.validation})

    @extend_schema(
        request=ValidateSerializer,
        responses=ValidationReportSerializer,
        description="Check the given graph and settings (or the draft's) as `publish` does, references to the "
                    "workspace's templates, campaigns, segments and workflows included; nothing is stored.",
    )
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        workflow = self.get_object()
        serializer = ValidateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = version_graphs.draft_of(workflow)
        data = serializer.validated_data
        graph = version_graphs.parse_graph(data["graph"]) if "graph" in data else version_graphs.graph_of(draft)
        if problems := services.graph_unstorable_texts(graph):
            # What a draft save refuses is not a graph to report on: the same 400.
            raise InvalidInput("The graph cannot be saved.", details=problems, code="graph_invalid")
        settings = version_graphs.parse_settings(data.get("settings", draft.settings))
        return Response(services.workflow_validation_report(workflow=workflow, graph=graph, settings=settings))

    @extend_schema(request=None, responses={201: WorkflowSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        copy = services.workflow_duplicate(workflow=self.get_object())
        return self._detail(copy, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: WorkflowSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._detail(services.workflow_pause(workflow=self.get_object()))

    @extend_schema(request=None, responses={200: WorkflowSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._detail(services.workflow_resume(workflow=self.get_object()))

    @extend_schema(request=None, responses={200: WorkflowSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._detail(services.workflow_archive(workflow=self.get_object()))

    @extend_schema(request=PublishSerializer, responses={
        200: PublishAnswerSerializer,
        **error_responses(400, 409, 422, descriptions={
            400: "The `migrate` body is malformed, names unknown versions or nodes.",
            409: "An archived workflow cannot be published; or a newer version was published since the plan.",
            422: "The draft has errors: `details.errors` lists them, as `validate` reports them; or the "
                 "migration would strand contacts (`migration_refused`, with the plan in `details.plan`).",
        }),
    })
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        body = PublishSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        if "migrate" in body.validated_data:
            return _publish_migrating(self.get_object(), MigrateSerializer.request_of(body.validated_data["migrate"]),
                                      _actor_name(request))
        version = services.workflow_publish(workflow=self.get_object(), published_by=_actor_name(request))
        return Response({"version": version.number})

    @extend_schema(request={"application/json": ref("EnrollRequest")}, responses={
        202: EnrollResultSerializer,
        **error_responses(422, descriptions={422: "The workflow is not active, or has no trigger to enter at."}),
    })
    @action(detail=True, methods=["post"])
    def enroll(self, request, pk=None):
        workflow = self.get_object()
        serializer = EnrollSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.workflow_enroll(
            workflow=workflow,
            contacts=[dict(item) for item in data["contacts"]],
            segment_id=str(data["segment_id"]) if data.get("segment_id") else None,
        )
        return Response({"enrolled": result.enrolled, "skipped": result.skipped}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ContactReferencesSerializer, responses=UnenrollResultSerializer,
                   description="Take contacts (by id or email) out of the workflow: their live executions in it "
                               "are cancelled. A contact with none is no error.")
    @action(detail=True, methods=["post"])
    def unenroll(self, request, pk=None):
        workflow = self.get_object()
        serializer = ContactReferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contacts, skipped = contacts_by_reference(workspace=self.workspace,
                                                  references=serializer.validated_data["contacts"])
        report = workflow_unenroll(workflow=workflow, contacts=contacts)
        return Response({"cancelled": report.done, "skipped": skipped})

    @extend_schema(request={"application/json": ref("SimulationRequest")}, responses=SimulationResultSerializer)
    @action(detail=True, methods=["post"])
    def simulate(self, request, pk=None):
        workflow = self.get_object()
        serializer = SimulateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = services.workflow_simulate(workflow=workflow, **serializer.validated_data)
        except OverflowError:
            # The virtual clock left Python's datetime range (years 1-9999): a start near its end plus `until`.
            raise InvalidInput(
                "The simulation would run past the year 9999.",
                details={"start": "Too close to the year 9999 for this simulation: give an earlier start or a "
                                  "shorter until."},
            ) from None
        return Response(result)

    @extend_schema(
        parameters=[OpenApiParameter("version", {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
                                     description="Only this published version's counts."),
                    OpenApiParameter("since", OpenApiTypes.DATE, description="First day of the time series (UTC; "
                                     "default: 29 days before `until`; never before the workflow was created)."),
                    OpenApiParameter("until", OpenApiTypes.DATE, description="Last day of the series (default and at most: today).")],
        responses=AnalyticsSerializer,
    )
    @action(detail=True, methods=["get"])
    @replica_reads
    def analytics(self, request, pk=None):
        since, until = analytics_range(request.query_params)
        version = request.query_params.get("version")
        if version and not (version.isascii() and version.isdigit() and 1 <= int(version) <= MAX_VERSION):
            raise InvalidInput("The request is not valid.", details={"version": "Must be a version number."})
        workflow, number = self.get_object(), int(version) if version else None
        if number is not None and not WorkflowVersion.objects.filter(workflow=workflow, number=number).exists():
            # Counts of zero for a version that was never published would read as "nobody went through it".
            raise NotFound(f"This workflow has no published version {number}: see GET .../versions.")
        result = workflow_analytics(workflow=workflow, version_number=number)
        return Response({**result, **analytics_extras(workflow=workflow, version_number=number, since=since,
                                                      until=until, splits=result["splits"], today=timezone.now().date())})

    @extend_schema(
        parameters=[limit_parameter(default=MAX_PAGE_SIZE),
                    OpenApiParameter("before", {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
                                     description="Only versions numbered below this one: the next page after a "
                                                 "full one is `before=<the last number shown>`.")],
        responses=VersionSummarySerializer(many=True),
        description="The published versions, newest first: the newest 500 unless `limit` says fewer.",
    )
    @action(detail=True, methods=["get"], url_path="versions", pagination_class=None, filter_backends=[])
    def versions(self, request, pk=None):
        limit, before = versions_page(request.query_params)
        workflow = self.get_object()
        rows = WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False).order_by("-number")
        if before is not None:
            rows = rows.filter(number__lt=before)
        rows = rows.only("number", "published_at", "revision", "published_by")[:limit]
        live = versions_in_flight(workflow=workflow)
        return Response([_version_summary(v, in_flight=live.get(v.number, 0)) for v in rows])

    @extend_schema(operation_id="v1_workflows_version_detail", responses=VersionSerializer)
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)")
    def version_detail(self, request, pk=None, number=None):
        workflow = self.get_object()
        version = None
        if int(number) <= MAX_VERSION:
            version = WorkflowVersion.objects.filter(workflow=workflow, number=int(number)).first()
        if version is None:
            from django.http import Http404

            raise Http404
        in_flight = versions_in_flight(workflow=workflow).get(version.number, 0)
        return Response({**_version_summary(version, in_flight=in_flight),
                         "graph": version_graphs.builder_graph_of(version), "settings": version.settings})


def versions_page(params) -> tuple[int, int | None]:
    """`limit` and `before` of the versions list; a 400 for anything else (the list is an array, so it pages by
    version number rather than by cursor, which keeps its shape for existing clients)."""
    errors = {name: "Unknown parameter. Known: limit, before." for name in params if name not in ("limit", "before")}
    before = params.get("before")
    if before is not None and not (before.isascii() and before.isdigit() and 1 <= int(before) <= MAX_VERSION):
        errors["before"] = "Must be a version number."
    if errors:
        raise InvalidInput("The request is not valid.", details=errors)
    return page_size_from(params.get("limit"), default=MAX_PAGE_SIZE), int(before) if before is not None else None


def _version_summary(version: WorkflowVersion, *, in_flight: int) -> dict:
    return {"number": version.number, "published_at": version.published_at, "revision": version.revision,
            "published_by": version.published_by, "in_flight": in_flight}


def _actor_name(request) -> str:
    """Name who makes this request, as the version history shows it: a user's name, or "API key"."""
    user = request.user
    if getattr(user, "is_authenticated", False) and hasattr(user, "get_username"):
        return user.get_full_name() or user.get_username()
    return "API key"


def _publish_migrating(workflow, migrate, actor: str) -> Response:
    """Publish with a migration of contacts in flight (CONTRACT §17): the plan, and unless a dry run the version."""
    outcome = version_migration.workflow_publish_migrating(
        workflow=workflow, request=migrate, published_by=actor, enqueue=enqueue_migration)
    body = {"dry_run": outcome.version is None, **outcome.plan.as_dict()}
    if outcome.version is not None:
        body["version"] = outcome.version.number
        body["migration"] = version_migration.migration_as_dict(outcome.migration)
    return Response(body)
