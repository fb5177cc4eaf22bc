"""The scoring pass's features: the events' rows read raw from PostgreSQL and aggregated per contact in numpy.

Training reads its snapshots through `predictions.features.snapshots_build`, whose aggregates run in SQL. For the
daily scoring of every contact that SQL was most of the cost: PostgreSQL's hash aggregate of the events into one
group per contact took 3 s of CPU per 100,000 contacts (3 million events), where the scan and classification of
the same rows take 0.6 s. Here PostgreSQL only scans and classifies, and packs each event as a fixed 26-byte
record (contact id, kind, time) into one bytea per day (`string_agg`: one value per query, so no per-row
protocol cost; the binary COPY of the same rows cost 2.4 us a row in psycopg); numpy then counts and takes the
extremes per contact in a few vectorized passes (ufunc.at). The result is the same Snapshot, value for value,
as `snapshots_build(times=[at], with_previous=True)` (tests/predictions hold the two to each other), and
features.py's rules (windows, grids, `changes_at`) are reused as they are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
import psycopg
from django.db import connection, transaction

from predictions.features import (
    _COUNTED,
    _KIND_SQL,
    _KINDS,
    _RECENCY,
    DAY,
    LOOKBACK_DAYS,
    WINDOWS,
    ContactColumns,
    Snapshot,
    _just,
    contact_columns_sql,
    snapshot_from_raw,
)

# One contact as PostgreSQL packs it (_contacts): id, created_at (epoch seconds), score, subscribed, tag count,
# and its stored score of each kind (NaN: none).
CONTACT = np.dtype([("hi", ">u8"), ("lo", ">u8"), ("created", ">f8"), ("score", ">i4"), ("subscribed", ">i4"),
                    ("tags", ">i4"), *((kind, ">f8") for kind in _KINDS)])
# One event as PostgreSQL packs it: uuid_send, int2send, timestamptz_send (microseconds since 2000-01-01).
RECORD = np.dtype([("hi", ">u8"), ("lo", ">u8"), ("k", ">i2"), ("us", ">i8")])
_UNIX_2000_US = 946_684_800_000_000
# The kinds (`k` of features._KIND_SQL: 0-6, and 9 for sends) as slots 0-7.
_SLOTS = 8
_SLOT_OF = np.zeros(10, np.int64)
_SLOT_OF[[0, 1, 2, 3, 4, 5, 6, 9]] = np.arange(_SLOTS)
_ENGAGED_SLOTS = slice(1, 7)  # k 1-6
_SENT_SLOT = 7
_KIND_SLOTS = {"opens": [1], "clicks": [2], "views": [3, 4], "purchases": [5], "engaged": [1, 2, 3, 4, 5, 6]}
_PRICING_SLOT = 4
# Buckets of time before `at`: the last 7 days, 7-28, 28-56, and (4th) before the 56-day window (only possible
# at its edge, where the query's timestamp bound and the windows' float bound can round apart).
_BUCKETS = 4
# A query's events come as one bytea, which PostgreSQL caps at 1 GB: a week of a stripe's events (at most
# scoring.STRIPE_CONTACTS contacts) is ~100 MB at 30 events per contact and month. Daily queries cost 35 % more.
DAYS_PER_QUERY = 7
SELECTIVE_CONTACTS_PER_QUERY = 50_000  # due contacts looked up per query (an id array the index walks)


def scoring_snapshot(*, workspace_id: UUID, at: datetime, only: list[UUID] | None = None,
                     stripe: tuple[UUID | None, UUID | None] = (None, None), threads: int = 0) -> Snapshot:
    """Return the features at `at` of the workspace's contacts in `stripe` ([low, high) of ids, None: unbounded)
    and, when given, in `only`, with their stored scores and when each next changes: what
    `snapshots_build(times=[at], with_previous=True, only=only, stripe=stripe)` returns. `threads`: the events'
    queries run on that many connections of their own (0: all on the caller's, in its transaction)."""
    # In threads, the events' first queries run while the contacts are read here.
    with contextlib.closing(_event_records(workspace_id, at=at, only=only, stripe=stripe, threads=threads)) as events:
        contacts, hi, lo = _contacts(workspace_id, only=only, stripe=stripe)
        counts = _Counts(hi, lo, at)
        for records in events:
            counts.add(records)
    return snapshot_from_raw(contacts, counts.raw(), at, labelled=False)


def _contacts(workspace_id, *, only, stripe) -> tuple[ContactColumns, np.ndarray, np.ndarray]:
    """The contacts of the pass, packed by PostgreSQL as the events are: their fixed-width columns as CONTACT
    records in one bytea, what made their stored scores as one text (fetched as rows, a million contacts cost 8 s
    here, mostly in building the rows' Python objects). With their ids' two halves (uint64, sorted)."""
    expressions, where = contact_columns_sql(only=only is not None, stripe=stripe)
    contact_id, created, score, subscribed, tags = expressions[:5]
    scores, versions = expressions[5:5 + len(_KINDS)], expressions[5 + len(_KINDS):]
    fixed = " || ".join([f"uuid_send({contact_id})", f"float8send({created})", f"int4send({score})",
                         f"int4send(({subscribed})::int)", f"int4send(coalesce({tags}, 0))",
                         *(f"float8send(coalesce({expression}, 'NaN'))" for expression in scores)])
    # Each version as text, the separators (and the mark of none, 0x1d) taken out of it: at worst an entry whose
    # version held one is written again.
    text = " || E'\\x1f' || ".join(f"coalesce(translate({expression}, E'\\x1d\\x1e\\x1f', ''), E'\\x1d')"
                                   for expression in versions)
    sql = (f"SELECT string_agg({fixed}, ''::bytea), string_agg({text}, E'\\x1e') "
           "FROM contacts_contact c LEFT JOIN contacts_contactscores p ON p.contact_id = c.id "
           f"WHERE c.workspace_id = %(ws)s {where}")
    connection.ensure_connection()
    with transaction.atomic(), psycopg.Cursor(connection.connection) as cursor:
        # The two aggregates then see the rows in one order (one aggregation, no parallel partial ones), which
        # the numbering below relies on; sorting each by id in PostgreSQL would cost two sorts.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(sql, {"ws": workspace_id, "only": only, "low": stripe[0], "high": stripe[1]}, binary=True)
        packed, made_by = cursor.fetchone()
    records = np.frombuffer(packed or b"", CONTACT)
    order = np.lexsort((records["lo"], records["hi"]))  # id order: a uuid's bytes compare as (hi, lo)
    records = records[order]
    parts = made_by.replace("\x1e", "\x1f").split("\x1f") if made_by is not None else []
    hi, lo = records["hi"].astype(np.uint64), records["lo"].astype(np.uint64)
    return ContactColumns(
        ids=[UUID(int=(high << 64) | low) for high, low in zip(hi.tolist(), lo.tolist(), strict=True)],
        created=records["created"].astype(np.float64),
        fields=np.column_stack([records[name].astype(np.int64) for name in ("score", "subscribed", "tags")]),
        previous={kind: records[kind].astype(np.float64) for kind in _KINDS},
        previous_versions={kind: [None if parts[3 * row + k] == "\x1d" else parts[3 * row + k]
                                  for row in order.tolist()] for k, kind in enumerate(_KINDS)}), hi, lo


def _event_records(workspace_id, *, at: datetime, only, stripe, threads: int) -> Iterator[np.ndarray] | _InThreads:
    """Return the events of the pass as RECORD arrays, in order, a query's at a time: DAYS_PER_QUERY of the
    lookback each, or SELECTIVE_CONTACTS_PER_QUERY due contacts each. Not a generator itself: in threads, the
    queries start now, not when the first records are asked for."""
    base = {"ws": workspace_id, "low": stripe[0], "high": stripe[1]}
    if only is None:
        queries = [{**base, "since": at - timedelta(days=min(day + DAYS_PER_QUERY, LOOKBACK_DAYS)),
                    "until": at - timedelta(days=day), "only": None}
                   for day in range(0, LOOKBACK_DAYS, DAYS_PER_QUERY)]
    else:
        queries = [{**base, "since": at - timedelta(days=LOOKBACK_DAYS), "until": at,
                    "only": only[begin:begin + SELECTIVE_CONTACTS_PER_QUERY]}
                   for begin in range(0, len(only), SELECTIVE_CONTACTS_PER_QUERY)]
    sql = _events_sql(only=only is not None, stripe=stripe)
    if not threads:
        return _in_order(sql, queries)
    return _InThreads(lambda params: _records(sql, params), queries, threads)


def _in_order(sql: str, queries: list[dict]) -> Iterator[np.ndarray]:
    with transaction.atomic():
        _session_settings()
        for params in queries:
            yield _records(sql, params)


def _events_sql(*, only: bool, stripe) -> str:
    return f"""
        SELECT string_agg(uuid_send(e.contact_id) || int2send(({_KIND_SQL})::int2) || timestamptz_send(e.occurred_at),
                          ''::bytea)
        FROM events_event e
        WHERE e.workspace_id = %(ws)s AND e.contact_id IS NOT NULL
          AND e.occurred_at >= %(since)s AND e.occurred_at < %(until)s
          AND NOT (e.flags @> '{{"bot": true}}'::jsonb) {_just("e.contact_id", only, stripe)}"""


def _session_settings() -> None:
    with connection.cursor() as cursor:
        # Each query is a small scan: compiling it (JIT, which a large workspace's cost estimate would set off)
        # costs more than it saves.
        cursor.execute("SET LOCAL jit = off")


def _records(sql: str, params: dict) -> np.ndarray:
    connection.ensure_connection()
    # psycopg's own cursor: Django's binds parameters client-side, which rules out binary results.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        packed = cursor.fetchone()[0]
    return np.frombuffer(packed or b"", RECORD)


class _InThreads:
    """Run queries on `threads` connections of their own, from now on, and give their results in order (iterate),
    at most two per thread ahead of the reader: a large workspace's would not all fit in memory at once. `close`
    cancels what was not started."""

    def __init__(self, fetch: Callable[[dict], np.ndarray], queries: list[dict], threads: int) -> None:
        self.fetch, self.queries, self.ahead = fetch, queries, 2 * threads
        self.pool = ThreadPoolExecutor(max_workers=threads)
        self.pending = [self.pool.submit(self._in_thread, params) for params in queries[:self.ahead]]

    def _in_thread(self, params: dict) -> np.ndarray:
        try:
            with transaction.atomic():
                _session_settings()
                return self.fetch(params)
        finally:
            connection.close()  # the thread's own connection (Django's are per thread): back to the pool

    def __iter__(self) -> Iterator[np.ndarray]:
        for following in [*self.queries[self.ahead:], *[None] * len(self.pending)]:
            records = self.pending.pop(0).result()
            if following is not None:
                self.pending.append(self.pool.submit(self._in_thread, following))
            yield records

    def close(self) -> None:
        for future in self.pending:
            future.cancel()
        self.pool.shutdown()


class _Counts:
    """Per contact (in id order), event counts by kind and bucket of time, and the kinds' first and last times:
    all that the features need, gathered chunk by chunk."""

    def __init__(self, hi: np.ndarray, lo: np.ndarray, at: datetime) -> None:
        """`hi`, `lo`: the contacts' ids (their two halves, uint64), sorted."""
        self.t = at.timestamp()
        # Window edges exactly as the SQL aggregates compute them (features._snapshot_columns).
        self.edges = [self.t - days * 86400 for days in WINDOWS]
        n = len(hi)
        self.hi, self.lo = hi, lo
        # A direct table from an id's first bits to the range of contacts that start with them (ids are sorted,
        # uuid4s uniform): an event finds its contact in one or two probes where a binary search over a million
        # ids took twenty (0.76 s per 3.75 million events at a million contacts, against 0.34 s).
        self.shift = np.uint64(64 - max(1, (4 * n).bit_length()))
        self.first = np.concatenate([[0], np.cumsum(np.bincount((self.hi >> self.shift).astype(np.int64),
                                                                minlength=1 << (64 - int(self.shift))))])
        # int64, as the updates below: ufunc.at has a fast path when an array and its values share their type
        # (int32 counts were 25 times slower).
        self.count = np.zeros(n * _SLOTS * _BUCKETS, np.int64)
        self.last = np.full(n * _SLOTS, -np.inf)  # the latest time per kind, any bucket
        self.last_in_window = np.full(n, -np.inf)  # the latest time of any kind in the 56-day window
        self.first_engaged = np.full(n * _BUCKETS, np.inf)
        self.first_sent = np.full(n * _BUCKETS, np.inf)

    def _index(self, records: np.ndarray) -> np.ndarray:
        """Each record's contact index, -1 for a contact not in the pass (erased, or outside `only`)."""
        hi, lo = records["hi"].astype(np.uint64), records["lo"].astype(np.uint64)
        prefix = (hi >> self.shift).astype(np.int64)
        candidate, end = self.first[prefix], self.first[prefix + 1]
        index = np.full(len(records), -1, np.int64)
        searching = np.flatnonzero(candidate < end)
        while len(searching):  # the contacts sharing a prefix, one probe each: rarely more than one
            probe = candidate[searching]
            found = (self.hi[probe] == hi[searching]) & (self.lo[probe] == lo[searching])
            index[searching[found]] = probe[found]
            candidate[searching] += 1
            searching = searching[~found]
            searching = searching[candidate[searching] < end[searching]]
        return index

    def add(self, records: np.ndarray) -> None:
        if not len(records):
            return
        index = self._index(records)
        # Epoch seconds, rounded once from exact microseconds as PostgreSQL's extract(epoch)::float8 rounds.
        s = (records["us"].astype(np.int64) + _UNIX_2000_US) / 1e6
        keep = (index >= 0) & (s < self.t)
        index, s, slot = index[keep], s[keep], _SLOT_OF[records["k"][keep].astype(np.int64)]
        week, month, lookback = (s >= edge for edge in self.edges)
        bucket = 3 - week.astype(np.int64) - month - lookback
        np.add.at(self.count, (index * _SLOTS + slot) * _BUCKETS + bucket, 1)
        np.maximum.at(self.last, index * _SLOTS + slot, s)
        np.maximum.at(self.last_in_window, index[lookback], s[lookback])
        engaged = (slot >= _ENGAGED_SLOTS.start) & (slot < _ENGAGED_SLOTS.stop)
        np.minimum.at(self.first_engaged, index[engaged] * _BUCKETS + bucket[engaged], s[engaged])
        sent = slot == _SENT_SLOT
        np.minimum.at(self.first_sent, index[sent] * _BUCKETS + bucket[sent], s[sent])

    def raw(self) -> np.ndarray:
        """The columns features._snapshot_columns computes for one time without a horizon, in its order (NaN
        where SQL gives NULL)."""
        n = len(self.hi)
        count = self.count.reshape(n, _SLOTS, _BUCKETS)

        def within(slots, days: int) -> np.ndarray:  # events of these kinds in the last `days`
            return count[:, slots, :WINDOWS.index(days) + 1].sum(axis=(1, 2)).astype(np.float64)

        columns = [within(_KIND_SLOTS[name], days) for name in _COUNTED for days in WINDOWS]
        columns += [within([_SENT_SLOT], 28), within([_PRICING_SLOT], 28)]
        last = self.last.reshape(n, _SLOTS)
        for name in _RECENCY:
            latest = last[:, _KIND_SLOTS[name]].max(axis=1)
            columns.append(np.where(np.isfinite(latest), (self.t - latest) / 86400.0, np.nan))
        columns.append(count[:, :, :3].sum(axis=(1, 2)).astype(np.float64))
        first_engaged = self.first_engaged.reshape(n, _BUCKETS)
        first_sent = self.first_sent.reshape(n, _BUCKETS)
        for first, days in ((first_engaged[:, 0], 7),
                            (np.minimum(first_engaged[:, :2].min(axis=1), first_sent[:, :2].min(axis=1)), 28),
                            (first_engaged[:, :3].min(axis=1), LOOKBACK_DAYS),
                            (self.last_in_window, LOOKBACK_DAYS)):
            columns.append(np.where(np.isfinite(first), first + days * DAY, np.nan))
        return np.column_stack(columns) if n else np.zeros((0, len(columns)))
