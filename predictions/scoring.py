"""Score a workspace's contacts with its models in use, write what changed, and fire prediction triggers.

The rescoring rule. A contact's features at time t are a function of its events before t, its fields (lead score,
status, tags) and t itself. t enters only through: an event leaving the 7-, 28- or 56-day window it was counted in;
recency (days since the last engagement, open, page view, purchase) and age reaching their next point on the grid of
days (predictions.features); nothing else. The first scoring of a contact records when that next happens
(`ContactScoreState.due_at`, null when never: no activity in the lookback means no score until a new event) and
the fields it read. A later scoring with the same models (the same version, or the same "not enough data" message,
per kind) rescores only the contacts that are due, whose fields differ from those read, that have an event that
occurred since the last scoring or that was received since it started (a late event), or that have no state yet;
for every other contact the features, hence the scores and reasons, are exactly what they were. (This relies on
events never being edited in what features read, type, time, contact, properties, flags: the events app only
updates its processing columns.) Another model, a
clock before the last scoring, or no recorded scoring (`predictions_refresh` records them) rescores everyone.

Scores are written only where a score, its model or its message changed. Reasons come from per-feature path
contributions (predictions.explain), computed only for the rows written.
"""

from __future__ import annotations

import functools
import hashlib
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import lightgbm as lgb
import msgspec
import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string

from contacts.models import Contact
from events.services import NewEvent, events_store
from predictions.explain import TreeExplainer
from predictions.features import (
    AGE_GRID_DAYS,
    FEATURES,
    LOOKBACK_DAYS,
    NEVER_DAYS,
    RECENCY_GRID_DAYS,
    Snapshot,
    snapshots_build,
)
from predictions.models import KINDS, PredictionLatch, PredictionModel, PredictionRun
from predictions.nodes import CROSSED_EVENT, trigger_key

TOP_REASONS = 3
WRITE_BATCH = 20_000
NO_ACTIVITY = f"Not enough data: no activity in the last {LOOKBACK_DAYS} days to score from."
_encode = msgspec.json.Encoder().encode


@dataclass
class ScoreReport:
    contacts: int = 0
    written: dict[str, int] = field(default_factory=dict)
    scored: dict[str, int] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)
    models: dict[str, str | None] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # features, predict, write, triggers
    rescored: int = 0  # contacts whose features were recomputed (all of them unless `incremental`)
    incremental: bool = False
    # What the next scoring compares with (kept in its PredictionRun's summary).
    as_of: str = ""
    read_at: str = ""
    signature: str = ""


def _days_text(value: float, grid: np.ndarray) -> str:
    """Say which step of its grid a day count is on ("7 to 10 days"): the features hold grid points."""
    following = grid[grid > value]
    if not len(following):
        return f"over {value:.0f} days"
    return f"{value:.0f} to {following[0]:.0f} days" if value > 0 else f"less than {following[0]:.0f} day" + \
        ("s" if following[0] > 1 else "")


@functools.lru_cache(maxsize=100_000)  # values repeat (counts, grid points): a million rows ask a few thousand
def _reason_text(name: str, value: float) -> str:
    if name.startswith("days_since_"):
        what = name.removeprefix("days_since_").replace("engaged", "engagement").replace("opens", "email open") \
            .replace("views", "page view").replace("purchases", "purchase")
        if value >= NEVER_DAYS:
            return f"No {what} in {LOOKBACK_DAYS} days"
        return f"Last {what} {_days_text(value, RECENCY_GRID_DAYS)} ago"
    texts = {"engaged_trend": "Engagement this week against the month: {v:.2f} (1 = steady)",
             "open_rate_28d": "Opened {p:.0f} % of emails in 28 days",
             "age_days": f"Contact for {_days_text(value, AGE_GRID_DAYS)}",
             "score": "Lead score {v:.0f}", "subscribed": "Subscribed" if value else "Not subscribed",
             "tags": "{v:.0f} tags"}
    if name in texts:
        return texts[name].format(v=value, p=value * 100)
    count, _, window = name.rpartition("_")
    return f"{value:.0f} {count.replace('_', ' ')} in {window.removesuffix('d')} days"


