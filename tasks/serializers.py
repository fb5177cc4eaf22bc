"""The task as the API shows and takes it (CONTRACT §5a): `assignee` is a member's email, `contact` and
`execution` are ids."""

from __future__ import annotations

from rest_framework import serializers

from penguinflow.common.fields import StrictCharField
from tasks.models import Task


class AssigneeField(serializers.EmailField):
    """The assignee as the email of a member of the workspace (null: unassigned)."""

    def to_representation(self, value):
        return value.email


class TaskSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    title = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    assignee = AssigneeField(required=False, allow_null=True, max_length=254,
                             help_text="The email of a member of the workspace; null: unassigned.")
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    contact = serializers.UUIDField(source="contact_id", required=False, allow_null=True)
    execution = serializers.UUIDField(source="execution_id", read_only=True, allow_null=True,
                                      help_text="The execution (enrollment) whose step made the task, if any.")
    created_at = serializers.DateTimeField(read_only=True)
