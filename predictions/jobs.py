"""The schedule: retrain each workspace's models every two weeks, rescore its contacts every day.

`predictions_due_enqueue()` runs on the scheduler's hourly beat and enqueues one job per workspace that is due;
the job takes a PostgreSQL advisory lock, so that a duplicate (two schedulers, a retried job) returns quietly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import django_rq
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from contacts.models import Contact
from penguinflow.workspaces.models import Workspace
from predictions.models import PredictionModel, PredictionRun
from predictions.services import predictions_refresh, predictions_train

QUEUE = "default"
RETRAIN_EVERY = timedelta(days=14)
RETRY_UNTRAINED_EVERY = timedelta(days=1)  # a workspace without a model in use tries again the next day
RESCORE_EVERY = timedelta(days=1)


def _latest(workspace_id, kind: str) -> datetime | None:
    return (PredictionRun.objects.filter(workspace_id=workspace_id, kind=kind).order_by("-created_at")
            .values_list("created_at", flat=True).first())


def training_due(workspace_id, *, now: datetime) -> bool:
    last = _latest(workspace_id, PredictionRun.Kind.TRAIN)
    if last is None:
        return True
    in_use = PredictionModel.objects.filter(workspace_id=workspace_id, status=PredictionModel.Status.ACTIVE).exists()
    return now - last >= (RETRAIN_EVERY if in_use else RETRY_UNTRAINED_EVERY)


def scoring_due(workspace_id, *, now: datetime) -> bool:
    last = _latest(workspace_id, PredictionRun.Kind.SCORE)
    return last is None or now - last >= RESCORE_EVERY or last < (_latest(workspace_id, PredictionRun.Kind.TRAIN) or last)


def predictions_due_enqueue(*, now: datetime | None = None) -> list[str]:
    """Enqueue a refresh for each workspace with contacts whose training or scoring is due; return their ids."""
    now = now or timezone.now()
    with_contacts = Workspace.objects.filter(Exists(Contact.objects.filter(workspace_id=OuterRef("pk"))))
    due = [str(pk) for pk in with_contacts.values_list("pk", flat=True)
           if training_due(pk, now=now) or scoring_due(pk, now=now)]
    queue = django_rq.get_queue(QUEUE)
    for workspace_id in due:
        queue.enqueue(predictions_refresh_job, workspace_id, job_timeout=3600, result_ttl=0)
    return due


def predictions_refresh_job(workspace_id: str) -> dict:
    """Retrain if due, then rescore; safe to run twice (one runs, the other finds the lock taken)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext('predictions:' || %s))", [workspace_id])
        if not cursor.fetchone()[0]:
            return {"skipped": "another refresh of this workspace is running"}
        try:
            workspace = Workspace.objects.get(pk=workspace_id)
            now = timezone.now()
            trained = predictions_train(workspace=workspace, now=now) if training_due(workspace.pk, now=now) else []
            scored = predictions_refresh(workspace=workspace, now=now)
            return {"trained": trained, "scored": scored}
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext('predictions:' || %s))", [workspace_id])