def _reasons(contributions: np.ndarray, values: np.ndarray) -> list[list[dict]]:
    """Return, per row, the features that pushed its score up most (their contribution in log-odds)."""
    top = np.argpartition(-contributions, TOP_REASONS, axis=1)[:, :TOP_REASONS]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(contributions, top, axis=1), axis=1), axis=1)
    effects = np.take_along_axis(contributions, top, axis=1).round(3).tolist()
    shown = np.take_along_axis(values, top, axis=1).astype(np.float64).round(3).tolist()
    return [[{"feature": FEATURES[i], "value": v, "effect": e, "text": _reason_text(FEATURES[i], v)}
             for i, v, e in zip(row, row_values, row_effects, strict=True) if e > 0]
            for row, row_values, row_effects in zip(top.tolist(), shown, effects, strict=True)]


def models_in_use(workspace_id) -> dict[str, PredictionModel | None]:
    """Return the active model of each kind (None: none passed its backtest yet)."""
    active = {m.kind: m for m in PredictionModel.objects.filter(workspace_id=workspace_id,
                                                                status=PredictionModel.Status.ACTIVE)}
    return {kind: active.get(kind) for kind in KINDS}


def _missing_message(workspace_id, kind: str) -> str:
    latest = (PredictionModel.objects.filter(workspace_id=workspace_id, kind=kind).order_by("-version")
              .values_list("message", flat=True).first())
    return latest or "Not enough data: no model has been trained for this workspace yet."


LATE_EVENT_SLACK = timedelta(minutes=10)  # an event's received_at may precede its commit by this much
# Above this share of the contacts, one pass over all the workspace's events costs less than looking up the due
# contacts' events through the index (measured: 55 % due took longer than everyone).
SELECTIVE_SHARE = 0.25


def _signature(workspace_id, in_use: dict[str, PredictionModel | None]) -> str:
    """Name what the scores are made by: per kind, the model's version, else the message of the missing model."""
    made_by = [f"{kind}={model.label if model else _missing_message(workspace_id, kind)}"
               for kind, model in in_use.items()]
    return hashlib.sha256("\n".join(made_by).encode()).hexdigest()[:16]


def _last_scoring(workspace_id) -> dict | None:
    summary = (PredictionRun.objects.filter(workspace_id=workspace_id, kind=PredictionRun.Kind.SCORE)
               .order_by("-created_at").values_list("summary", flat=True).first())
    return summary if summary and summary.get("signature") else None


