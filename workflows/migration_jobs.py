"""The RQ job that applies a large migration of contacts in flight (small ones are applied by the request)."""

from __future__ import annotations

import django_rq
from django.db import transaction

from workflows.version_migration import migration_apply

QUEUE = "engine"


def apply_migration(migration_id: str) -> dict:
    """Apply the job to its end; safe to run twice (the job's lease and items make it so)."""
    report = migration_apply(migration_id=migration_id)
    return {"moved": report.moved, "exited": report.exited, "left": report.left, "done": report.done}


def enqueue_migration(migration_id: str) -> None:
    """Enqueue the job after commit (a worker that dies with it leaves a lease that `migrations_resume` takes)."""
    transaction.on_commit(
        lambda: django_rq.get_queue(QUEUE).enqueue(
            apply_migration, migration_id, job_timeout=3600, result_ttl=0
        )
    )
