from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from penguinflow.common.processes import Child, supervise

QUEUES = ["engine", "events", "email", "sms", "push", "webhooks", "default"]
WORKER_CLASS = "penguinflow.common.workers.Worker"  # non-forking; closes a connection PostgreSQL dropped


class Command(BaseCommand):
    help = "Run the web server (ASGI), background workers and the scheduler together, for development."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--workers", type=int, default=2, help="How many RQ worker processes.")

    def handle(self, *args, host: str, port: str, workers: int, **options):
        manage = [sys.executable, "manage.py"]
        children = [
            Child("web", [sys.executable, "-m", "uvicorn", "penguinflow.asgi:application",
                          "--host", host, "--port", str(port), "--no-access-log"]),
            Child("scheduler", [*manage, "run_scheduler"]),
        ]
        # Non-forking workers (a fork per job caps RQ at ~100 jobs/s); the first also runs RQ's scheduler, which
        # releases jobs deferred with enqueue_at (email over a workspace's rate limit).
        children += [
            Child(f"worker-{n}", [*manage, "rqworker", *QUEUES, "--worker-class", WORKER_CLASS,
                                  *(["--with-scheduler"] if n == 1 else [])])
            for n in range(1, workers + 1)
        ]
        raise SystemExit(supervise(children, out=self.stdout))
