"""The read side of CONTRACT §9: executions (enrollments) and their steps, plus the node-type catalogue."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.filtering import UtcDateTimeFilter
from workflows.engine.registry import registry
from workflows.models import Enrollment, StepRun
from workflows.serializers import NodeTypeSerializer


class StepRunSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()

    class Meta:
        model = StepRun
        fields = ["id", "node_id", "type", "status", "attempt", "visit", "started_at", "finished_at", "branch",
                  "detail", "error"]

    def get_error(self, step: StepRun) -> dict | None:
        if not step.error_type and not step.error_message:
            return None
        return {"type": step.error_type, "message": step.error_message, "traceback": step.error_traceback}


class ExecutionSerializer(serializers.ModelSerializer):
    workflow = serializers.UUIDField(source="workflow_id")
    version = serializers.IntegerField(source="version.number")
    contact = serializers.SerializerMethodField()
    current_node = serializers.CharField(source="current_node_id")

    class Meta:
        model = Enrollment
        fields = ["id", "workflow", "version", "contact", "status", "current_node", "entered_at", "updated_at",
                  "next_run_at", "finished_at", "goal", "error"]

    def get_contact(self, enrollment: Enrollment) -> dict:
        return {"id": str(enrollment.contact_id), "email": enrollment.contact.email}


class ExecutionDetailSerializer(ExecutionSerializer):
    steps = StepRunSerializer(source="step_runs", many=True)

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "steps"]


class ExecutionFilter(django_filters.FilterSet):
    workflow = django_filters.UUIDFilter(field_name="workflow_id")
    status = django_filters.ChoiceFilter(choices=Enrollment.Status.choices)
    contact = django_filters.UUIDFilter(field_name="contact_id")
    since = UtcDateTimeFilter(field_name="entered_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="entered_at", lookup_expr="lt")

    class Meta:
        model = Enrollment
        fields = ["workflow", "status", "contact", "since", "until"]


class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    model = Enrollment
    filterset_class = ExecutionFilter

    def get_serializer_class(self):
        return ExecutionDetailSerializer if self.action == "retrieve" else ExecutionSerializer

    def scoped_queryset(self, queryset):
        queryset = queryset.select_related("contact", "version")
        if self.action == "retrieve":
            from django.db.models import Prefetch

            queryset = queryset.prefetch_related(
                Prefetch("step_runs", queryset=StepRun.objects.order_by("sequence"))
            )
        return queryset


class NodeTypesView(APIView):
    """The node catalogue the builder's palette, validation and execution all read (one registry)."""

    @extend_schema(responses=NodeTypeSerializer(many=True))
    def get(self, request):
        return Response(registry.describe())
