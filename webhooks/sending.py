"""Attempts: each claimed delivery POSTed, signed, to its subscription's URL through the outbound guard.

A worker process keeps one pool of sender threads (`Sender`), shared by its jobs, so that an endpoint that hangs
costs only its own deliveries:

- a job splits its batch into chunks of one subscription (at most CHUNK deliveries, one kept-alive connection)
  and runs the chunks in the pool at once;
- the job waits for its chunks at most JOB_WAIT_S, then records what finished and returns to take the next
  batch; a chunk still running (a slow endpoint) records its own outcomes when it ends;
- a subscription has at most PER_SUBSCRIPTION chunks under way in a process: more are released (due again a
  moment later, no attempt counted), so a hanging endpoint holds a few threads, not the pool;
- in a chunk, an attempt that gets no answer (timeout, refused connection) ends the chunk: the rest is released
  until the subscription's block ends (see `webhooks.outcomes`); no attempt starts after CHUNK_DEADLINE_S.

Every attempt has one deadline (TIMEOUT_SECONDS for connect, send and answer), reads at most BODY_KEPT_BYTES of
the answer, follows no redirect (a 3xx is a failed attempt) and reaches only addresses the guard allows, checked
at each attempt (the name is resolved again). A worker must not fork per job (RQ's SimpleWorker, as
`run_all` starts): the pool lives in the process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection

from penguinflow.outbound.addresses import OutboundRefused, allowed_networks
from penguinflow.outbound.client import Connections, OutboundFailed, Resolver, send, system_resolver
from penguinflow.outbound.signing import signature_headers
from webhooks.outcomes import Outcome, outcomes_record
from webhooks.schedule import BLOCK_AFTER_NO_ANSWER, BODY_KEPT_BYTES, TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

USER_AGENT = "PenguinFlow-Webhooks/1"
CHUNK = 20
JOB_WAIT_S = 1.0
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
                 timeout_s: float = TIMEOUT_SECONDS) -> Outcome:
    """POST the delivery once and return its outcome (never raises for anything the endpoint does)."""
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
    return Outcome(**common, status_code=response.status, latency_ms=response.elapsed_ms,
                   body=response.body.decode("utf-8", errors="replace"), error=error)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _released(item: Attempt, until: datetime) -> Outcome:
    return Outcome(delivery_id=item.delivery_id, subscription_id=item.subscription_id,
                   round_attempts=item.round_attempts, at=datetime.now(UTC), attempted=False, release_until=until)


class _Collector:
    """The outcomes a job is still waiting for; once it stops waiting, chunks record their own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = True
        self.outcomes: list[Outcome] = []

    def offer(self, outcomes: list[Outcome]) -> bool:
        with self.lock:
            if self.open:
                self.outcomes.extend(outcomes)
            return self.open

    def close(self) -> list[Outcome]:
        with self.lock:
            self.open = False
            return self.outcomes


class Sender:
    """The process's sender threads and how many chunks each subscription has under way in them."""

    def __init__(self, *, threads: int, per_subscription: int, resolver: Resolver = system_resolver) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-sender")
        self.per_subscription = per_subscription
        self.resolver = resolver
        self.lock = threading.Lock()
        self.under_way: Counter[UUID] = Counter()

    def run(self, items: Sequence[Attempt], *, wait_s: float = JOB_WAIT_S) -> int:
        """Attempt ``items`` (a claimed batch); record what is done within ``wait_s``; return how many were
        attempted or released by then (the rest records itself when it ends)."""
        collector = _Collector()
        released: list[Outcome] = []
        futures = []
        for chunk in _chunks(items):
            sub_id = chunk[0].subscription_id
            with self.lock:
                busy = self.under_way[sub_id] >= self.per_subscription
                if not busy:
                    self.under_way[sub_id] += 1
            if busy:
                until = datetime.now(UTC) + RELEASE_FOR
                released += [_released(item, until) for item in chunk]
                continue
            futures.append(self.pool.submit(self._chunk, chunk, collector))
        wait(futures, timeout=wait_s)
        outcomes = collector.close() + released
        outcomes_record(outcomes)
        return len(outcomes)

    def _chunk(self, chunk: list[Attempt], collector: _Collector) -> None:
        outcomes: list[Outcome] = []
        kept = Connections()
        started = time.monotonic()
        try:
            for index, item in enumerate(chunk):
                if time.monotonic() - started > CHUNK_DEADLINE_S:
                    outcomes += [_released(rest, datetime.now(UTC)) for rest in chunk[index:]]
                    break
                outcome = attempt_once(item, connections=kept, resolver=self.resolver)
                outcomes.append(outcome)
                if outcome.no_answer:
                    until = datetime.now(UTC) + BLOCK_AFTER_NO_ANSWER
                    outcomes += [_released(rest, until) for rest in chunk[index + 1:]]
                    break
        except Exception:  # a bug, not the endpoint: the lease brings the unrecorded ones back
            logger.exception("A webhook chunk failed")
        finally:
            kept.close()
            with self.lock:
                self.under_way[chunk[0].subscription_id] -= 1
        if not collector.offer(outcomes):
            try:
                outcomes_record(outcomes)
            except Exception:
                logger.exception("Could not record %d webhook outcomes; the lease brings them back", len(outcomes))
            finally:
                connection.close()  # back to the pool: this thread may wait long for its next chunk


def _chunks(items: Sequence[Attempt]) -> list[list[Attempt]]:
    by_sub: dict[UUID, list[Attempt]] = {}
    for item in items:
        by_sub.setdefault(item.subscription_id, []).append(item)
    return [group[start:start + CHUNK] for group in by_sub.values() for start in range(0, len(group), CHUNK)]


_sender: Sender | None = None
_sender_lock = threading.Lock()


def process_sender() -> Sender:
    """This process's sender, made on first use (sizes from WEBHOOKS_SENDER_THREADS and
    WEBHOOKS_PER_SUBSCRIPTION)."""
    global _sender
    with _sender_lock:
        if _sender is None:
            _sender = Sender(threads=settings.WEBHOOKS_SENDER_THREADS,
                             per_subscription=settings.WEBHOOKS_PER_SUBSCRIPTION)
        return _sender