def _due_contacts(workspace_id, *, now: datetime, last: dict) -> list:
    """Return the contacts to rescore under the rescoring rule (module docstring), given the last scoring."""
    params = {"ws": workspace_id, "now": now, "as_of": datetime.fromisoformat(last["as_of"]),
              "read_at": datetime.fromisoformat(last["read_at"]) - LATE_EVENT_SLACK,
              "lookback": now - timedelta(days=LOOKBACK_DAYS)}
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.id FROM contacts_contact c
            LEFT JOIN predictions_contactscorestate s ON s.contact_id = c.id
            WHERE c.workspace_id = %(ws)s
              AND (s.contact_id IS NULL OR s.due_at <= %(now)s OR s.lead_score <> c.score
                   OR s.subscribed <> (c.status = 'subscribed') OR s.tag_count <> cardinality(c.tags))
            UNION
            SELECT e.contact_id FROM events_event e
            WHERE e.workspace_id = %(ws)s AND e.contact_id IS NOT NULL
              AND e.occurred_at >= %(lookback)s AND e.occurred_at < %(now)s
              AND (e.occurred_at >= %(as_of)s OR e.received_at >= %(read_at)s)
        """, params)
        return [row[0] for row in cursor.fetchall()]


def _snapshot_due(workspace_id, *, now: datetime, last: dict | None) -> Snapshot:
    """Return the features of the contacts to rescore: everyone without `last`, else those the rule names."""
    if last is None:
        return snapshots_build(workspace_id=workspace_id, times=[now], with_previous=True)[0]
    due = _due_contacts(workspace_id, now=now, last=last)
    if len(due) <= SELECTIVE_SHARE * Contact.objects.filter(workspace_id=workspace_id).count():
        return snapshots_build(workspace_id=workspace_id, times=[now], with_previous=True, only=due)[0]
    everyone = snapshots_build(workspace_id=workspace_id, times=[now], with_previous=True)[0]
    named = set(due)
    return everyone.rows(np.array([cid in named for cid in everyone.contact_ids], dtype=bool))


def predictions_score(*, workspace, now: datetime, dry_run: bool = False, full: bool = False) -> ScoreReport:
    """Score the workspace's contacts at `now` (those the rescoring rule names, when the last scoring allows and
    not `full`); write changed predictions and fire crossed triggers."""
    workspace_id = workspace.pk
    clock = time.monotonic()
    read_at = datetime.now(UTC)
    in_use = models_in_use(workspace_id)
    signature = _signature(workspace_id, in_use)
    last = _last_scoring(workspace_id)
    incremental = bool(not full and last and last["signature"] == signature and datetime.fromisoformat(last["as_of"]) <= now)
    snapshot = _snapshot_due(workspace_id, now=now, last=last if incremental else None)
    features_s = time.monotonic() - clock
    report = ScoreReport(contacts=len(snapshot.contact_ids), rescored=len(snapshot.contact_ids),
                         incremental=incremental, as_of=now.isoformat(), read_at=read_at.isoformat(),
                         signature=signature)
    if incremental:
        report.contacts = Contact.objects.filter(workspace_id=workspace_id).count()
    patches, new_scores = _predict(workspace_id, snapshot, in_use, report, now=now, dry_run=dry_run)
    predict_s = time.monotonic() - clock - features_s
    # Triggers first, then the scores: a crash between them leaves the old scores, and the next run sees the same
    # crossings again, which the latches keep from firing twice. The other way round, a crossing would be lost.
    with transaction.atomic():
        report.fired = _fire_triggers(workspace, snapshot, new_scores, now=now, dry_run=dry_run)
    triggers_s = time.monotonic() - clock - features_s - predict_s
    if not dry_run:
        _write(snapshot, patches)
        # After the scores: a crash in between leaves the older state, which only rescores more next time.
        _state_write(workspace_id, snapshot)
    report.seconds = {"features": features_s, "predict_and_reasons": predict_s, "triggers": triggers_s,
                      "write": time.monotonic() - clock - features_s - predict_s - triggers_s}
    report.seconds = {name: round(value, 2) for name, value in report.seconds.items()}
    return report


def _predict(workspace_id, snapshot: Snapshot, in_use: dict, report: ScoreReport, *, now: datetime,
             dry_run: bool) -> tuple[dict[int, dict], dict[str, np.ndarray]]:
    """Score the snapshot's contacts with each kind's model; return the entries to write (row -> kind -> entry),
    those that changed only, and the new scores per kind (NaN: no score)."""
    patches: dict[int, dict] = {}
    scored_at = now.isoformat()
    can_score = snapshot.active_events > 0
    new_scores: dict[str, np.ndarray] = {}
    n = len(snapshot.contact_ids)
    for kind, model in in_use.items():
        report.models[kind] = model.label if model else None
        scores = np.full(n, np.nan)
        leaves = None
        if model is not None and can_score.any():
            explainer = TreeExplainer(lgb.Booster(model_str=model.booster), len(FEATURES))
            leaves = np.zeros((n, len(explainer.values)), np.int32)
            leaves[can_score] = explainer.leaves(snapshot.X[can_score])
            scores[can_score] = np.round(explainer.probabilities(leaves[can_score]) * 100)
        new_scores[kind] = scores
        report.scored[kind] = int(np.isfinite(scores).sum())
        version = model.label if model else None
        message = NO_ACTIVITY if model is not None else _missing_message(workspace_id, kind)
        rows = np.flatnonzero(_changed(snapshot, kind, scores, version or message))
        report.written[kind] = len(rows)
        if dry_run or not len(rows):
            continue
        with_score = rows[np.isfinite(scores[rows])]
        reasons = {}
        if len(with_score) and leaves is not None:
            reasons = dict(zip(with_score.tolist(), _reasons(explainer.contributions(leaves[with_score]),
                                                             snapshot.X[with_score]), strict=True))
        for r in rows.tolist():
            finite = np.isfinite(scores[r])
            entry = {"score": int(scores[r]) if finite else None, "reasons": reasons.get(r, []),
                     "model_version": version, "scored_at": scored_at}
            if not finite:
                entry["message"] = message
            patches.setdefault(r, {})[kind] = entry
    return patches, new_scores


def _changed(snapshot: Snapshot, kind: str, scores: np.ndarray, made_by: str) -> np.ndarray:
    """Return which rows need writing: a new score, or another model (or reason for no model) behind it."""
    old = snapshot.previous[kind]
    same_score = (old == scores) | (np.isnan(old) & np.isnan(scores))
    same_version = np.array([v == made_by for v in snapshot.previous_versions[kind]], dtype=bool)
    return ~(same_score & same_version)


def _write(snapshot: Snapshot, patches: dict[int, dict]) -> None:
    """Merge each row's patch into its contact's scores (contacts.ContactScores): per batch, COPY into a temporary
    table and one upsert (a contact erased meanwhile is skipped), each batch its own transaction (row locks are
    held for one batch, not the whole run)."""
    rows, batch = list(patches.items()), WRITE_BATCH
    for begin in range(0, len(rows), batch):
        buffer = io.StringIO()
        for row, patch in rows[begin:begin + batch]:
            text = _encode(patch).decode().replace("\\", "\\\\")
            buffer.write(f"{snapshot.contact_ids[row]}\t{text}\n")
        with transaction.atomic(), connection.cursor() as cursor:
            # Kept for the session and emptied each time: a caller's outer transaction may span several batches.
            cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS prediction_patch (id uuid, patch jsonb) "
                           "ON COMMIT DELETE ROWS")
            cursor.execute("TRUNCATE prediction_patch")
            with cursor.copy("COPY prediction_patch (id, patch) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute("INSERT INTO contacts_contactscores AS s (contact_id, predictions) "
                           "SELECT p.id, p.patch FROM prediction_patch p JOIN contacts_contact c ON c.id = p.id "
                           "ON CONFLICT (contact_id) DO UPDATE SET predictions = s.predictions || excluded.predictions")


def _state_write(workspace_id, snapshot: Snapshot) -> None:
    """Record, per contact scored, the fields read and when its features next change on their own (none: no
    activity, which only a new event ends). COPY and one upsert per batch, each batch its own transaction."""
    due = np.where(snapshot.active_events > 0, snapshot.changes_at, np.inf)
    fields = snapshot.fields_seen.tolist()
    for begin in range(0, len(due), WRITE_BATCH):
        buffer = io.StringIO()
        for row in range(begin, min(begin + WRITE_BATCH, len(due))):
            at = "\\N" if not np.isfinite(due[row]) else datetime.fromtimestamp(due[row], UTC).isoformat()
            score, subscribed, tags = fields[row]
            buffer.write(f"{snapshot.contact_ids[row]}\t{workspace_id}\t{at}\t{score}\t{bool(subscribed)}\t{tags}\n")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS prediction_state (LIKE predictions_contactscorestate) "
                           "ON COMMIT DELETE ROWS")
            cursor.execute("TRUNCATE prediction_state")
            with cursor.copy("COPY prediction_state (contact_id, workspace_id, due_at, lead_score, subscribed, "
                             "tag_count) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute("""
                INSERT INTO predictions_contactscorestate (contact_id, workspace_id, due_at, lead_score, subscribed,
                                                           tag_count)
                SELECT contact_id, workspace_id, due_at, lead_score, subscribed, tag_count FROM prediction_state
                ON CONFLICT (contact_id) DO UPDATE SET due_at = excluded.due_at, lead_score = excluded.lead_score,
                    subscribed = excluded.subscribed, tag_count = excluded.tag_count""")


def _active_triggers(workspace_id) -> list[dict]:
    """Return the configs of the published `trigger_prediction` nodes, from the runtime (named by a setting,
    as the events gateway is: this app sits below the runtime and does not import it)."""
    source = getattr(settings, "PREDICTION_TRIGGERS_SOURCE", "")
    return import_string(source)(workspace_id) if source else []


def _fire_triggers(workspace, snapshot: Snapshot, new_scores: dict[str, np.ndarray], *, now: datetime,
                   dry_run: bool) -> dict[str, int]:
    keys = {}
    for config in _active_triggers(workspace.pk):
        keys[trigger_key(config["model"], config["direction"], config["threshold"],
                         config.get("hysteresis", 5))] = config
    return {key: prediction_crossings_fire(workspace=workspace, contact_ids=snapshot.contact_ids,
                                           previous=snapshot.previous[config["model"]],
                                           scores=new_scores[config["model"]], config=config, now=now,
                                           dry_run=dry_run)
            for key, config in keys.items()}


def prediction_crossings_fire(*, workspace, contact_ids: list, previous: np.ndarray, scores: np.ndarray,
                              config: dict, now: datetime, dry_run: bool = False) -> int:
    """Fire one prediction trigger (`config`: model, threshold, direction, hysteresis) for the contacts whose
    score went from `previous` to `scores` across the threshold and that are armed; latch them; re-arm those
    that moved back past the threshold by the hysteresis. Return how many fired (or would, in a dry run).

    Each firing is a `prediction.crossed` event, which the runtime matches to the trigger nodes of that key.
    Caller holds a transaction (latches and events commit together).
    """
    threshold, hysteresis = float(config["threshold"]), float(config.get("hysteresis", 5))
    key = trigger_key(config["model"], config["direction"], threshold, hysteresis)
    with np.errstate(invalid="ignore"):  # NaN (no score) never crosses
        if config["direction"] == "up":
            crossed, rearm = (previous < threshold) & (scores >= threshold), scores < threshold - hysteresis
        else:
            crossed, rearm = (previous > threshold) & (scores <= threshold), scores > threshold + hysteresis
    index = {cid: i for i, cid in enumerate(contact_ids)}
    latched = set(PredictionLatch.objects.filter(workspace=workspace, key=key).values_list("contact_id", flat=True))
    latched_rows = np.zeros(len(scores), dtype=bool)
    latched_rows[[index[c] for c in latched if c in index]] = True
    fire = np.flatnonzero(crossed & ~latched_rows)
    if dry_run:
        return len(fire)
    release = [contact_ids[i] for i in np.flatnonzero(latched_rows & rearm)]
    PredictionLatch.objects.filter(workspace=workspace, key=key, contact_id__in=release).delete()
    PredictionLatch.objects.bulk_create(
        [PredictionLatch(workspace=workspace, key=key, contact_id=contact_ids[i], fired_at=now) for i in fire],
        batch_size=5000, ignore_conflicts=True)
    events_store(workspace=workspace, events=[
        NewEvent(type=CROSSED_EVENT, contact_id=contact_ids[i], occurred_at=now,
                 client_id=f"prediction:{key}:{contact_ids[i]}:{now.isoformat()}",
                 properties={"model": config["model"], "threshold": config["threshold"],
                             "direction": config["direction"], "hysteresis": hysteresis,
                             "score": int(scores[i]), "previous": None if np.isnan(previous[i]) else int(previous[i])})
        for i in fire])
    return len(fire)
