"""Making and changing tasks. The runtime's live port and the API both come through here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower

from penguinflow.workspaces.models import MANAGER_ROLES, Membership
from tasks.models import Task

TITLE_MAX = 200


def workspace_member(*, workspace, email: str):
    """Return the user who is a member of `workspace` with `email` (case-insensitive), or None."""
    return (get_user_model().objects.filter(memberships__workspace=workspace, email__iexact=email.strip())
            .order_by("pk").first())


def workspace_members_by_email(*, workspace, emails) -> dict[str, object]:
    """Return the members of `workspace` among `emails`, by lower-cased address (those who are not are absent)."""
    wanted = {email.strip().lower() for email in emails}
    users = (get_user_model().objects.filter(memberships__workspace=workspace)
             .annotate(email_lower=Lower("email")).filter(email_lower__in=wanted).order_by("pk"))
    found: dict[str, object] = {}
    for user in users:
        found.setdefault(user.email_lower, user)  # the first, as `workspace_member` picks
    return found


def workspace_admins(*, workspace) -> list:
    """Return the workspace's admins (members with the owner or admin role), the active ones, in the order they
    joined."""
    admins = (Membership.objects.filter(workspace=workspace, role__in=MANAGER_ROLES, user__is_active=True)
              .exclude(user__email="").select_related("user").order_by("created_at", "pk"))
    return [membership.user for membership in admins]


def task_create(
    *,
    workspace,
    title: str,
    description: str = "",
    assignee=None,
    due_at: datetime | None = None,
    status: str = Task.Status.OPEN,
    contact=None,
    execution_id: UUID | str | None = None,
    effect_key: str | None = None,
) -> Task:
    """Create a task and return it. With an `effect_key`, the task is made once per key and workspace: a second
    call with the same key inserts nothing and returns the first task (ON CONFLICT DO NOTHING, so a concurrent
    run of the same step cannot make two either)."""
    task = Task(workspace=workspace, title=title[:TITLE_MAX], description=description, assignee=assignee,
                due_at=due_at, status=status, contact=contact, execution_id=execution_id, effect_key=effect_key)
    if effect_key is None:
        task.save()
        return task
    Task.objects.bulk_create([task], ignore_conflicts=True)
    return Task.objects.get(workspace=workspace, effect_key=effect_key)


def task_update(*, task: Task, **changes: Any) -> Task:
    """Change the given fields of a task (title, description, assignee, due_at, status, contact)."""
    for name, value in changes.items():
        setattr(task, name, value)
    task.save(update_fields=[*changes, "updated_at"])
    return task
