from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from events.processing import events_replay
from penguinflow.workspaces.models import Workspace


def _timestamp(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CommandError(f"{value!r} is not an ISO 8601 timestamp with a zone (e.g. 2026-11-22T10:00:00Z).")
    return moment


class Command(BaseCommand):
    help = (
        "Re-run processing (trigger matching, resumption, exits) over stored events with since <= occurred_at "
        "< until, through the engine gateway. Idempotent: the runtime does not enroll anyone twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="ISO 8601 timestamp with a zone (inclusive).")
        parser.add_argument("--until", required=True, help="ISO 8601 timestamp with a zone (exclusive).")
        parser.add_argument("--type", default=None, help="Only events of this type.")
        parser.add_argument("--workspace", default=None, help="Only events of this workspace (slug).")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="Count events and matches; change nothing.")

    def handle(self, *args, since: str, until: str, type: str | None, workspace: str | None, batch_size: int,
               dry_run: bool, **options):
        start, end = _timestamp(since), _timestamp(until)
        if end <= start:
            raise CommandError("--until must be after --since.")
        workspace_id = None
        if workspace:
            workspace_id = Workspace.objects.filter(slug=workspace).values_list("id", flat=True).first()
            if workspace_id is None:
                raise CommandError(f"No workspace with the slug {workspace!r}.")
        result = events_replay(since=start, until=end, type=type, workspace_id=workspace_id, dry_run=dry_run,
                               batch_size=batch_size)
        verb = "would replay" if dry_run else "replayed"
        self.stdout.write(f"{verb} {result.events} events in {result.batches} batches; "
                          f"{result.matches} trigger matches")
