from __future__ import annotations

from django.core.management.base import BaseCommand

from events.retention import events_retention_apply


class Command(BaseCommand):
    help = (
        "Drop event partitions older than EVENT_RETENTION_DAYS, create the coming weeks' partitions, and delete "
        "expired rows of the DEFAULT partition and expired dedupe keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Retention in days (default: the setting).")
        parser.add_argument("--weeks-ahead", type=int, default=8, help="How many future weeks to create.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")

    def handle(self, *args, days: int | None, weeks_ahead: int, dry_run: bool, **options):
        result = events_retention_apply(retention_days=days, weeks_ahead=weeks_ahead, dry_run=dry_run)
        verb = "would" if dry_run else "did"
        self.stdout.write(f"horizon {result.horizon.isoformat()}")
        self.stdout.write(f"{verb} drop {len(result.dropped)} partitions: {', '.join(result.dropped) or '-'}")
        self.stdout.write(f"{verb} create {len(result.created)} partitions: {', '.join(result.created) or '-'}")
        self.stdout.write(f"{verb} delete {result.default_rows} expired rows of the default partition")
        self.stdout.write(f"{verb} delete {result.keys} expired dedupe keys")
