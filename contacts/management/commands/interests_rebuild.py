from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from contacts.interests import interests_rebuild
from penguinflow.workspaces.models import Workspace


class Command(BaseCommand):
    help = ("Recount a workspace's contact interests (the topics and links its contacts click) from its stored "
            "clicks, replacing what was counted.")

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--days", type=int, default=90, help="How far back to read events (default 90).")
        parser.add_argument("--dry-run", action="store_true", help="Count, and change nothing.")

    def handle(self, *args, workspace, days, dry_run, **options):
        found = Workspace.objects.filter(slug=workspace).first()
        if found is None:
            raise CommandError(f"There is no workspace '{workspace}'.")
        if days < 1:
            raise CommandError("--days must be at least 1.")
        counted = interests_rebuild(workspace=found, since=timezone.now() - timedelta(days=days), dry_run=dry_run)
        verb = "would count" if dry_run else "counted"
        self.stdout.write(f"{found.slug}: {verb} {counted} clicks of the last {days} days")
