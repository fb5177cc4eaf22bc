from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from penguinflow.common.errors import InvalidInput
from workflows.execution_actions import executions_retry
from workflows.execution_query import ALL_WORKSPACES, execution_query_parse, executions_matching


class Command(BaseCommand):
    help = ("Retry failed enrollments (the service behind POST /api/v1/executions/retry); filter by workflow, node, "
            "error type and entry time. Every workspace unless --workflow narrows it.")

    def add_arguments(self, parser):
        parser.add_argument("--workflow", help="Workflow id.")
        parser.add_argument("--node", help="Node id of the step that failed (where the enrollment stands).")
        parser.add_argument("--error-type", help="Error type, e.g. PortError.")
        parser.add_argument("--since", help="Entered at or after this ISO 8601 time.")
        parser.add_argument("--until", help="Entered before this ISO 8601 time.")
        parser.add_argument("--from", dest="start_from", choices=["failed_step", "start"], default="failed_step")
        parser.add_argument("--on-version", dest="on_version", choices=["own", "latest"], default="own",
                            help="Run on the enrollment's own version or the latest published one.")
        parser.add_argument("--limit", type=int, default=10_000, help="At most this many (oldest entries first).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be retried; change nothing.")

    def handle(self, *args, workflow, node, error_type, since, until, start_from, on_version, limit, dry_run, **options):
        given = {"workflow": workflow, "node": node, "error_type": error_type, "since": since, "until": until}
        try:
            query = execution_query_parse({k: v for k, v in given.items() if v})
        except InvalidInput as problem:
            raise CommandError("; ".join(f"--{k.replace('_', '-')}: {v}" for k, v in problem.details.items())) \
                from None
        matching = executions_matching(workspace=ALL_WORKSPACES, query=query).filter(status="failed")
        oldest = matching.order_by("entered_at", "pk").values_list("pk", flat=True)[:limit]
        limited = matching.filter(pk__in=list(oldest))
        report = executions_retry(enrollments=limited, start_from=start_from, version=on_version, dry_run=dry_run)
        for enrollment_id, (code, reason) in report.refused.items():
            self.stdout.write(f"refused {enrollment_id}: {reason} ({code})")
        if dry_run:
            self.stdout.write(f"would retry {report.matched} enrollment(s); 0 refused")
        else:
            self.stdout.write(f"retried {report.done} enrollment(s); {len(report.refused)} refused")
