"""Train and score a workspace's predictive models: the entry points of the commands, the schedule and the bench."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from predictions.features import FEATURES, LOOKBACK_DAYS, snapshots_build
from predictions.models import KINDS, PredictionModel, PredictionRun
from predictions.scoring import ScoreReport, orphan_states_delete, predictions_score
from predictions.training import HORIZON, Fitted, Requirements, fit_and_backtest


def requirements_configured() -> Requirements:
    """Return the minimum data requirements, with any overrides of `settings.PREDICTIONS_REQUIREMENTS`."""
    return Requirements(**getattr(settings, "PREDICTIONS_REQUIREMENTS", {}))


def _history_start(workspace_id) -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(occurred_at) FROM events_event WHERE workspace_id = %s", [workspace_id])
        return cursor.fetchone()[0]


def predictions_train(*, workspace, now: datetime | None = None, dry_run: bool = False,
                      requirements: Requirements | None = None, kinds: tuple[str, ...] = KINDS) -> list[dict]:
    """Fit and backtest each kind of model on the workspace's history; keep each version with its metrics.

    A version that passes its backtest becomes the one in use (the previous one is retired); one that fails, or
    that had too little data, is kept for the record and not used. Return one summary per kind.
    """
    now = now or timezone.now()
    requirements = requirements or requirements_configured()
    started = time.monotonic()
    train_at, test_at = now - 2 * HORIZON, now - HORIZON
    first_event = _history_start(workspace.pk)
    needed_from = train_at - HORIZON  # a training snapshot needs some weeks of history behind it
    results: dict[str, Fitted] = {}
    if first_event is None or first_event > needed_from:
        days = 0 if first_event is None else (now - first_event).days
        message = (f"Not enough data: {days} days of history, at least {(now - needed_from).days} are needed "
                   f"(two {HORIZON.days}-day horizons and {HORIZON.days} days before them).")
        results = {kind: Fitted(booster=None, message=message) for kind in kinds}
        features_s = 0.0
    else:
        train, test = snapshots_build(workspace_id=workspace.pk, times=[train_at, test_at], horizon=HORIZON)
        features_s = time.monotonic() - started
        for kind in kinds:
            results[kind] = fit_and_backtest(kind, train, test, requirements)
    total_s = time.monotonic() - started
    summaries = []
    with transaction.atomic():
        if not dry_run:
            orphan_states_delete(workspace.pk)  # every two weeks is often enough for rows nothing reads
        for kind, fitted in results.items():
            summaries.append(_record(workspace, kind, fitted, trained_until=train_at, dry_run=dry_run,
                                     seconds={"features_s": round(features_s, 2), "total_s": round(total_s, 2)}))
        if not dry_run:
            PredictionRun.objects.create(workspace=workspace, kind=PredictionRun.Kind.TRAIN, finished_at=timezone.now(),
                                         summary={"models": summaries})
    return summaries


def _record(workspace, kind: str, fitted: Fitted, *, trained_until: datetime, dry_run: bool, seconds: dict) -> dict:
    if fitted.booster is None:
        status = PredictionModel.Status.NOT_ENOUGH_DATA
    else:
        status = PredictionModel.Status.ACTIVE if fitted.passed else PredictionModel.Status.REJECTED
    latest = (PredictionModel.objects.select_for_update().filter(workspace=workspace, kind=kind)
              .order_by("-version").first())
    version = (latest.version if latest else 0) + 1
    summary = {"kind": kind, "version": version, "status": status, "quality": fitted.quality,
               "message": fitted.message, "metrics": {**fitted.metrics, **seconds}}
    if dry_run:
        return summary
    if status == PredictionModel.Status.ACTIVE:
        PredictionModel.objects.filter(workspace=workspace, kind=kind, status=PredictionModel.Status.ACTIVE) \
            .update(status=PredictionModel.Status.RETIRED)
    PredictionModel.objects.create(
        workspace=workspace, kind=kind, version=version, status=status, quality=fitted.quality,
        message=fitted.message, metrics=summary["metrics"], features=FEATURES, trained_until=trained_until,
        booster=fitted.booster.model_to_string() if fitted.booster is not None else "",
    )
    return summary


def predictions_refresh(*, workspace, now: datetime | None = None, dry_run: bool = False) -> dict:
    """Score the workspace's contacts with the models in use; record the run (unless a dry run)."""
    now = now or timezone.now()
    started = time.monotonic()
    report: ScoreReport = predictions_score(workspace=workspace, now=now, dry_run=dry_run)
    summary = {**asdict(report), "seconds_by_step": report.seconds, "seconds": round(time.monotonic() - started, 2),
               "lookback_days": LOOKBACK_DAYS}
    if not dry_run:
        PredictionRun.objects.create(workspace=workspace, kind=PredictionRun.Kind.SCORE, finished_at=timezone.now(),
                                     summary=summary)
    return summary
