"""The RQ job that applies a large migration of contacts in flight (small ones are applied by the request)."""

from __future__ import annotations

from datetime import timedelta

import django_rq
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from workflows.models import VersionMigration
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


def stale_migrations_enqueue(*, idle_seconds: float = 60.0) -> int:
    """Enqueue the migrations nobody applies: an applier died (its lease ran out), or their job was lost with
    Redis (no lease taken for `idle_seconds`). A duplicate job is harmless: the job's lease lets one run."""
    now = timezone.now()
    stale = VersionMigration.objects.filter(status=VersionMigration.Status.RUNNING).filter(
        Q(lease_expires_at__lt=now) | Q(lease_owner="", updated_at__lt=now - timedelta(seconds=idle_seconds))
    )
    ids = [str(pk) for pk in stale.values_list("pk", flat=True)]
    for migration_id in ids:
        VersionMigration.objects.filter(pk=migration_id).update(updated_at=now)
        django_rq.get_queue(QUEUE).enqueue(apply_migration, migration_id, job_timeout=3600, result_ttl=0)
    return len(ids)
