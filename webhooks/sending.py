"""Attempts: each claimed delivery POSTed, signed, to its subscription's URL through the outbound guard.

A worker process keeps one pool of sender threads (`Sender`), shared by its jobs, so that an endpoint that hangs
costs only its own deliveries:

- a job splits its batch into chunks of one subscription (at most CHUNK deliveries), hands them to the pool
  and returns to take the next batch (it waits only while the pool is full);
- a sender thread keeps its connections alive from chunk to chunk (each request still checked by the guard);
- a recorder thread writes the outcomes of all chunks in batches, so no job waits for a slow endpoint;
- a subscription has at most WEBHOOKS_PER_SUBSCRIPTION chunks under way in a process: more are released (due
  again a moment later, no attempt counted), so a hanging endpoint holds a few threads, not the pool;
- in a chunk, an attempt that gets no answer (timeout, refused connection) ends the chunk: the rest is released
  until the subscription's block ends (see `webhooks.outcomes`); no attempt starts after CHUNK_DEADLINE_S.

Every attempt has one deadline (WEBHOOKS_TIMEOUT_SECONDS for connect, send and answer), reads at most
BODY_KEPT_BYTES of the answer, follows no redirect (a 3xx is a failed attempt) and reaches only addresses the
guard allows, checked at each attempt (the name is resolved again). The pool lives in the worker process: run RQ's SimpleWorker, as
`run_all` does (in a forking worker's work horse the job waits for its own attempts, see `webhooks.jobs`).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection

from penguinflow.outbound.addresses import OutboundRefused, allowed_networks
from penguinflow.outbound.client import Connections, OutboundFailed, Resolver, send, system_resolver
from penguinflow.outbound.retry_after import retry_after_of
from penguinflow.outbound.signing import signature_headers
from webhooks.outcomes import Outcome, outcomes_record
from webhooks.schedule import BODY_KEPT_BYTES, MAX_RETRY_AFTER, attempt_timeout, no_answer_pause

logger = logging.getLogger(__name__)

USER_AGENT = "PenguinFlow-Webhooks/1"
CHUNK = 20
KEEP_ALIVE_S = 4.0
STALE_FAILURE_MS = 200
RECORD_EVERY_S = 0.05
RECORD_MAX = 1000
CHUNK_DEADLINE_S = 30.0
RELEASE_FOR = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed delivery, with what its attempt needs."""

    delivery_id: UUID
    subscription_id: UUID
    url: str
    secrets: tuple[str, ...]
    msg_id: str
    payload: str
    round_attempts: int


def attempt_once(item: Attempt, *, connections: Connections | None = None, resolver: Resolver = system_resolver,
                 timeout_s: float | None = None) -> Outcome:
    """POST the delivery once and return its outcome (never raises for anything the endpoint does)."""
    timeout_s = attempt_timeout() if timeout_s is None else timeout_s
    at = datetime.now(UTC)
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json",
               **signature_headers(secrets_in_use=item.secrets, msg_id=item.msg_id, timestamp=at, body=item.payload)}
    started = time.monotonic()
    common = {"delivery_id": item.delivery_id, "subscription_id": item.subscription_id,
              "round_attempts": item.round_attempts, "at": at}
    try:
        response = send(method="POST", url=item.url, headers=headers, body=item.payload.encode(),
                        timeout_s=timeout_s, allowed=allowed_networks(), resolver=resolver,
                        max_body=BODY_KEPT_BYTES, connections=connections)
    except OutboundRefused as error:
        return Outcome(**common, latency_ms=_ms(started), error=f"Refused by the outbound guard: {error}")
    except OutboundFailed as error:
        return Outcome(**common, latency_ms=_ms(started), error=str(error), no_answer=True)
    error = ""
    if 300 <= response.status < 400:
        error = "Redirects are not followed: answer 2xx at the subscription's URL."
    retry_after = None
    if response.status in (429, 503):
        retry_after = retry_after_of(response.headers.get("retry-after"), cap=MAX_RETRY_AFTER)
    return Outcome(**common, status_code=response.status, latency_ms=response.elapsed_ms,
                   body=response.body.decode("utf-8", errors="replace"), error=error, retry_after=retry_after)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _released(item: Attempt, until: datetime) -> Outcome:
    return Outcome(delivery_id=item.delivery_id, subscription_id=item.subscription_id,
                   round_attempts=item.round_attempts, at=datetime.now(UTC), attempted=False, release_until=until)


