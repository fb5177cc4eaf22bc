"""Features and labels, computed in SQL in one pass over a workspace's events for one or more snapshot times.

A snapshot at time t sees only the events before t: recency (days since the last engagement, open, page view,
purchase), frequency over 7, 28 and 56 days, email sends, pricing-page views, and the contact's own fields (age,
score, status, tags). With a horizon H, the same pass also reads what happened in [t, t + H): the labels of a
training snapshot. Machine opens (events flagged `bot`) never count.

Recency and age are kept on a grid of days (`RECENCY_GRID_DAYS`, `AGE_GRID_DAYS`: a value is the grid point at or
below it), so that with no new event they change at known times, not every day. A scoring snapshot also says, per
contact, when its features next change on their own (`Snapshot.changes_at`): the daily rescore skips a contact
until then unless it has a new event or its fields changed (predictions.scoring, the rescoring rule).

Training reads its snapshots here. Scoring reads the same features for one time through
predictions.scoring_features, which counts the events in numpy: cheaper for a single time, and equal value for
value (tests/predictions/test_scoring_features.py).
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
# Grids of days: finer where a day matters more. A contact last seen 9 days ago reads 7 until day 10.
RECENCY_GRID_DAYS = np.array([0, 1, 2, 3, 5, 7, 10, 14, 21, 28, 42, LOOKBACK_DAYS], np.float64)
AGE_GRID_DAYS = np.array([0, 7, 14, 30, 60, 90, 180, 365, 730, 1095], np.float64)
DAY = 86400.0
# The aggregate keeps ~0.6 kB of state per contact (its 40-odd counts and extremes). With the default 4 MB it
# spilled to disk in 21 batches, a sixth of the pass's CPU (measured at 100,000 contacts: 4.3 s -> 3.7 s);
# PostgreSQL grants a hash table work_mem x hash_mem_multiplier (2 by default), so 128 MB holds 250,000
# contacts (a larger workspace's pass spills, as correct and slower). Local to the pass's transaction.
AGGREGATE_WORK_MEM = "128MB"
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
    # Epoch seconds from which the features may differ with no new event and no change of the contact's fields
    # (an event leaving a window, recency or age reaching its next grid point); inf: never. Scoring snapshots only.
    changes_at: np.ndarray | None = None
    fields_seen: np.ndarray | None = None  # int64 (score, subscribed, tags): the contact fields the features read

    def column(self, name: str) -> np.ndarray:
        return self.X[:, FEATURES.index(name)]

    def rows(self, keep: np.ndarray) -> Snapshot:
        """Return the snapshot of the rows where `keep` (a boolean mask) holds."""
        def part(values):
            return None if values is None else values[keep]

        index = np.flatnonzero(keep).tolist()
        return Snapshot(
            at=self.at, contact_ids=[self.contact_ids[i] for i in index], X=self.X[keep],
            engaged_after=part(self.engaged_after), purchases_after=part(self.purchases_after),
            active_events=part(self.active_events), changes_at=part(self.changes_at),
            fields_seen=part(self.fields_seen),
            previous=None if self.previous is None else {k: v[keep] for k, v in self.previous.items()},
            previous_versions=None if self.previous_versions is None else {
                k: [v[i] for i in index] for k, v in self.previous_versions.items()},
        )


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
    if horizon is None:  # when each window's oldest counted event leaves it (k 9: sent_28d), and the last event
        for days, kinds in ((7, "k BETWEEN 1 AND 6"), (28, "(k BETWEEN 1 AND 6 OR k = 9)"), (56, "k BETWEEN 1 AND 6")):
            columns.append(f"min(s) FILTER (WHERE {kinds} AND {window(days)}) + {days * DAY!r}")
        columns.append(f"max(s) FILTER (WHERE {window(LOOKBACK_DAYS)}) + {LOOKBACK_DAYS * DAY!r}")
    else:
        end = t + horizon.total_seconds()
        for name in ("engaged", "purchases"):
            columns.append(f"count(*) FILTER (WHERE {_COUNTED[name]} AND s >= {t!r} AND s < {end!r})")
    return columns


def snapshots_build(*, workspace_id: UUID, times: list[datetime], horizon: timedelta | None = None,
                    with_previous: bool = False, only: list[UUID] | None = None,
                    stripe: tuple[UUID | None, UUID | None] = (None, None), jit: bool = True,
                    chunk: int = 50_000) -> list[Snapshot]:
    """Compute a snapshot per time in `times` in one pass over the events (labels too when `horizon` is given;
    else when each contact's features next change on their own). `only`: just these contacts; `stripe`: just the
    contacts whose id is in [low, high) (None: unbounded), so that a caller can split the pass over connections.
    `jit`: let PostgreSQL compile the aggregates (about 1 s, which pays back from ~70,000 contacts)."""
    aggregates, params = [], {"ws": workspace_id, "low": stripe[0], "high": stripe[1]}
    for at in times:
        aggregates += _snapshot_columns(at, horizon)
    params["since"] = min(times) - timedelta(days=LOOKBACK_DAYS)
    params["until"] = max(times) + (horizon or timedelta(0))
    params["only"] = only
    width = len(aggregates) // len(times)
    names = ", ".join(f"a{i}" for i in range(len(aggregates)))
    contact_columns, contacts_where = contact_columns_sql(only=only is not None, stripe=stripe,
                                                          with_previous=with_previous)
    contact_columns = ", ".join(contact_columns)
    query = f"""
        WITH agg AS (
            SELECT contact_id, {", ".join(f"{a} AS a{i}" for i, a in enumerate(aggregates))}
            FROM (
                SELECT e.contact_id, {_KIND_SQL} AS k, extract(epoch FROM e.occurred_at)::float8 AS s
                FROM events_event e
                WHERE e.workspace_id = %(ws)s AND e.contact_id IS NOT NULL
                  AND e.occurred_at >= %(since)s AND e.occurred_at < %(until)s
                  AND NOT (e.flags @> '{{"bot": true}}'::jsonb) {_just("e.contact_id", only is not None, stripe)}
                OFFSET 0  -- a fence: without it the planner inlines k and s into every aggregate's filter
            ) AS classified
            GROUP BY contact_id
        )
        SELECT {contact_columns}, {names}
        FROM contacts_contact c LEFT JOIN agg ON agg.contact_id = c.id
             {"LEFT JOIN contacts_contactscores p ON p.contact_id = c.id" if with_previous else ""}
        WHERE c.workspace_id = %(ws)s {contacts_where}
        ORDER BY c.id
    """
    parts: list[list[Snapshot]] = []
    # A named (server-side) cursor streams a million contacts; each chunk becomes arrays at once.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        with connection.cursor() as settings:
            # All the rows are read: plan for the whole result, not for the first tenth as for a cursor by default
            # (a stripe's query then read the events through the contact index, in random order: 5 times slower).
            settings.execute(f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'")
            settings.execute("SET LOCAL cursor_tuple_fraction = 1")
            if not jit:
                settings.execute("SET LOCAL jit = off")
        cursor.execute(query, params)
        while rows := cursor.fetchmany(chunk):
            parts.append([_snapshot(rows, at, index * width, width, horizon is not None, with_previous)
                          for index, at in enumerate(times)])
    if not parts:
        parts.append([_snapshot([], at, 0, width, horizon is not None, with_previous) for at in times])
    return [concatenate([part[index] for part in parts]) for index in range(len(times))]


def _just(column: str, only: bool, stripe: tuple[UUID | None, UUID | None]) -> str:
    """The SQL condition keeping `column`'s contacts to the `only` list and the stripe's id range."""
    just = "" if not only else f"AND {column} = ANY(%(only)s::uuid[])"
    just += "" if stripe[0] is None else f" AND {column} >= %(low)s::uuid"
    just += "" if stripe[1] is None else f" AND {column} < %(high)s::uuid"
    return just


def contact_columns_sql(*, only: bool, stripe: tuple[UUID | None, UUID | None],
                        with_previous: bool = True) -> tuple[list[str], str]:
    """Return a snapshot's leading columns, read from contacts `c` (and their scores `p`, `with_previous`), and
    the condition selecting its contacts: the part of a snapshot's row that does not come from the events."""
    columns = ["c.id", "extract(epoch FROM c.created_at)::float8", "c.score", "c.status = 'subscribed'",
               "cardinality(c.tags)"]
    if with_previous:
        columns += [f"(p.predictions->'{kind}'->>'score')::float8" for kind in _KINDS]
        columns += [f"CASE WHEN p.predictions ? '{kind}' THEN coalesce(p.predictions->'{kind}'->>'model_version', "
                    f"p.predictions->'{kind}'->>'message', '') END" for kind in _KINDS]
    return columns, _just("c.id", only, stripe)


def concatenate(pieces: list[Snapshot]) -> Snapshot:
    """Return the snapshot of the pieces' rows, in their order (pieces of one time)."""
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
        changes_at=joined("changes_at"), fields_seen=joined("fields_seen"),
        previous=None if first.previous is None else {
            kind: np.concatenate([piece.previous[kind] for piece in pieces]) for kind in first.previous},
        previous_versions=None if first.previous_versions is None else {
            kind: [v for piece in pieces for v in piece.previous_versions[kind]] for kind in first.previous_versions},
    )


