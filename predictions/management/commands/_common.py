"""What the two prediction commands share: choosing the workspaces."""

from __future__ import annotations

from django.core.management.base import CommandError

from penguinflow.workspaces.models import Workspace


def add_common_arguments(parser) -> None:
    parser.add_argument("--workspace", help="The workspace's slug (default: every workspace).")
    parser.add_argument("--dry-run", action="store_true", help="Compute and report; write nothing.")


def workspaces_named(slug: str | None) -> list[Workspace]:
    if slug is None:
        return list(Workspace.objects.order_by("slug"))
    if not slug.strip():
        raise CommandError("--workspace needs a slug.")
    found = Workspace.objects.filter(slug=slug).first()
    if found is None:
        raise CommandError(f"There is no workspace '{slug}'.")
    return [found]
