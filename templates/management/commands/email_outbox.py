from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from penguinflow.common.errors import DomainError
from templates import recovery
from templates.models import OutboxMessage


class Command(BaseCommand):
    help = (
        "Look after the email outbox: --sweep marks messages stuck in 'sending' past their lease as 'unknown' and "
        "re-enqueues queued ones whose job was lost; --resend ID queues an 'unknown' or 'failed' message again, "
        "deliberately."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sweep", action="store_true", help="Mark stale sends unknown, re-enqueue lost jobs.")
        parser.add_argument("--resend", metavar="ID", action="append", default=[], help="Outbox id (repeatable).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")

    def handle(self, *args, sweep: bool, resend: list[str], dry_run: bool, **options):
        if not sweep and not resend:
            raise CommandError("Give --sweep and/or --resend ID.")
        if sweep:
            report = recovery.outbox_sweep(dry_run=dry_run)
            verb = "would mark" if dry_run else "marked"
            self.stdout.write(f"{verb} {report.unknown} unknown; {'would re-enqueue' if dry_run else 're-enqueued'} "
                              f"{report.requeued} queued")  # fmt: skip
        for outbox_id in resend:
            message = OutboxMessage.objects.filter(pk=outbox_id).first()
            if message is None:
                raise CommandError(f"No outbox message {outbox_id}.")
            if dry_run:
                self.stdout.write(f"would resend {outbox_id} (status {message.status})")
                continue
            try:
                recovery.outbox_resend(message=message)
            except DomainError as error:
                raise CommandError(f"{outbox_id}: {error.message}") from error
            self.stdout.write(f"queued {outbox_id} again")
