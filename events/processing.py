"""Asynchronous processing of stored events. PostgreSQL is the queue of record; Redis only carries the jobs.

    events_dispatch()      claim unprocessed events in batches (FOR UPDATE SKIP LOCKED + a lease) and enqueue
                           one RQ job per batch: events.jobs.process_batch(event_ids, ...)
    events_process()       the job's work: lock the still-unprocessed events of the batch, match triggers, hand
                           events + matches to the engine gateway, mark them processed: one transaction
    events_replay()        hand stored events of a time range to the gateway again, explicitly (idempotent for
                           the runtime, which dedupes enrollments by its own constraints)

An event is handed to the gateway by normal processing at most once: the job locks its rows and skips those
already processed or locked by another job; the gateway call and `processed_at` commit together. A lease that
expires (worker died, Redis flushed, enqueue failed) makes the event claimable again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone

from events.gateway import EngineGateway, EventRecord, engine_gateway
from events.triggers import triggers_match

logger = logging.getLogger(__name__)

QUEUE = "events"
LEASE = timedelta(seconds=60)
BATCH_SIZE = 500

_COLUMNS = "id, workspace_id, contact_id, type, occurred_at, properties, flags"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _record(row: Sequence[Any]) -> EventRecord:
    event_id, workspace_id, contact_id, type_, occurred_at, properties, flags = row
    return EventRecord(id=event_id, workspace_id=workspace_id, contact_id=contact_id, type=type_,
                       occurred_at=occurred_at, properties=_json(properties) or {}, flags=_json(flags) or {})


_CLAIM_SQL = """
    WITH claimable AS (
        SELECT id, occurred_at FROM events_event
        WHERE processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < %s)
        ORDER BY id
        LIMIT %s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE events_event e SET claimed_until = %s
    FROM claimable c WHERE e.id = c.id AND e.occurred_at = c.occurred_at
    RETURNING e.id, e.occurred_at
