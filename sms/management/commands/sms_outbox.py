from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from penguinflow.common.errors import DomainError
from sms import recovery
from sms.models import SmsMessage


class Command(BaseCommand):
    help = (
        "Look after the SMS outbox: --sweep marks SMS stuck in 'sending' past their lease as 'unknown' and "
        "re-enqueues queued ones whose job was lost; --resend ID queues an 'unknown' or 'failed' SMS again, "
        "deliberately."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sweep", action="store_true", help="Mark stale sends unknown, re-enqueue lost jobs."
        )
        parser.add_argument(
            "--resend", metavar="ID", action="append", default=[], help="SMS id (repeatable)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; change nothing."
        )

    def handle(self, *args, sweep: bool, resend: list[str], dry_run: bool, **options):
        if not sweep and not resend:
            raise CommandError("Give --sweep and/or --resend ID.")
        if sweep and dry_run:
            stale = SmsMessage.objects.filter(status=SmsMessage.Status.SENDING).count()
            self.stdout.write(
                f"would look at {stale} SMS in 'sending' (those past SMS_SEND_LEASE_SECONDS: unknown)"
            )
        elif sweep:
            report = recovery.sms_sweep()
            self.stdout.write(f"marked {report.unknown} unknown; re-enqueued {report.requeued} queued")
        for sms_id in resend:
            message = SmsMessage.objects.filter(pk=sms_id).first()
            if message is None:
                raise CommandError(f"No SMS {sms_id}.")
            if dry_run:
                self.stdout.write(f"would resend {sms_id} (status {message.status})")
                continue
            try:
                recovery.sms_resend(message=message)
            except DomainError as error:
                raise CommandError(f"{sms_id}: {error.message}") from error
            self.stdout.write(f"queued {sms_id} again")
