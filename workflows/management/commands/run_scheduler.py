from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from events import partitions

logger = logging.getLogger("penguinflow.scheduler")


class Command(BaseCommand):
    help = (
        "Run the periodic work of PenguinFlow in a loop: keep event partitions ahead of time "
        "(and, as the runtime issues land, dispatch events and claim due enrollments)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.2, help="Seconds between polls.")
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")

    def handle(self, *args, interval: float, once: bool, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        last_maintenance = 0.0
        while not stopping:
            close_old_connections()
            if time.monotonic() - last_maintenance > 3600:
                with connection.cursor() as cursor:
                    partitions.ensure(cursor, now=datetime.now(UTC), retention_days=settings.EVENT_RETENTION_DAYS)
                last_maintenance = time.monotonic()
            if once:
                break
            time.sleep(interval)