"""


def events_claim(*, batch_size: int = BATCH_SIZE, now: datetime | None = None,
                 lease: timedelta = LEASE) -> list[tuple[int, datetime]]:
    """Claim up to `batch_size` unprocessed, unclaimed (or lease-expired) events, oldest first, for `lease`.

    Two claimers never get the same event: locked rows are skipped, and a row claimed by a transaction that
    committed meanwhile is re-checked against the lease and left out.
    """
    import psycopg

    now = now or timezone.now()
    with transaction.atomic():
        connection.ensure_connection()
        # A prepared statement, on Django's own connection and transaction: planning this UPDATE over every
        # weekly partition costs more (~7 ms) than running it, and the dispatcher runs it 20 times a second.
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_CLAIM_SQL, [now, batch_size, now + lease], prepare=True)
            return sorted(cursor.fetchall())


def _enqueue(event_ids: list[int], first: datetime, last: datetime) -> None:
    import django_rq

    django_rq.get_queue(QUEUE).enqueue(
        "events.jobs.process_batch", event_ids, first, last, job_timeout=int(LEASE.total_seconds()),
        result_ttl=0, failure_ttl=3600,
    )


def events_dispatch(
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int = 50,
    now: datetime | None = None,
    enqueue: Callable[[list[int], datetime, datetime], None] | None = None,
) -> int:
    """Claim unprocessed events in batches and enqueue one `events.jobs.process_batch` job per batch.

    Return the number of events handed out. Stops at the first batch that is not full, or after `max_batches`
    (so one tick stays short). Safe to run in several processes at once. The scheduler calls this every tick.
    """
    enqueue = enqueue or _enqueue
    handed = 0
    for _ in range(max_batches):
        claimed = events_claim(batch_size=batch_size, now=now)
        if not claimed:
            break
        moments = [moment for _, moment in claimed]
        try:
            enqueue([event_id for event_id, _ in claimed], min(moments), max(moments))
        except Exception:
            # The claim stands until its lease expires; then another tick claims these events again.
            logger.exception("Could not enqueue a batch of %s events; they are retried when the lease expires",
                             len(claimed))
            break
        handed += len(claimed)
        if len(claimed) < batch_size:
            break
    return handed


def _queued_batches() -> int:
    import django_rq

    return django_rq.get_queue(QUEUE).count


def events_dispatch_forever(*, interval: float = 0.05, batch_size: int = BATCH_SIZE,
                            should_stop: Callable[[], bool] = lambda: False, max_queued: int | None = None,
                            busy_interval: float | None = None) -> None:
    """Dispatch continuously, keeping the processing lag low.

    - At most `max_queued` batches wait in the RQ queue (settings.EVENTS_DISPATCH_MAX_QUEUED): beyond that,
      events stay in PostgreSQL, unclaimed, and the next claim takes a bigger batch when a worker frees up.
      So batches are small under low load (short lag) and large under high load (cheaper per event), and no
      claim's lease runs out while its job waits behind a long queue.
    - Immediately again after a full batch; after `busy_interval` when some work was found; after `interval`
      when there was none.
    """
    from django.conf import settings

    max_queued = max_queued if max_queued is not None else settings.EVENTS_DISPATCH_MAX_QUEUED
    busy_interval = busy_interval if busy_interval is not None else min(interval, 0.02)
    try:
        _dispatch_loop(interval=interval, batch_size=batch_size, should_stop=should_stop, max_queued=max_queued,
                       busy_interval=busy_interval)  # fmt: skip
    finally:
        connections.close_all()  # this thread's connections (the scheduler runs the loop in a thread)


def _dispatch_loop(*, interval: float, batch_size: int, should_stop: Callable[[], bool], max_queued: int,
                   busy_interval: float) -> None:
    while not should_stop():
        close_old_connections()
        handed = 0
        try:
            if max_queued <= 0 or _queued_batches() < max_queued:
                handed = events_dispatch(batch_size=batch_size, max_batches=1)
            else:
                time.sleep(busy_interval)
                continue
        except Exception:
            logger.exception("Event dispatch failed; retrying")
        if handed == 0:
            time.sleep(interval)
        elif handed < batch_size:
            time.sleep(busy_interval)


def _mark_processed(cursor, records: Sequence[EventRecord], now: datetime) -> None:
    moments = [record.occurred_at for record in records]
    cursor.execute(
        "UPDATE events_event SET processed_at = %s, claimed_until = NULL "
        "WHERE id = ANY(%s) AND occurred_at BETWEEN %s AND %s AND processed_at IS NULL",
        [now, [record.id for record in records], min(moments), max(moments)],
    )


def _hand_over(records: list[EventRecord], gateway: EngineGateway, now: datetime) -> int:
    matches = triggers_match(records, now=now)
    gateway.process(events=records, matches=matches)
    return len(matches)


def events_process(
    *,
    event_ids: Sequence[int],
    first: datetime | None = None,
    last: datetime | None = None,
    gateway: EngineGateway | None = None,
    now: datetime | None = None,
) -> int:
    """Process the still-unprocessed events among `event_ids`; return how many were handed to the gateway.

    `first`/`last` bound their `occurred_at` (partition pruning). Events already processed, or locked by a
    concurrent job, are skipped: running a job twice hands nothing twice. The gateway call and the marking
    commit together; if the gateway raises, nothing is marked and the events are retried after their lease.
    """
    if not event_ids:
        return 0
    gateway = gateway or engine_gateway()
    now = now or timezone.now()
    sql = f"SELECT {_COLUMNS} FROM events_event WHERE id = ANY(%s) AND processed_at IS NULL"
    params: list[Any] = [list(event_ids)]
    if first is not None and last is not None:
        sql += " AND occurred_at BETWEEN %s AND %s"
        params += [first, last]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id FOR UPDATE SKIP LOCKED", params)
        records = [_record(row) for row in cursor.fetchall()]
        if not records:
            return 0
        _hand_over(records, gateway, now)
        _mark_processed(cursor, records, now)
    return len(records)


def events_process_pending(*, batch_size: int = BATCH_SIZE, max_batches: int = 1000) -> int:
    """Claim and process unprocessed events in this process, without RQ (tools, tests, a single-box setup)."""
    total = 0
    for _ in range(max_batches):
        claimed = events_claim(batch_size=batch_size)
        if not claimed:
            break
        moments = [moment for _, moment in claimed]
        total += events_process(event_ids=[event_id for event_id, _ in claimed], first=min(moments),
                                last=max(moments))
    return total


@dataclass
class ReplayResult:
    events: int = 0
    matches: int = 0
    batches: int = 0


def events_replay(
    *,
    since: datetime,
    until: datetime,
    type: str | None = None,
    workspace_id: UUID | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    gateway: EngineGateway | None = None,
) -> ReplayResult:
    """Hand the stored events with `since <= occurred_at < until` (of one type, one workspace) to the gateway
    again, in id order and in batches, each event once per replay; mark the unprocessed ones processed.

    With `dry_run`, count the events and the trigger matches and write nothing (the gateway is not called).
    """
    gateway = gateway or (None if dry_run else engine_gateway())
    result = ReplayResult()
    after = 0
    filters = "occurred_at >= %s AND occurred_at < %s AND id > %s"
    base: list[Any] = [since, until]
    if type is not None:
        filters += " AND type = %s"
    if workspace_id is not None:
        filters += " AND workspace_id = %s"
    while True:
        params = [*base, after]
        if type is not None:
            params.append(type)
        if workspace_id is not None:
            params.append(workspace_id)
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            lock = "" if dry_run else " FOR UPDATE"
            cursor.execute(f"SELECT {_COLUMNS} FROM events_event WHERE {filters} ORDER BY id LIMIT %s{lock}",
                           [*params, batch_size])
            records = [_record(row) for row in cursor.fetchall()]
            if not records:
                break
            if dry_run:
                result.matches += len(triggers_match(records, now=now))
            else:
                result.matches += _hand_over(records, gateway, now)
                _mark_processed(cursor, records, now)
        result.events += len(records)
        result.batches += 1
        after = records[-1].id
        if len(records) < batch_size:
            break
    return result
