"""Asynchronous processing of stored events. PostgreSQL is the queue of record; Redis only carries the jobs.

    events_dispatch()      claim unprocessed events in batches (FOR UPDATE SKIP LOCKED + a lease) and enqueue
                           one RQ job per batch: events.jobs.process_batch(event_ids, ...)
    events_process()       the job's work: lock the still-unprocessed events of the batch, hand them to the engine
                           gateway (which finds the triggers they start), mark them processed: one transaction
    events_replay()        hand stored events of a time range to the gateway again, explicitly (idempotent for
                           the runtime, which dedupes enrollments by its own constraints)

An event is handed to the gateway by normal processing at most once: the job locks its rows and skips those
already processed or locked by another job; the gateway call and `processed_at` commit together. A lease that
expires (worker died, Redis flushed, enqueue failed) makes the event claimable again.

A poison event never blocks the queue. When a batch raises, its events are processed one by one, each in its own
transaction, so the others go through; each one that still raises has the failure counted (`attempts`,
`last_error`) and is claimable again only after an exponential backoff. After `MAX_ATTEMPTS` failures it is parked
(`parked_at`, out of the queue), visible in the admin and at `GET /api/v1/events/parked`, and replayed by a
person (`events_unpark`). An event whose timestamp Python cannot hold (outside years 1-9999 in UTC, stored before
ingestion refused them) is parked by the claim itself, since no reader could even load it. Infrastructure errors
(a lost database connection) are not the event's fault: they are not counted, and the lease brings the batch back.
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

from django.conf import settings
from django.db import (
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.utils import timezone

from events.gateway import EngineGateway, EventRecord, engine_gateway
from penguinflow.common.db import CONNECTION_ERRORS, claim_by_index_walk
from penguinflow.common.errors import storable_error_line
from penguinflow.common.queues import kept_queue

logger = logging.getLogger(__name__)

QUEUE = "events"
# How long a claimed batch is its job's (EVENTS_LEASE_SECONDS, 60): a batch whose job is lost (its worker died,
# Redis was flushed, the database dropped its connection) is claimed again after it. It is also the job's timeout.
LEASE = timedelta(seconds=settings.EVENTS_LEASE_SECONDS)
BATCH_SIZE = 500
# A failing event is tried again after 10 s, 20 s, 40 s, 80 s, then parked: about 2.5 minutes of retries, long
# enough to ride out a deploy of a fixed bug, short enough that ops see the parked event the same hour.
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 900

_COLUMNS = "id, workspace_id, contact_id, type, occurred_at, properties, flags"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _record(row: Sequence[Any]) -> EventRecord:
    event_id, workspace_id, contact_id, type_, occurred_at, properties, flags = row
    return EventRecord(id=event_id, workspace_id=workspace_id, contact_id=contact_id, type=type_,
                       occurred_at=occurred_at, properties=_json(properties) or {}, flags=_json(flags) or {})


# Rows whose `occurred_at` a Python datetime cannot hold are parked here rather than claimed: returning their
# timestamp would make the claim itself fail, for every event behind them.
_CLAIM_SQL = """
    WITH claimable AS (
        SELECT id, occurred_at,
               occurred_at BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00' AS readable
        FROM events_event
        WHERE processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < %(now)s)
        ORDER BY id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE events_event e SET
        claimed_until = CASE WHEN c.readable THEN %(until)s END,
        processed_at = CASE WHEN c.readable THEN NULL ELSE %(now)s END,
        parked_at = CASE WHEN c.readable THEN NULL ELSE %(now)s END,
        last_error = CASE WHEN c.readable THEN e.last_error
                          ELSE 'occurred_at is outside years 1-9999 (UTC): no reader can load this event' END
    FROM claimable c WHERE e.id = c.id AND e.occurred_at = c.occurred_at
    RETURNING e.id, CASE WHEN c.readable THEN e.occurred_at END
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
            # Each partition's unprocessed index walked in id order and merged, up to the LIMIT: not a bitmap scan
            # of them all and a sort (30 ms a claim behind a backlog of 30,000 events in `bench soak`).
            claim_by_index_walk(cursor)
            cursor.execute(_CLAIM_SQL, {"now": now, "limit": batch_size, "until": now + lease}, prepare=True)
            claimed = cursor.fetchall()
    parked = [event_id for event_id, moment in claimed if moment is None]
    if parked:
        logger.warning("Parked %d events whose occurred_at no reader can load: %s", len(parked), parked[:20])
    return sorted((event_id, moment) for event_id, moment in claimed if moment is not None)


