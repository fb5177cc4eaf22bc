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

import contextlib
import functools
import gc
import hashlib
import io
import itertools
import math
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import lightgbm as lgb
import msgspec
import numpy as np
import psycopg.errors
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils.module_loading import import_string

from contacts.models import Contact
from contacts.score_writes import score_writes_hold
from events.services import NewEvent, events_store
from predictions.explain import TreeExplainer
from predictions.features import (
    AGE_GRID_DAYS,
    FEATURES,
    LOOKBACK_DAYS,
    NEVER_DAYS,
    RECENCY_GRID_DAYS,
    Snapshot,
)
from predictions.models import KINDS, PredictionLatch, PredictionModel, PredictionRun
from predictions.nodes import CROSSED_EVENT, trigger_key
from predictions.scoring_features import scoring_snapshot

TOP_REASONS = 3
WRITE_BATCH = 20_000  # contacts scored, then written, at a time
# One feature pass holds at most this many contacts (its arrays: about 1 kB per contact, see
# predictions.scoring_features); each stripe reads the events of its contacts only.
STRIPE_CONTACTS = 1_000_000
# Connections reading a stripe's events at once, each in a thread: the database's 2 cores both scan and pack
# events while this process counts them.
FEATURE_CONNECTIONS = 2
# Batches written at once, each from a thread on a connection of its own: once the features are in, the writes
# are the longest stage (the database's upserts, while this process scores the next batches).
WRITE_CONNECTIONS = 2
# A batch's write gives way to a deletion of its contacts (contacts.score_writes) and is written again, this often.
WRITE_ATTEMPTS = 5
GAVE_WAY = (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected)
PARALLEL_FROM = 10_000  # contacts; below, one query on the caller's connection costs less than threads
NO_ACTIVITY = f"Not enough data: no activity in the last {LOOKBACK_DAYS} days to score from."
_encode = msgspec.json.Encoder().encode


@dataclass
class ScoreReport:
    contacts: int = 0
    written: dict[str, int] = field(default_factory=dict)
    scored: dict[str, int] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)
    models: dict[str, str | None] = field(default_factory=dict)
    # Busy seconds per stage (due, features, predict_and_reasons, triggers, write; they overlap) and the total.
    seconds: dict[str, float] = field(default_factory=dict)
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


def _top_reasons(contributions: np.ndarray, values: np.ndarray) -> list[str]:
    """Return, per row, the JSON array's items of the features that pushed its score up most (their contribution
    in log-odds), as text: built from cached pieces, as dicts they cost a third of the scoring's Python time."""
    top = np.argpartition(-contributions, TOP_REASONS, axis=1)[:, :TOP_REASONS]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(contributions, top, axis=1), axis=1), axis=1)
    # Rounded as float64: float32 rounded to 0.235 is stored as 0.23499999940395355, more text for nothing.
    effects = np.take_along_axis(contributions, top, axis=1).astype(np.float64).round(3)
    shown = np.take_along_axis(values, top, axis=1).astype(np.float64).round(3)
    items = [_reason_head(i, v) + repr(e) + "}" for i, v, e in zip(top.ravel().tolist(), shown.ravel().tolist(),
                                                                   effects.ravel().tolist(), strict=True)]
    # Sorted by effect, so a row's reasons (those with an effect above 0) are its first ones.
    return [",".join(items[row * TOP_REASONS:row * TOP_REASONS + count])
            for row, count in enumerate((effects > 0).sum(axis=1).tolist())]


@functools.lru_cache(maxsize=100_000)
def _reason_head(index: int, value: float) -> str:
    """One reason's JSON object up to its effect: {"feature", "value", "text", "effect":"""
    name = FEATURES[index]
    return (f'{{"feature":{_encode(name).decode()},"value":{_encode(value).decode()},'
            f'"text":{_encode(_reason_text(name, value)).decode()},"effect":')


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
SELECTIVE_SHARE = 0.25  # measured: 55 % due took longer through the index than one pass over everyone


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


