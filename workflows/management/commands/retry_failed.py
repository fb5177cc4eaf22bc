from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from penguinflow.common.errors import DomainError
from workflows.services import enrollment_retry, enrollments_failed


class Command(BaseCommand):
    help = "Retry failed enrollments at their failed step; filter by workflow, node, error type and time."

    def add_arguments(self, parser):
        parser.add_argument("--workflow", help="Workflow id.")
        parser.add_argument("--node", help="Node id of the step that failed.")
        parser.add_argument("--error-type", help="Error type, e.g. PortError.")
        parser.add_argument("--since", help="Failed at or after this ISO 8601 time.")
        parser.add_argument("--until", help="Failed before this ISO 8601 time.")
        parser.add_argument("--limit", type=int, default=10_000)
        parser.add_argument("--dry-run", action="store_true", help="List what would be retried; change nothing.")

    def handle(self, *args, workflow, node, error_type, since, until, limit, dry_run, **options):
        moments = {}
        for name, value in (("since", since), ("until", until)):
            if value:
                parsed = parse_datetime(value)
                if parsed is None or parsed.tzinfo is None:
                    raise CommandError(f"--{name} must be an ISO 8601 time with a zone, e.g. 2026-11-22T10:00:00Z")
                moments[name] = parsed
        failed = enrollments_failed(workflow_id=workflow, node_id=node, error_type=error_type, **moments)[:limit]
        retried = refused = 0
        for enrollment in failed:
            error = enrollment.error or {}
            label = f"{enrollment.pk} node={error.get('node_id')} {error.get('type')}: {error.get('message', '')[:80]}"
            if dry_run:
                self.stdout.write(f"would retry {label}")
                retried += 1
                continue
            try:
                enrollment_retry(enrollment=enrollment)
                retried += 1
            except DomainError as problem:
                refused += 1
                self.stdout.write(f"refused {enrollment.pk}: {problem.message}")
        verb = "would retry" if dry_run else "retried"
        self.stdout.write(f"{verb} {retried} enrollment(s); {refused} refused")
