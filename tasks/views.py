"""`GET|POST /api/v1/tasks`, `GET|PATCH /api/v1/tasks/{id}` (CONTRACT §5a), scoped to the key's workspace."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from contacts.models import Contact
from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.errors import NotFound
from penguinflow.common.schema import error_responses
from tasks import services
from tasks.models import Task
from tasks.serializers import TaskSerializer

UNKNOWN_REFERENCE = error_responses(404, descriptions={
    404: "The task, or the `contact` or `assignee` (a member's email) it names, is not in this workspace."})


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Task.Status.choices)
    assignee = django_filters.CharFilter(field_name="assignee__email", lookup_expr="iexact",
                                         help_text="The assignee's email.")
    contact = django_filters.UUIDFilter(field_name="contact_id")

    class Meta:
        model = Task
        fields = ["status", "assignee", "contact"]


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    model = Task
    serializer_class = TaskSerializer
    filterset_class = TaskFilter

    def scoped_queryset(self, queryset):
        return queryset.select_related("assignee")

    @extend_schema(responses={201: TaskSerializer, **UNKNOWN_REFERENCE})
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.task_create(workspace=self.workspace, **self._references(serializer.validated_data))
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: TaskSerializer, **UNKNOWN_REFERENCE})
    def partial_update(self, request, pk=None):
        task = self.get_object()
        serializer = self.get_serializer(task, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        task = services.task_update(task=task, **self._references(serializer.validated_data))
        return Response(TaskSerializer(task).data)

    def _references(self, data: dict[str, Any]) -> dict[str, Any]:
        """Turn the assignee's email and the contact's id into the workspace's user and contact (404 if not)."""
        data = dict(data)
        if data.get("assignee") is not None:
            data["assignee"] = services.workspace_member(workspace=self.workspace, email=data["assignee"])
            if data["assignee"] is None:
                raise NotFound("No member of this workspace has that email.", details={"assignee": "Not a member."})
        if "contact_id" in data:
            contact_id = data.pop("contact_id")
            data["contact"] = None
            if contact_id is not None:
                data["contact"] = Contact.objects.for_workspace(self.workspace).filter(pk=contact_id).first()
                if data["contact"] is None:
                    raise NotFound("No contact of this workspace has that id.", details={"contact": "Not found."})
        return data