class _Recorder:
    """Writes the outcomes of every chunk of the process in batches, from a thread of its own: one transaction
    for many chunks, and no job waits for a slow endpoint to record the others. Outcomes still in memory when
    the process dies are not lost work: their deliveries' leases expire and they are attempted again (at least
    once; receivers deduplicate on webhook-id)."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[list[Outcome]] = queue.SimpleQueue()
        self.written = threading.Condition()
        self.pending = 0
        threading.Thread(target=self._loop, name="webhook-recorder", daemon=True).start()

    def put(self, outcomes: list[Outcome]) -> None:
        if outcomes:
            with self.written:
                self.pending += len(outcomes)
            self.queue.put(outcomes)

    def _loop(self) -> None:
        while True:
            batch = list(self.queue.get())
            deadline = time.monotonic() + RECORD_EVERY_S
            while len(batch) < RECORD_MAX and (left := deadline - time.monotonic()) > 0:
                try:
                    batch += self.queue.get(timeout=left)
                except queue.Empty:
                    break
            try:
                outcomes_record(batch)
            except Exception:
                logger.exception("Could not record %d webhook outcomes; their leases bring them back", len(batch))
                connection.close()
            if self.queue.empty():
                connection.close()  # idle: the connection goes back to the process's pool
            with self.written:
                self.pending -= len(batch)
                self.written.notify_all()


class Sender:
    """The process's sender threads, its recorder, and what is under way: chunks per subscription (at most
    ``per_subscription``) and the deliveries themselves (a job run twice at once attempts nothing twice)."""

    def __init__(self, *, threads: int, per_subscription: int, resolver: Resolver = system_resolver) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-sender")
        # Backpressure: a job waits while the pool has this many chunks started or queued, so a worker takes
        # no more batches than it can send (their leases would run out in the queue).
        self.capacity = threading.BoundedSemaphore(threads * 2)
        self.per_subscription = per_subscription
        self.resolver = resolver
        self.lock = threading.Lock()
        self.under_way: Counter[UUID] = Counter()
        self.in_flight: set[UUID] = set()
        self.recorder = _Recorder()

    def run(self, items: Sequence[Attempt]) -> int:
        """Start attempting ``items`` (a claimed batch) and return how many were taken: chunks run in the pool
        and their outcomes are recorded as they end. Blocks only while the pool is full."""
        released: list[Outcome] = []
        taken = 0
        for chunk in _chunks(items):
            sub_id = chunk[0].subscription_id
            with self.lock:
                chunk = [item for item in chunk if item.delivery_id not in self.in_flight]
                busy = self.under_way[sub_id] >= self.per_subscription
                if chunk and not busy:
                    self.under_way[sub_id] += 1
                    self.in_flight.update(item.delivery_id for item in chunk)
            if not chunk:
                continue
            taken += len(chunk)
            if busy:
                until = datetime.now(UTC) + RELEASE_FOR
                released += [_released(item, until) for item in chunk]
                continue
            self.capacity.acquire()
            self.pool.submit(self._chunk, chunk)
        self.recorder.put(released)
        return taken

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is under way or unrecorded in this process (tests, a clean stop)."""
        deadline = time.monotonic() + timeout
        with self.recorder.written:
            while self.in_flight or self.recorder.pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.recorder.written.wait(min(left, 0.05))
        return True

    def _chunk(self, chunk: list[Attempt]) -> None:
        outcomes: list[Outcome] = []
        kept = _kept_connections()
        started = time.monotonic()
        try:
            for index, item in enumerate(chunk):
                if time.monotonic() - started > CHUNK_DEADLINE_S:
                    outcomes += [_released(rest, datetime.now(UTC)) for rest in chunk[index:]]
                    break
                outcome = attempt_once(item, connections=kept, resolver=self.resolver)
                if outcome.no_answer and (outcome.latency_ms or 0) < STALE_FAILURE_MS:
                    # A kept-alive connection the receiver closed meanwhile fails at once: try once more on a
                    # new one (a connection that was really refused is refused again, as fast).
                    kept.close()
                    outcome = attempt_once(item, connections=kept, resolver=self.resolver)
                outcomes.append(outcome)
                if outcome.no_answer:
                    until = datetime.now(UTC) + no_answer_pause()
                    outcomes += [_released(rest, until) for rest in chunk[index + 1:]]
                    break
        except Exception:  # a bug, not the endpoint: the lease brings the unrecorded ones back
            logger.exception("A webhook chunk failed")
            kept.close()
        finally:
            if outcomes and outcomes[-1].no_answer:
                kept.close()
            self.recorder.put(outcomes)
            with self.lock:
                self.under_way[chunk[0].subscription_id] -= 1
                self.in_flight.difference_update(item.delivery_id for item in chunk)
            self.capacity.release()


_local = threading.local()


def _kept_connections() -> Connections:
    """This sender thread's kept-alive connections, reused from chunk to chunk (many subscriptions share a
    receiver's host: Zapier's, a customer's gateway). Each request is still resolved and checked; a connection
    serves only the very address it was checked for. Closed after KEEP_ALIVE_S unused."""
    kept = getattr(_local, "connections", None)
    if kept is None or time.monotonic() - _local.used > KEEP_ALIVE_S:
        if kept is not None:
            kept.close()
        kept = _local.connections = Connections()
    _local.used = time.monotonic()
    return kept


def _chunks(items: Sequence[Attempt]) -> list[list[Attempt]]:
    by_sub: dict[UUID, list[Attempt]] = {}
    for item in items:
        by_sub.setdefault(item.subscription_id, []).append(item)
    return [group[start:start + CHUNK] for group in by_sub.values() for start in range(0, len(group), CHUNK)]


_sender: tuple[int, Sender] | None = None
_sender_lock = threading.Lock()


def process_sender() -> Sender:
    """This process's sender, made on first use (sizes from WEBHOOKS_SENDER_THREADS and
    WEBHOOKS_PER_SUBSCRIPTION). A forked child makes its own: threads do not survive a fork."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            _sender = (os.getpid(), Sender(threads=settings.WEBHOOKS_SENDER_THREADS,
                                           per_subscription=settings.WEBHOOKS_PER_SUBSCRIPTION))
        return _sender[1]