def _stripes(contacts: int) -> list[tuple[UUID | None, UUID | None]]:
    """Split the contact ids into ranges [low, high) (None: unbounded) of about STRIPE_CONTACTS contacts each.
    Even splits of the uuid space: contact ids are random (uuid4), so each range holds about as many contacts; a
    skew would only unbalance the work, never change a score (each contact is in exactly one range)."""
    count = max(1, math.ceil(contacts / STRIPE_CONTACTS))
    return list(itertools.pairwise([None, *(UUID(int=k * 2**128 // count) for k in range(1, count)), None]))


def _due_snapshots(workspace_id, *, now: datetime, due: list | None, contacts: int,
                   threaded: bool) -> Iterator[tuple[Snapshot, float]]:
    """Yield the features of the contacts to rescore (everyone when `due` is None), stripe by stripe in id order,
    each with the seconds it took. `threaded`: a stripe's events are read on FEATURE_CONNECTIONS connections of
    their own (else on the caller's connection, in its transaction)."""
    # Above SELECTIVE_SHARE of the contacts, one pass over all the workspace's events costs less than looking up
    # the due contacts' events through the index; the rows not due are then dropped.
    selective = due is not None and len(due) <= SELECTIVE_SHARE * contacts
    named = set(due) if due is not None and not selective else None
    threads = FEATURE_CONNECTIONS if threaded and contacts >= PARALLEL_FROM else 0
    for low, high in _stripes(len(due) if selective else contacts):
        started = time.monotonic()
        only = None if not selective else [cid for cid in due if (low is None or cid >= low)
                                           and (high is None or cid < high)]
        snapshot = scoring_snapshot(workspace_id=workspace_id, at=now, only=only, stripe=(low, high),
                                    threads=threads)
        if named is not None:
            snapshot = snapshot.rows(np.array([cid in named for cid in snapshot.contact_ids], dtype=bool))
        yield snapshot, time.monotonic() - started


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector: scoring allocates millions of acyclic objects (rows, strings), and the
    full collections they set off walk everything alive, a million contacts' ids and rows included (0.7 s of 3.7
    in the scores and reasons of 100,000 contacts). Reference counting still frees them. Process-wide, for the
    scoring's length only."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def predictions_score(*, workspace, now: datetime, dry_run: bool = False, full: bool = False) -> ScoreReport:
    """Score the workspace's contacts at `now` (those the rescoring rule names, when the last scoring allows and
    not `full`); write changed predictions and fire crossed triggers.

    Per stripe of contacts, the features (predictions.scoring_features: the events read on connections of their
    own, counted here), then batch by batch of WRITE_BATCH contacts: scores and reasons, triggers, then the writes
    (from threads, while the next batches are scored). A caller holding a transaction gets it all on its own
    connection, in order: other connections would not see its rows.
    """
    with _collector_paused():
        return _score(workspace=workspace, now=now, dry_run=dry_run, full=full)


def _score(*, workspace, now: datetime, dry_run: bool, full: bool) -> ScoreReport:
    workspace_id = workspace.pk
    clock = time.monotonic()
    read_at = datetime.now(UTC)
    in_use = models_in_use(workspace_id)
    signature = _signature(workspace_id, in_use)
    last = _last_scoring(workspace_id)
    incremental = bool(not full and last and last["signature"] == signature and datetime.fromisoformat(last["as_of"]) <= now)
    contacts = Contact.objects.filter(workspace_id=workspace_id).count()
    due = _due_contacts(workspace_id, now=now, last=last) if incremental else None
    report = ScoreReport(contacts=contacts, incremental=incremental, as_of=now.isoformat(),
                         read_at=read_at.isoformat(), signature=signature)
    seconds = {"due": time.monotonic() - clock, "features": 0.0, "predict_and_reasons": 0.0, "triggers": 0.0}
    scorer = _Scorer(workspace_id, in_use, now=now, report=report)
    triggers = _trigger_configs(workspace_id)
    report.fired = dict.fromkeys(triggers, 0)
    threaded = not connection.in_atomic_block
    writer = _Writer(workspace_id, threaded=threaded)
    try:
        for snapshot, took in _due_snapshots(workspace_id, now=now, due=due, contacts=contacts, threaded=threaded):
            seconds["features"] += took
            report.rescored += len(snapshot.contact_ids)
            for begin in range(0, len(snapshot.contact_ids), WRITE_BATCH):
                keep = np.zeros(len(snapshot.contact_ids), dtype=bool)
                keep[begin:begin + WRITE_BATCH] = True
                batch = snapshot.rows(keep)
                started = time.monotonic()
                new_scores, patches = scorer.score(batch, dry_run=dry_run)
                seconds["predict_and_reasons"] += time.monotonic() - started
                started = time.monotonic()
                # Triggers first, then the scores: a crash between them leaves the old scores, and the next run
                # sees the same crossings again, which the latches keep from firing twice. The other way round, a
                # crossing would be lost.
                with transaction.atomic():
                    for key, count in _fire_triggers(workspace, batch, new_scores, triggers, now=now,
                                                     dry_run=dry_run).items():
                        report.fired[key] += count
                seconds["triggers"] += time.monotonic() - started
                if not dry_run:
                    writer.submit(batch, patches)
    finally:
        seconds["write"] = writer.close()
    # Busy seconds of each stage; they overlap (the features of a stripe and the writes run in their own threads).
    report.seconds = {name: round(value, 2) for name, value in {**seconds, "total": time.monotonic() - clock}.items()}
    return report


class _Scorer:
    """Scores, changes and reasons of a batch of contacts with each kind's model in use (built once per scoring)."""

    def __init__(self, workspace_id, in_use: dict, *, now: datetime, report: ScoreReport) -> None:
        self.report = report
        self.explainers: dict[str, TreeExplainer | None] = {}
        self.made_by: dict[str, str] = {}
        self.heads: dict[str, str] = {}
        self.unscored: dict[str, str] = {}
        scored_at = now.isoformat()
        for kind, model in in_use.items():
            report.models[kind] = model.label if model else None
            report.scored[kind] = report.written[kind] = 0
            version = model.label if model else None
            message = NO_ACTIVITY if model is not None else _missing_message(workspace_id, kind)
            self.made_by[kind] = version or message
            self.explainers[kind] = TreeExplainer(lgb.Booster(model_str=model.booster), len(FEATURES)) if model else None
            # Each entry: {"score", "reasons", "model_version", "scored_at"} (+ "message" without a score).
            common = f'"model_version":{_encode(version).decode()},"scored_at":{_encode(scored_at).decode()}'
            self.heads[kind] = f'"{kind}":{{{common},"score":'
            self.unscored[kind] = f'"{kind}":{{{common},"score":null,"reasons":[],"message":{_encode(message).decode()}}}'

    def score(self, batch: Snapshot, *, dry_run: bool) -> tuple[dict[str, np.ndarray], list[list[str]]]:
        """Return the new scores per kind (NaN: no score) and, per row, the JSON members of the entries that
        changed (a new score, or another model or reason for no model behind it); none in a dry run."""
        n = len(batch.contact_ids)
        can_score = batch.active_events > 0
        new_scores: dict[str, np.ndarray] = {}
        patches: list[list[str]] = [[] for _ in range(n)]
        for kind, explainer in self.explainers.items():
            scores = np.full(n, np.nan)
            leaves = None
            if explainer is not None and can_score.any():
                leaves = np.zeros((n, len(explainer.values)), np.int32)
                leaves[can_score] = explainer.leaves(batch.X[can_score])
                scores[can_score] = np.round(explainer.probabilities(leaves[can_score]) * 100)
            new_scores[kind] = scores
            self.report.scored[kind] += int(np.isfinite(scores).sum())
            rows = np.flatnonzero(_changed(batch, kind, scores, self.made_by[kind]))
            self.report.written[kind] += len(rows)
            if dry_run or not len(rows):
                continue
            with_score = rows[np.isfinite(scores[rows])]
            for r in np.setdiff1d(rows, with_score).tolist():
                patches[r].append(self.unscored[kind])
            if len(with_score):
                reasons = _top_reasons(explainer.contributions(leaves[with_score]), batch.X[with_score])
                head = self.heads[kind]
                for r, score, reason in zip(with_score.tolist(), scores[with_score].astype(int).tolist(), reasons,
                                            strict=True):
                    patches[r].append(f'{head}{score},"reasons":[{reason}]}}')
        return new_scores, patches


def _changed(snapshot: Snapshot, kind: str, scores: np.ndarray, made_by: str) -> np.ndarray:
    """Return which rows need writing: a new score, or another model (or reason for no model) behind it."""
    old = snapshot.previous[kind]
    same_score = (old == scores) | (np.isnan(old) & np.isnan(scores))
    same_version = np.array([v == made_by for v in snapshot.previous_versions[kind]], dtype=bool)
    return ~(same_score & same_version)


class _Writer:
    """Write each batch's scores and state: from WRITE_CONNECTIONS threads, each on a connection of its own, so
    that the next batches are scored meanwhile (at most two per thread wait), or at once on the caller's connection
    when not `threaded`. Batches hold distinct contacts: they never wait for each other's row locks.
    Return from `close` the seconds spent writing; a failed write raises there (or at a later `submit`)."""

    def __init__(self, workspace_id, *, threaded: bool) -> None:
        self.workspace_id = workspace_id
        # One single-thread executor per connection: closing each thread's connection at the end is then exact.
        self.threads = [ThreadPoolExecutor(max_workers=1) for _ in range(WRITE_CONNECTIONS if threaded else 0)]
        self.pending: deque[Future] = deque()
        self.submitted = 0
        self.seconds = 0.0

    def submit(self, batch: Snapshot, patches: list[list[str]]) -> None:
        ids = list(map(str, batch.contact_ids))
        scores = io.StringIO()
        for contact_id, members in zip(ids, patches, strict=True):
            if members:
                scores.write(f"{contact_id}\t{{{','.join(members)}}}\n")
        state = _state_text(str(self.workspace_id), ids, batch)
        # Backslashes are COPY's escape character (JSON escapes use them).
        scores_text = scores.getvalue().replace("\\", "\\\\")
        if not self.threads:
            self.seconds += self._write(scores_text, state)
            return
        while len(self.pending) >= 2 * len(self.threads):
            self.seconds += self.pending.popleft().result()
        thread = self.threads[self.submitted % len(self.threads)]
        self.submitted += 1
        self.pending.append(thread.submit(self._write, scores_text, state))

    def close(self) -> float:
        try:
            while self.pending:
                self.seconds += self.pending.popleft().result()
        finally:
            for thread in self.threads:
                # The thread's own connection, back to the pool (the lambda resolves `connection` in that thread).
                thread.submit(lambda: connection.close()).result()
                thread.shutdown()
        return self.seconds

    def _write(self, scores_text: str, state_text: str) -> float:
        """Merge each row's patch into its contact's scores (contacts.ContactScores), then record the batch's
        state, in one transaction (row locks are held for one batch, not the whole run): COPY into temporary
        tables and one upsert each. A contact deleted meanwhile keeps no scores (contacts.score_writes); its
        state may stay, which training sweeps (`orphan_states_delete`). A write that gave way to a deletion
        (a row lock it would have waited for) is written again."""
        started = time.monotonic()
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self._write_once(scores_text, state_text)
                break
            except OperationalError as error:
                if attempt == WRITE_ATTEMPTS or not isinstance(error.__cause__, GAVE_WAY):
                    raise
        return time.monotonic() - started

    def _write_once(self, scores_text: str, state_text: str) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            batch_writes_prepare(cursor)
            if scores_text:
                with cursor.copy("COPY prediction_patch (id, patch) FROM STDIN") as copy:
                    copy.write(scores_text)
                score_writes_hold(cursor, self.workspace_id)
                cursor.execute(SCORES_UPSERT)
            # After the scores (same transaction): the state says what the scores were computed from.
            with cursor.copy("COPY prediction_state (contact_id, workspace_id, due_epoch, lead_score, subscribed, "
                             "tag_count) FROM STDIN") as copy:
                copy.write(state_text)
            cursor.execute(STATE_UPSERT)
            # Back to the transaction's own lock wait, should it be a caller's (score_writes_hold shortened it).
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")


def orphan_states_delete(workspace_id) -> int:
    """Delete the workspace's rescoring states whose contact is gone (erased while its batch was written: the
    states have no foreign key, ContactScoreState). Return how many."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM predictions_contactscorestate s WHERE s.workspace_id = %s AND NOT EXISTS "
                       "(SELECT 1 FROM contacts_contact c WHERE c.id = s.contact_id)", [workspace_id])
        return cursor.rowcount


SCORES_UPSERT = """
    INSERT INTO contacts_contactscores AS s (contact_id, predictions)
    SELECT p.id, p.patch FROM prediction_patch p JOIN contacts_contact c ON c.id = p.id
    ON CONFLICT (contact_id) DO UPDATE SET predictions = s.predictions || excluded.predictions"""
# Not joined to the contacts, unlike the scores: a state carries nothing of the contact's, nothing reads it but
# through its contact, and an orphan is swept by training anyway (the join cost a fifth of the state's upsert).
STATE_UPSERT = """
    INSERT INTO predictions_contactscorestate (contact_id, workspace_id, due_at, lead_score, subscribed, tag_count)
    SELECT s.contact_id, s.workspace_id, to_timestamp(s.due_epoch), s.lead_score, s.subscribed, s.tag_count
    FROM prediction_state s
    ON CONFLICT (contact_id) DO UPDATE SET due_at = excluded.due_at, lead_score = excluded.lead_score,
        subscribed = excluded.subscribed, tag_count = excluded.tag_count"""


def batch_writes_prepare(cursor) -> None:
    """Set up a batch's write transaction: its settings and empty temporary tables for the batch's rows."""
    # Not waiting for the WAL flush at each batch's commit (1.4 s of 13 at 100,000 contacts): a crash may lose the
    # last batches, scores and state together, which leaves the older scores with their older state, hence
    # rescored by the next run. The run's record (predictions_refresh) commits durably after them, and flushes
    # their WAL with its own.
    cursor.execute("SET LOCAL synchronous_commit = off")
    # The batch's rows meet their contacts through its primary key. Planned without statistics for the temporary
    # tables, the upserts hashed the whole contacts table for each batch instead: at a million contacts, 0.3 s and
    # a spill to disk per statement, which made writing grow with the square of the workspace. (And no compiling,
    # which that estimate also set off.)
    cursor.execute("SET LOCAL enable_hashjoin = off")
    cursor.execute("SET LOCAL enable_mergejoin = off")
    cursor.execute("SET LOCAL jit = off")
    # Kept for the session and emptied each time: a caller's outer transaction may span several batches.
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS prediction_patch (id uuid, patch jsonb) ON COMMIT DELETE ROWS")
    # The due time as epoch seconds: COPY text of a timestamp cost 1.5 µs a row to format here.
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS prediction_state (contact_id uuid, workspace_id uuid, "
                   "due_epoch float8, lead_score integer, subscribed boolean, tag_count integer) ON COMMIT DELETE ROWS")
    cursor.execute("TRUNCATE prediction_patch, prediction_state")


def _state_text(workspace_id: str, ids: list[str], batch: Snapshot) -> str:
    """Per contact scored (`ids`: the batch's, as text), the fields read and when its features next change on
    their own (none: no activity, which only a new event ends), as COPY rows."""
    due = np.where(batch.active_events > 0, batch.changes_at, np.inf)
    # repr: the shortest text that reads back as the same float (epoch seconds, to the microsecond).
    null = "\\N"
    return "".join([f"{contact_id}\t{workspace_id}\t{null if at == math.inf else repr(at)}\t{score}\t"
                    f"{'t' if subscribed else 'f'}\t{tags}\n"
                    for contact_id, at, (score, subscribed, tags) in zip(ids, due.tolist(), batch.fields_seen.tolist(),
                                                                          strict=True)])


def _active_triggers(workspace_id) -> list[dict]:
    """Return the configs of the published `trigger_prediction` nodes, from the runtime (named by a setting,
    as the events gateway is: this app sits below the runtime and does not import it)."""
    source = getattr(settings, "PREDICTION_TRIGGERS_SOURCE", "")
    return import_string(source)(workspace_id) if source else []


def _trigger_configs(workspace_id) -> dict[str, dict]:
    """Return the active triggers by key (model, direction, threshold, hysteresis): one firing per key."""
    return {trigger_key(config["model"], config["direction"], config["threshold"], config.get("hysteresis", 5)): config
            for config in _active_triggers(workspace_id)}


def _fire_triggers(workspace, snapshot: Snapshot, new_scores: dict[str, np.ndarray], triggers: dict[str, dict], *,
                   now: datetime, dry_run: bool) -> dict[str, int]:
    return {key: prediction_crossings_fire(workspace=workspace, contact_ids=snapshot.contact_ids,
                                           previous=snapshot.previous[config["model"]],
                                           scores=new_scores[config["model"]], config=config, now=now,
                                           dry_run=dry_run)
            for key, config in triggers.items()}


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
