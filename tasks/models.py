"""The task: a to-do for a member of the workspace, about a contact, made by a workflow step or by hand."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from penguinflow.common.models import WorkspaceScopedModel


class Task(WorkspaceScopedModel):
    """A task. `effect_key` is the step's effect key ("<enrollment>:<node>:<visit>") when a step made it, unique
    per workspace, so a step run again finds its task instead of making a second one; tasks made through the API
    have none. `execution_id` names the enrollment that made it: a plain UUID, since the runtime sits above this
    app and a task outlives the execution."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="tasks")
    execution_id = models.UUIDField(null=True, blank=True)
    effect_key = models.CharField(max_length=255, null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "effect_key"], name="task_unique_effect_key_per_workspace")
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "created_at"], name="task_ws_status_created"),
            models.Index(fields=["contact"], name="task_contact"),
        ]

    def __str__(self) -> str:
        return self.title
