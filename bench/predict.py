"""Predictive scores on a synthetic workspace: accuracy against the hidden truth, training and scoring time.

A synthetic workspace (predictions.synthetic: 90 days of opens, clicks, page views and purchases from contacts
with hidden propensities) is written into the configured database, in a workspace of its own that is deleted at
the end (BENCH_KEEP_DB=1 keeps it). Prints:
- `predict.<model>.backtest_auc` / `lift`: the backtest on held-out recent history (what users see);
- `predict.<model>.truth_auc`: scores at `now` against what the simulation made happen over the next 21 days
  (churn: among contacts active in the 28 days before; conversion: everyone), and the same for the oracle that
  knows the hidden propensities (the best any model could do on this data);
- `predict.train_s`, `predict.score_s` (first scoring, every contact written) and `predict.rescore_s` (the next
  day's scoring: only the contacts the rescoring rule names are recomputed, only changes written), per contact,
  and extrapolated linearly to 1,000,000 contacts; `predict.rescore_check`: a full scoring of that same day after
  it, which must write nothing (the contacts skipped had exactly their scores). The seconds by step are each
  stage's busy time: the stages overlap (features of the next stripes and the writes run in threads), so they add
  up to more than the run.
Size: BENCH_PREDICT_CONTACTS (default 20,000; `--quick`: 5,000).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO

import numpy as np
from django.db import connection

MILLION = 1_000_000


def _truth_auc(workspace, simulation, kind: str, outcome: str, population: int) -> tuple[float, float, int]:
    from contacts.models import Contact
    from predictions.training import auc

    stored = {contact.pk: contact.predictions
              for contact in Contact.objects.filter(workspace=workspace).prefetch_related("scores")}
    judged = [cid for cid, truth in simulation.truth.items()
              if truth.engaged_before >= population and (stored[cid].get(kind) or {}).get("score") is not None]
    labels = np.array([getattr(simulation.truth[c], outcome) for c in judged], float)
    model = auc(np.array([stored[c][kind]["score"] for c in judged], float), labels)
    if kind == "churn_risk":  # the oracle knows the churn day: leaving before the horizon ends
        oracle_scores = [-(simulation.truth[c].churn_day - simulation.spec.days) for c in judged]
    else:
        oracle_scores = [simulation.truth[c].expected_purchases for c in judged]
    return model, auc(np.array(oracle_scores, float), labels), len(judged)


def _drop(workspace) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_event WHERE workspace_id = %s", [workspace.pk])
        cursor.execute("DELETE FROM predictions_predictionlatch WHERE workspace_id = %s", [workspace.pk])
        cursor.execute("DELETE FROM predictions_contactscorestate WHERE workspace_id = %s", [workspace.pk])
        cursor.execute("DELETE FROM contacts_contactscores s USING contacts_contact c "
                       "WHERE s.contact_id = c.id AND c.workspace_id = %s", [workspace.pk])
        cursor.execute("DELETE FROM contacts_contact WHERE workspace_id = %s", [workspace.pk])
    workspace.delete()
    with connection.cursor() as cursor:  # the dead rows would slow the next run's scans
        cursor.execute("VACUUM ANALYZE events_event")
        cursor.execute("VACUUM ANALYZE contacts_contact")


def _settle() -> None:
    """Do now, untimed, what follows a bulk load of this size anyway: the first reads of 50 million fresh rows
    set their hint bits (writing every page back) and autovacuum scans them, and either landed in the timed
    training and first scoring (64 s against 56 s for that scoring at a million contacts). A workspace scored
    daily has long been through both."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE events_event")
        cursor.execute("VACUUM ANALYZE contacts_contact")
        cursor.execute("CHECKPOINT")


def run(*, out: TextIO, quick: bool = False) -> None:
    from penguinflow.workspaces.models import Workspace
    from predictions.scoring import predictions_score
    from predictions.services import predictions_refresh, predictions_train
    from predictions.synthetic import SyntheticSpec, synthetic_workspace_create

    count = int(os.environ.get("BENCH_PREDICT_CONTACTS") or (5_000 if quick else 20_000))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    stale = Workspace.objects.filter(slug="bench-predict").first()
    if stale:
        _drop(stale)
    workspace = Workspace.objects.create(slug="bench-predict", name="Bench: predictions")
    try:
        started = time.monotonic()
        simulation = synthetic_workspace_create(workspace=workspace, spec=SyntheticSpec(contacts=count, seed=11),
                                                now=now)
        out.write(f"predict.contacts  {count}  events {len(simulation.event_type):,} over 90 days "
                  f"(generated and written in {time.monotonic() - started:.0f} s)\n")
        _settle()
        started = time.monotonic()
        summaries = predictions_train(workspace=workspace, now=now)
        train_s = time.monotonic() - started
        started = time.monotonic()
        first = predictions_refresh(workspace=workspace, now=now)
        score_s = time.monotonic() - started
        started = time.monotonic()
        again = predictions_refresh(workspace=workspace, now=now + timedelta(days=1))
        rescore_s = time.monotonic() - started
        check = predictions_score(workspace=workspace, now=now + timedelta(days=1), full=True)
        for summary in summaries:
            metrics = summary["metrics"]
            out.write(f"predict.{summary['kind']}  {summary['status']} ({summary['quality'] or '-'})  "
                      f"backtest_auc {metrics.get('auc', float('nan')):.3f}  "
                      f"lift {metrics.get('lift_top_decile', float('nan')):.2f}  "
                      f"base_rate {metrics.get('base_rate', float('nan')):.3f}\n")
        for kind, outcome, population in (("churn_risk", "churns_in_horizon", 1),
                                          ("conversion", "converts_in_horizon", 0)):
            model, oracle, judged = _truth_auc(workspace, simulation, kind, outcome, population)
            out.write(f"predict.{kind}.truth_auc  {model:.3f}  (target >= 0.80; oracle {oracle:.3f}; "
                      f"{judged} contacts)\n")
        features_s = summaries[0]["metrics"].get("features_s", 0.0)
        for name, seconds, note in (
            ("train_s", train_s, f"features in SQL {features_s:.1f} s; fits sample at most 200,000 examples, "
                                 "so linear is pessimistic for the fit part"),
            ("score_s", score_s, f"{first['rescored']:,} contacts scored, {sum(first['written'].values()):,} "
                                 f"entries written; {first['seconds_by_step']}"),
            ("rescore_s", rescore_s, f"next day, {again['rescored']:,} contacts rescored (incremental: "
                                     f"{again['incremental']}), {sum(again['written'].values()):,} entries written; "
                                     f"{again['seconds_by_step']}"),
        ):
            per_contact_ms = seconds / count * 1000
            out.write(f"predict.{name}  {seconds:.1f} s  ({per_contact_ms:.3f} ms per contact; 1M contacts "
                      f"linearly: {per_contact_ms * MILLION / 1000:.0f} s)  [{note}]\n")
        out.write(f"predict.rescore_check  a full scoring of the same day writes {sum(check.written.values())} "
                  f"entries (0: the skipped contacts' scores were exact)\n")
        out.write(f"predict.load_average  {' '.join(f'{x:.1f}' for x in os.getloadavg())}  (2 cores, shared)\n")
    finally:
        if os.environ.get("BENCH_KEEP_DB") != "1":
            _drop(workspace)
