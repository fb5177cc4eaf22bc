from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from connectors.crm.polling import crm_polls_enqueue
from events import partitions
from events.processing import events_dispatch, events_dispatch_forever
from penguinflow.common.idempotency import idempotent_requests_forget
from penguinflow.common.processes import stop_on_signals
from predictions.jobs import predictions_due_enqueue
from push.recovery import push_sweep
from sms.recovery import sms_sweep
from templates.recovery import outbox_sweep
from webhooks.dispatch import deliveries_dispatch, deliveries_dispatch_forever
from webhooks.services import deliveries_prune, subscriptions_disable_failing
from workflows.caps_port import send_ledger_forget
from workflows.entry_path import time_triggers_fire
from workflows.migration_jobs import stale_migrations_enqueue
from workflows.scheduler import scheduler_tick

logger = logging.getLogger("penguinflow.scheduler")


class Command(BaseCommand):
    help = (
        "Run PenguinFlow's periodic work in a loop: claim due enrollments (with leases; expired leases are claimed "
        "again), fire schedule/date/inactivity triggers, sweep the email and SMS outboxes, and keep the event partitions "
        "ahead of time; and, in threads of their own, hand unprocessed events to workers (as dispatch_events "
        "does) and due webhook deliveries to the `webhooks` queue. Several schedulers may run at once; they coordinate through PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.2, help="Seconds between polls when idle.")
        parser.add_argument("--batch-size", type=int, default=100, help="Enrollments per job.")
        parser.add_argument("--once", action="store_true", help="Run one tick (and one event dispatch) and exit.")
        parser.add_argument("--no-events", dest="events", action="store_false",
                            help="Do not dispatch events (when `dispatch_events` runs as a process of its own).")

    def handle(self, *args, interval: float, batch_size: int, once: bool, events: bool, **options):
        stopping = stop_on_signals()
        # Events go out from their own loop, with its backpressure: a backlog of events (and the claim over it)
        # must never delay the claim of due enrollments, whose overshoot users see.
        dispatcher = None
        if events and once:
            events_dispatch()
        elif events:
            dispatcher = threading.Thread(
                target=events_dispatch_forever, kwargs={"should_stop": stopping.is_set}, name="events-dispatch",
                daemon=True,
            )  # fmt: skip
            dispatcher.start()
        webhooks = None
        if once:
            deliveries_dispatch()
        else:
            # Its own loop too: a backlog of deliveries must not delay events or enrollments.
            webhooks = threading.Thread(target=deliveries_dispatch_forever, kwargs={"should_stop": stopping.is_set},
                                        name="webhooks-dispatch", daemon=True)
            webhooks.start()
        last_triggers = last_partitions = last_sweep = 0.0
        while not stopping.is_set():
            close_old_connections()
            busy = False
            try:
                busy |= scheduler_tick(batch_size=batch_size) > 0
                if time.monotonic() - last_triggers > 30:
                    time_triggers_fire()
                    stale_migrations_enqueue()  # a migration whose applier died goes on in a worker
                    crm_polls_enqueue()  # CRMs without webhooks (Salesforce): their changes, by cursor
                    last_triggers = time.monotonic()
                if time.monotonic() - last_sweep > settings.EMAIL_SWEEP_INTERVAL_SECONDS:
                    outbox_sweep(grace_seconds=settings.EMAIL_SWEEP_GRACE_SECONDS)
                    sms_sweep()
                    push_sweep()  # the push outbox, on the same beat (stuck `sending` → `unknown`; lost jobs)
                    last_sweep = time.monotonic()
                if time.monotonic() - last_partitions > 3600:
                    with connection.cursor() as cursor:
                        partitions.ensure(cursor, now=datetime.now(UTC), retention_days=settings.EVENT_RETENTION_DAYS)
                    idempotent_requests_forget()
                    send_ledger_forget()
                    deliveries_prune(older_than=timedelta(days=settings.EVENT_RETENTION_DAYS))
                    subscriptions_disable_failing()  # failing for a day with no attempt left to notice it
                    predictions_due_enqueue()  # retrain every two weeks, rescore daily (predictions.jobs)
                    last_partitions = time.monotonic()
            except Exception:  # the database or Redis blinked: log, wait, go on; leases make retries safe
                logger.exception("Scheduler tick failed")
                time.sleep(1)
            if once:
                break
            if not busy:
                time.sleep(interval)
        for thread in (dispatcher, webhooks):
            if thread is not None:
                thread.join(timeout=10)
