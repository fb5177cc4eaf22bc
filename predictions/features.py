"""Features and labels, computed in SQL in one pass over a workspace's events for one or more snapshot times.

A snapshot at time t sees only the events before t: recency (days since the last engagement, open, page view,
purchase), frequency over 7, 28 and 56 days, email sends, pricing-page views, and the contact's own fields (age,
score, status, tags). With a horizon H, the same pass also reads what happened in [t, t + H): the labels of a
training snapshot. Machine opens (events flagged `bot`) never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
from django.db import connection, transaction

CONVERSION_EVENTS = ("order.completed",)
ENGAGEMENT_EVENTS = ("email.opened", "email.clicked", "email.replied", "page.viewed", "form.submitted",
                     *CONVERSION_EVENTS)
WINDOWS = (7, 28, 56)
LOOKBACK_DAYS = max(WINDOWS)
NEVER_DAYS = 365.0  # "days since" when it never happened in the lookback
# Each event is classified once (`k`), and its time read once as epoch seconds (`s`): the many aggregates below
# then compare small integers and numbers, not text and timestamps with intervals (5 times faster).
_KIND_SQL = f"""CASE
    WHEN e.type = 'email.opened' THEN 1
    WHEN e.type = 'email.clicked' THEN 2
    WHEN e.type = 'page.viewed' THEN (CASE WHEN e.properties->>'url' LIKE '%%/pricing%%' THEN 4 ELSE 3 END)
    WHEN e.type IN ({', '.join(repr(t) for t in CONVERSION_EVENTS)}) THEN 5
    WHEN e.type IN ({', '.join(repr(t) for t in ENGAGEMENT_EVENTS if t not in CONVERSION_EVENTS)}) THEN 6
    WHEN e.type IN ('email.sent', 'email.delivered') THEN 9
    ELSE 0 END"""
_COUNTED = {
    "opens": "k = 1",
    "clicks": "k = 2",
    "views": "k IN (3, 4)",
    "purchases": "k = 5",
    "engaged": "k BETWEEN 1 AND 6",
}
_RECENCY = ("engaged", "opens", "views", "purchases")

# Names of the model's inputs, in column order; the readable sentence each stands for in a reason.
FEATURES: list[str] = (
    [f"{name}_{w}d" for name in _COUNTED for w in WINDOWS]
    + ["sent_28d", "pricing_views_28d"]
    + [f"days_since_{name}" for name in _RECENCY]
    + ["engaged_trend", "open_rate_28d", "age_days", "score", "subscribed", "tags"]
)
_KINDS = ("churn_risk", "conversion", "engagement_decay")  # the order of `previous` in the query


@dataclass
class Snapshot:
    """Features (and labels, when a horizon was given) of every contact at one time."""

    at: datetime
    contact_ids: list[UUID]
    X: np.ndarray  # float32, one row per contact, columns FEATURES
    engaged_after: np.ndarray | None = None
    purchases_after: np.ndarray | None = None
    previous: dict[str, np.ndarray] | None = None  # model kind -> the stored score (NaN: none)
    # model kind -> what the stored entry was made by: its model_version, else its message; None: no entry
    previous_versions: dict[str, list[str | None]] | None = None
    active_events: np.ndarray | None = None  # events of any kind in the lookback (0: nothing to score from)

    def column(self, name: str) -> np.ndarray:
        return self.X[:, FEATURES.index(name)]


def _snapshot_columns(at: datetime, horizon: timedelta | None) -> list[str]:
    """SQL aggregate expressions for the snapshot at `at` (times inlined as epoch numbers that we computed)."""
    t = at.timestamp()

    def window(days: float) -> str:
        return f"s >= {t - days * 86400!r} AND s < {t!r}"

    columns = [f"count(*) FILTER (WHERE {condition} AND {window(w)})"
               for condition in _COUNTED.values() for w in WINDOWS]
    columns.append(f"count(*) FILTER (WHERE k = 9 AND {window(28)})")
    columns.append(f"count(*) FILTER (WHERE k = 4 AND {window(28)})")
    for name in _RECENCY:
        columns.append(f"({t!r} - max(s) FILTER (WHERE {_COUNTED[name]} AND s < {t!r})) / 86400.0")
    columns.append(f"count(*) FILTER (WHERE {window(LOOKBACK_DAYS)})")
    if horizon is not None:
        end = t + horizon.total_seconds()
        for name in ("engaged", "purchases"):
            columns.append(f"count(*) FILTER (WHERE {_COUNTED[name]} AND s >= {t!r} AND s < {end!r})")
    return columns


def snapshots_build(*, workspace_id: UUID, times: list[datetime], horizon: timedelta | None = None,
                    with_previous: bool = False, chunk: int = 50_000) -> list[Snapshot]:
    """Compute a snapshot per time in `times` in one pass over the events (labels too when `horizon` is given)."""
    aggregates, params = [], {"ws": workspace_id}
    for at in times:
        aggregates += _snapshot_columns(at, horizon)
    params["since"] = min(times) - timedelta(days=LOOKBACK_DAYS)
    params["until"] = max(times) + (horizon or timedelta(0))
    width = len(aggregates) // len(times)
    names = ", ".join(f"a{i}" for i in range(len(aggregates)))
    previous = ", ".join([f"(c.predictions->'{kind}'->>'score')::float8" for kind in _KINDS]
                         + [f"CASE WHEN c.predictions ? '{kind}' THEN coalesce(c.predictions->'{kind}'->>'model_version', "
                            f"c.predictions->'{kind}'->>'message', '') END" for kind in _KINDS]) if with_previous else ""
    query = f"""
        WITH agg AS (
            SELECT contact_id, {", ".join(f"{a} AS a{i}" for i, a in enumerate(aggregates))}
            FROM (
                SELECT e.contact_id, {_KIND_SQL} AS k, extract(epoch FROM e.occurred_at)::float8 AS s
                FROM events_event e
                WHERE e.workspace_id = %(ws)s AND e.contact_id IS NOT NULL
                  AND e.occurred_at >= %(since)s AND e.occurred_at < %(until)s
                  AND NOT (e.flags @> '{{"bot": true}}'::jsonb)
                OFFSET 0  -- a fence: without it the planner inlines k and s into every aggregate's filter
            ) AS classified
            GROUP BY contact_id
        )
        SELECT c.id, c.created_at, c.score, c.status = 'subscribed', cardinality(c.tags)
               {", " + previous if previous else ""}, {names}
        FROM contacts_contact c LEFT JOIN agg ON agg.contact_id = c.id
        WHERE c.workspace_id = %(ws)s
        ORDER BY c.id
    """
    parts: list[list[Snapshot]] = []
    # A named (server-side) cursor streams a million contacts; each chunk becomes arrays at once.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(query, params)
        while rows := cursor.fetchmany(chunk):
            parts.append([_snapshot(rows, at, index * width, width, horizon is not None, with_previous)
                          for index, at in enumerate(times)])
    if not parts:
        parts.append([_snapshot([], at, 0, width, horizon is not None, with_previous) for at in times])
    return [_concatenate([part[index] for part in parts]) for index in range(len(times))]


def _concatenate(pieces: list[Snapshot]) -> Snapshot:
    if len(pieces) == 1:
        return pieces[0]

    def joined(name):
        values = [getattr(piece, name) for piece in pieces]
        return None if values[0] is None else np.concatenate(values)

    first = pieces[0]
    return Snapshot(
        at=first.at, contact_ids=[cid for piece in pieces for cid in piece.contact_ids],
        X=np.concatenate([piece.X for piece in pieces]), engaged_after=joined("engaged_after"),
        purchases_after=joined("purchases_after"), active_events=joined("active_events"),
        previous=None if first.previous is None else {
            kind: np.concatenate([piece.previous[kind] for piece in pieces]) for kind in first.previous},
        previous_versions=None if first.previous_versions is None else {
            kind: [v for piece in pieces for v in piece.previous_versions[kind]] for kind in first.previous_versions},
    )


def _snapshot(rows: list[tuple], at: datetime, offset: int, width: int, labelled: bool,
              with_previous: bool) -> Snapshot:
    fixed = 5 + (2 * len(_KINDS) if with_previous else 0)
    n = len(rows)
    if n == 0:
        return Snapshot(at=at, contact_ids=[], X=np.zeros((0, len(FEATURES)), np.float32),
                        engaged_after=np.zeros(0), purchases_after=np.zeros(0), active_events=np.zeros(0),
                        previous={kind: np.zeros(0) for kind in _KINDS} if with_previous else None,
                        previous_versions={kind: [] for kind in _KINDS} if with_previous else None)
    raw = np.array([row[fixed + offset:fixed + offset + width] for row in rows], dtype=np.float64)
    n_counts = len(_COUNTED) * len(WINDOWS) + 2
    counts = np.nan_to_num(raw[:, :n_counts])
    recency = np.minimum(np.nan_to_num(raw[:, n_counts:n_counts + len(_RECENCY)], nan=NEVER_DAYS), NEVER_DAYS)
    position = n_counts + len(_RECENCY)
    engaged = {w: counts[:, list(_COUNTED).index("engaged") * len(WINDOWS) + k] for k, w in enumerate(WINDOWS)}
    opens_28 = counts[:, list(_COUNTED).index("opens") * len(WINDOWS) + 1]
    sent_28 = counts[:, len(_COUNTED) * len(WINDOWS)]
    X = np.column_stack([
        counts, recency,
        engaged[7] * 4 / (engaged[28] + 1.0),  # trend: the last week against the month
        opens_28 / np.maximum(sent_28, 1.0),
        np.array([(at - row[1]).total_seconds() / 86400.0 for row in rows]),
        np.array([row[2] for row in rows], dtype=np.float64),
        np.array([1.0 if row[3] else 0.0 for row in rows]),
        np.array([row[4] or 0 for row in rows], dtype=np.float64),
    ]).astype(np.float32)
    snapshot = Snapshot(at=at, contact_ids=[row[0] for row in rows], X=X,
                        active_events=np.nan_to_num(raw[:, position]))
    if labelled:
        snapshot.engaged_after = np.nan_to_num(raw[:, position + 1])
        snapshot.purchases_after = np.nan_to_num(raw[:, position + 2])
    if with_previous:
        snapshot.previous = {kind: np.array([np.nan if row[5 + k] is None else row[5 + k] for row in rows],
                                            dtype=np.float64) for k, kind in enumerate(_KINDS)}
        snapshot.previous_versions = {kind: [row[5 + len(_KINDS) + k] for row in rows]
                                      for k, kind in enumerate(_KINDS)}
    return snapshot