def _enqueue(event_ids: list[int], first: datetime, last: datetime) -> None:
    kept_queue(QUEUE).enqueue(
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
    return kept_queue(QUEUE).count


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


def _hand_over(records: list[EventRecord], gateway: EngineGateway, now: datetime) -> None:
    gateway.process(events=records, now=now)


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
    commit together. If the batch raises, its events are processed one by one so that the others go through,
    and each that still raises has its failure recorded (retried after a backoff, parked after `MAX_ATTEMPTS`).
    """
    if not event_ids:
        return 0
    gateway = gateway or engine_gateway()
    now = now or timezone.now()
    try:
        return _process_together(event_ids, first, last, gateway, now)
    except _INFRASTRUCTURE_ERRORS:
        raise  # not the events' fault: the lease brings the batch back
    except Exception as error:
        if len(event_ids) == 1:
            _record_failure(event_ids[0], error, now)
            return 0
        logger.warning("A batch of %d events failed (%s: %s); processing them one by one", len(event_ids),
                       type(error).__name__, error)
    return _process_one_by_one(event_ids, gateway, now)


def _process_together(event_ids: Sequence[int], first: datetime | None, last: datetime | None,
                      gateway: EngineGateway, now: datetime) -> int:
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


def _process_one_by_one(event_ids: Sequence[int], gateway: EngineGateway, now: datetime) -> int:
    processed = 0
    for event_id in sorted(event_ids):
        try:
            processed += _process_together([event_id], None, None, gateway, now)
        except _INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:
            _record_failure(event_id, error, now)
    return processed


_INFRASTRUCTURE_ERRORS = CONNECTION_ERRORS

_FAILURE_SQL = """
    UPDATE events_event SET
        attempts = attempts + 1,
        last_error = %(error)s,
        claimed_until = CASE WHEN attempts + 1 >= %(max)s THEN NULL
                             ELSE %(now)s + make_interval(secs => LEAST(%(base)s * power(2, attempts), %(cap)s)) END,
        parked_at = CASE WHEN attempts + 1 >= %(max)s THEN %(now)s END,
        processed_at = CASE WHEN attempts + 1 >= %(max)s THEN %(now)s END
    WHERE id = %(id)s AND processed_at IS NULL
    RETURNING attempts, parked_at IS NOT NULL
"""


def _record_failure(event_id: int, error: BaseException, now: datetime) -> None:
    """Count a failed attempt at one event: retry it after a backoff, or park it after `MAX_ATTEMPTS`."""
    line = storable_error_line(error)
    with connection.cursor() as cursor:
        cursor.execute(_FAILURE_SQL, {"error": line, "max": MAX_ATTEMPTS, "now": now,
                                      "base": RETRY_BASE_SECONDS, "cap": RETRY_MAX_SECONDS, "id": event_id})
        row = cursor.fetchone()
    if row is None:
        return
    attempts, parked = row
    if parked:
        logger.error("Event %s parked after %d failed attempts: %s", event_id, attempts, line)
    else:
        logger.warning("Event %s failed (attempt %d of %d), retried after a backoff: %s", event_id, attempts,
                       MAX_ATTEMPTS, line)


def events_unpark(*, workspace_id: UUID, event_ids: Sequence[int] | None = None) -> int:
    """Put parked events of a workspace (all, or those of `event_ids`) back in the queue; return how many.

    Their attempts start again from zero; the dispatcher claims them on its next tick.
    """
    sql = ("UPDATE events_event SET processed_at = NULL, parked_at = NULL, claimed_until = NULL, attempts = 0 "
           "WHERE workspace_id = %s AND parked_at IS NOT NULL")
    params: list[Any] = [workspace_id]
    if event_ids is not None:
        sql += " AND id = ANY(%s)"
        params.append(list(event_ids))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


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

    `matches` counts the entries the events offer to triggers (`EngineGateway.count_entries`). With `dry_run`,
    count the events and those entries and write nothing (the gateway only counts).
    """
    gateway = gateway or engine_gateway()
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
            result.matches += gateway.count_entries(events=records, now=now)
            if not dry_run:
                _hand_over(records, gateway, now)
                _mark_processed(cursor, records, now)
        result.events += len(records)
        result.batches += 1
        after = records[-1].id
        if len(records) < batch_size:
            break
    return result
