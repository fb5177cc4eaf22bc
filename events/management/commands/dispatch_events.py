from __future__ import annotations

from django.core.management.base import BaseCommand

from events.processing import events_dispatch, events_dispatch_forever
from penguinflow.common.processes import stop_on_signals


class Command(BaseCommand):
    help = (
        "Dispatch unprocessed events to the 'events' RQ queue continuously (low latency), in addition to the "
        "scheduler's per-tick dispatch. Safe to run beside other dispatchers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.05, help="Seconds between polls when idle.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--max-queued", type=int, default=None,
                            help="Batches allowed to wait in the queue (default: EVENTS_DISPATCH_MAX_QUEUED).")
        parser.add_argument("--once", action="store_true", help="Dispatch what is pending now and exit.")

    def handle(self, *args, interval: float, batch_size: int, once: bool, max_queued: int | None, **options):
        if once:
            self.stdout.write(f"dispatched {events_dispatch(batch_size=batch_size)} events")
            return
        events_dispatch_forever(interval=interval, batch_size=batch_size, should_stop=stop_on_signals().is_set,
                                max_queued=max_queued)
