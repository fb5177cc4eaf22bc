"""What one batch of steps may spend on calls made inline (the webhook and http_request steps): `BatchCalls`.

A batch runs in one RQ job with a timeout (`workflows.scheduler`, 300 s) and in one transaction: a job the timeout
kills rolls the whole batch back to run again, every step it made repeated and every other contact of the batch
delayed. A hundred webhook steps to one receiver that hangs, 10 s each, would do exactly that. So, in one batch:

- an endpoint (scheme, host and port) that gave no answer (a timeout, a refused or dropped connection) is not
  called again: the batch's later steps to it wait ``silent_pause`` (WORKFLOW_NO_ANSWER_PAUSE_SECONDS) and run
  in a later batch, which tries the endpoint once more;
- once the batch's calls took ``budget`` (WORKFLOW_BATCH_CALL_SECONDS) in all, no further call starts: the rest
  wait ``spent_pause`` and run in the next batch. A call that started may still take its own timeout (at most
  30 s), so a batch spends at most the budget and one call's timeout on calls.

Either way the step is deferred (`workflows.engine.ports.Deferred`): it waits without spending one of its
attempts and without a failed step in its log. The step whose call got no answer is a failure as before (retried
per its policy): it is the one that tried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.conf import settings

from penguinflow.outbound.addresses import OutboundRefused, target_of
from penguinflow.outbound.client import OutboundFailed
from workflows.engine.ports import Deferred

__all__ = ["BatchCalls", "endpoint_of"]

Answer = TypeVar("Answer")
Endpoint = tuple[str, str, int]

# A batch that spent its time for calls hands the rest to the next batch, which may start at once.
SPENT_PAUSE = timedelta(seconds=1)


def endpoint_of(url: str) -> Endpoint | None:
    """Return the (scheme, host, port) a URL calls, as the outbound client reads it; None for a URL it refuses
    (the call then refuses it too, without being a silence)."""
    try:
        target = target_of(url)
    except OutboundRefused:
        return None
    return target.scheme, target.host, target.port


class BatchCalls:
    """The calls of one batch: the time they took, and the endpoints that gave no answer. Make one per batch job
    (a batch run again in the same job, send by send or one enrollment at a time, keeps it: the job's timeout is
    what it guards) and hand it to every port that calls out inline; ``clock`` (seconds, monotonic) is
    injectable."""

    def __init__(self, *, budget: timedelta, silent_pause: timedelta, spent_pause: timedelta = SPENT_PAUSE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget, self.silent_pause, self.spent_pause, self.clock = budget, silent_pause, spent_pause, clock
        self.spent = timedelta(0)
        self.silent: set[Endpoint] = set()

    @classmethod
    def from_settings(cls) -> BatchCalls:
        return cls(budget=timedelta(seconds=settings.WORKFLOW_BATCH_CALL_SECONDS),
                   silent_pause=timedelta(seconds=settings.WORKFLOW_NO_ANSWER_PAUSE_SECONDS))

    def make(self, url: str, call: Callable[[], Answer]) -> Answer:
        """Return what ``call`` (a request to ``url``) answers, counting the time it takes against the budget.
        Raise Deferred, without calling, for an endpoint that gave no answer in this batch or once the budget is
        spent; an OutboundFailed from ``call`` marks its endpoint silent for the rest of the batch."""
        endpoint = endpoint_of(url)
        if endpoint is not None and endpoint in self.silent:
            raise Deferred(f"Not called: {_named(endpoint)} gave no answer earlier in this batch; the step tries "
                           f"again in {_seconds(self.silent_pause)} (not counted as an attempt).",
                           retry_after=self.silent_pause)
        if self.spent >= self.budget:
            raise Deferred(f"Not called yet: this batch spent its {_seconds(self.budget)} for calls; the step runs "
                           f"in the next batch (not counted as an attempt).", retry_after=self.spent_pause)
        started = self.clock()
        try:
            return call()
        except OutboundFailed:
            if endpoint is not None:
                self.silent.add(endpoint)
            raise
        finally:
            self.spent += timedelta(seconds=self.clock() - started)


def _named(endpoint: Endpoint) -> str:
    scheme, host, port = endpoint
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def _seconds(duration: timedelta) -> str:
    return f"{duration.total_seconds():g} s"