def on_grid(days: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the grid point at or below each value (a value below the grid is kept: a contact not yet created has
    a negative age), and how many days until the value changes (inf: past the last point)."""
    index = np.searchsorted(grid, days, side="right") - 1
    below = np.where(index >= 0, grid[np.maximum(index, 0)], days)
    following = np.append(grid, np.inf)[index + 1]
    return below, following - days


_EMPTY = {"engaged_after": np.zeros(0), "purchases_after": np.zeros(0), "active_events": np.zeros(0),
          "changes_at": np.zeros(0), "fields_seen": np.zeros((0, 3), np.int64)}


@dataclass
class ContactColumns:
    """A snapshot's contacts, in id order: what it reads from the contact rather than from the events."""

    ids: list[UUID]
    created: np.ndarray  # epoch seconds (float64)
    fields: np.ndarray  # int64 (score, subscribed, tags)
    previous: dict[str, np.ndarray] | None = None  # as Snapshot.previous (None: not asked for)
    previous_versions: dict[str, list[str | None]] | None = None

    @classmethod
    def of_rows(cls, rows: list[tuple], *, with_previous: bool) -> ContactColumns:
        """From rows whose leading columns are contact_columns_sql's."""
        columns = cls(ids=[row[0] for row in rows], created=np.array([row[1] for row in rows], np.float64),
                      fields=np.array([(row[2], 1 if row[3] else 0, row[4] or 0) for row in rows],
                                      dtype=np.int64).reshape(len(rows), 3))
        if with_previous:
            columns.previous = {kind: np.array([np.nan if row[5 + k] is None else row[5 + k] for row in rows],
                                               dtype=np.float64) for k, kind in enumerate(_KINDS)}
            columns.previous_versions = {kind: [row[5 + len(_KINDS) + k] for row in rows]
                                         for k, kind in enumerate(_KINDS)}
        return columns


def _snapshot(rows: list[tuple], at: datetime, offset: int, width: int, labelled: bool,
              with_previous: bool) -> Snapshot:
    fixed = 5 + (2 * len(_KINDS) if with_previous else 0)
    raw = np.array([row[fixed + offset:fixed + offset + width] for row in rows], dtype=np.float64)
    return snapshot_from_raw(ContactColumns.of_rows(rows, with_previous=with_previous), raw, at, labelled=labelled)


def snapshot_from_raw(contacts: ContactColumns, raw: np.ndarray, at: datetime, *, labelled: bool) -> Snapshot:
    """Return the snapshot of the contacts and the aggregates of their events at `at` (`raw`: _snapshot_columns'
    values in its order, NaN for NULL)."""
    with_previous = contacts.previous is not None
    if not contacts.ids:
        return Snapshot(at=at, contact_ids=[], X=np.zeros((0, len(FEATURES)), np.float32), **_EMPTY,
                        previous={kind: np.zeros(0) for kind in _KINDS} if with_previous else None,
                        previous_versions={kind: [] for kind in _KINDS} if with_previous else None)
    n_counts = len(_COUNTED) * len(WINDOWS) + 2
    counts = np.nan_to_num(raw[:, :n_counts])
    exact_recency = np.minimum(np.nan_to_num(raw[:, n_counts:n_counts + len(_RECENCY)], nan=NEVER_DAYS), NEVER_DAYS)
    recency, recency_next = on_grid(exact_recency, RECENCY_GRID_DAYS)
    recency[exact_recency >= NEVER_DAYS] = NEVER_DAYS
    position = n_counts + len(_RECENCY)
    engaged = {w: counts[:, list(_COUNTED).index("engaged") * len(WINDOWS) + k] for k, w in enumerate(WINDOWS)}
    opens_28 = counts[:, list(_COUNTED).index("opens") * len(WINDOWS) + 1]
    sent_28 = counts[:, len(_COUNTED) * len(WINDOWS)]
    fields = contacts.fields
    # created_at comes as epoch seconds: parsing 100,000 timestamps into datetimes cost 0.5 s.
    age, age_next = on_grid((at.timestamp() - contacts.created) / DAY, AGE_GRID_DAYS)
    X = np.column_stack([
        counts, recency,
        engaged[7] * 4 / (engaged[28] + 1.0),  # trend: the last week against the month
        opens_28 / np.maximum(sent_28, 1.0),
        age, fields.astype(np.float64),
    ]).astype(np.float32)
    snapshot = Snapshot(at=at, contact_ids=contacts.ids, X=X, fields_seen=fields,
                        active_events=np.nan_to_num(raw[:, position]))
    if labelled:
        snapshot.engaged_after = np.nan_to_num(raw[:, position + 1])
        snapshot.purchases_after = np.nan_to_num(raw[:, position + 2])
    else:
        exits = np.nan_to_num(raw[:, position + 1:position + 5], nan=np.inf).min(axis=1)
        drift = np.minimum(recency_next.min(axis=1), age_next) * DAY + at.timestamp()
        snapshot.changes_at = np.minimum(exits, drift)
    snapshot.previous, snapshot.previous_versions = contacts.previous, contacts.previous_versions
    return snapshot
