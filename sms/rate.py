"""The workspace's SMS send rate (`sms_rate_per_second` in its settings): at most that many of its SMS a second are
handed to the provider, whose sender numbers have such a limit (a provider answers a burst over it with errors).

A token bucket per workspace in Redis, shared by every delivery worker: it holds up to one second's worth of
tokens and refills at the rate. Delivery asks it for its due rows before it claims them (`sms_rate_admit`); the
rows beyond the tokens stay queued with a later `next_attempt_at`, one second's worth per second, and a delivery
job is enqueued for each of those times. A deferred row is never dropped: if its job is lost, `sms_sweep` enqueues
it again; when Redis cannot be asked, the rows wait a second rather than risk the provider's limit.
Tokens are taken before the claim: a row then skipped (consent withdrawn) or claimed by another job wastes its
token, so the rate is an upper bound, not a promise of throughput.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import redis
from pydantic import ValidationError

from penguinflow.common.redis_client import redis_client
from penguinflow.workspaces.messaging_settings import messaging_settings
from penguinflow.workspaces.models import Workspace
from sms.delivery_queue import enqueue_delivery
from sms.models import SmsMessage

logger = logging.getLogger(__name__)

__all__ = ["sms_rate_admit", "workspace_sms_rate"]

# A workspace's rate is read at most this often per process: delivery runs for every batch of SMS.
_RATE_TTL_SECONDS = 5.0
# Rows beyond this many seconds of the rate are all deferred to the last second: they ask the bucket again then.
_MAX_DEFER_SECONDS = 60
_BUCKET_KEY = "pf:sms-rate:{}"

# KEYS[1]: the bucket; ARGV: rate (tokens a second), capacity, now (whole milliseconds: Lua prints numbers with 14
# digits, which would round seconds with a fraction), tokens wanted. Returns how many were granted.
_TAKE = """
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, wanted = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or capacity, tonumber(state[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
  at = now
end
local granted = math.min(wanted, math.floor(tokens + 1e-6))
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - granted), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], 3600)
return granted
"""

_rates: dict[Any, tuple[float, int | None]] = {}


def workspace_sms_rate(workspace_id) -> int | None:
    """Return the workspace's SMS a second (None: no limit), read at most every few seconds per process."""
    cached = _rates.get(workspace_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    workspace = Workspace.objects.only("id", "settings").filter(pk=workspace_id).first()
    try:
        rate = messaging_settings(workspace).sms_rate_per_second if workspace is not None else None
    except ValidationError:  # validated when written; one stored otherwise must not stop every delivery job
        logger.error("Workspace %s has invalid settings: its SMS go out without a rate limit", workspace_id)
        rate = None
    _rates[workspace_id] = (time.monotonic() + _RATE_TTL_SECONDS, rate)
    return rate


def sms_rate_admit(rows: Sequence[Any], *, now: datetime) -> list[Any]:
    """Return the rows (with `pk` and `workspace_id`, in order) that may be handed over now under their workspace's
    rate; defer the others (still queued, a later `next_attempt_at`, a delivery job enqueued for it)."""
    by_workspace: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        by_workspace[row.workspace_id].append(row)
    held: set = set()
    for workspace_id, group in by_workspace.items():
        rate = workspace_sms_rate(workspace_id)
        if rate is None:
            continue
        granted = _take(workspace_id, rate=rate, wanted=len(group), now=now)
        deferred = group[granted:]
        if deferred:
            _defer(deferred, rate=rate if granted is not None else None, now=now)
            held.update(row.pk for row in deferred)
    return [row for row in rows if row.pk not in held] if held else list(rows)


def _take(workspace_id, *, rate: int, wanted: int, now: datetime) -> int | None:
    """Take up to `wanted` tokens of the workspace's bucket; return how many were granted (None: Redis failed)."""
    try:
        return int(redis_client().eval(_TAKE, 1, _BUCKET_KEY.format(workspace_id), rate, rate,
                                       round(now.timestamp() * 1000), wanted))
    except redis.RedisError:
        logger.exception("SMS rate of workspace %s: the token bucket could not be read; deferring", workspace_id)
        return None


def _defer(rows: Sequence[Any], *, rate: int | None, now: datetime) -> None:
    """Keep `rows` queued for later: `rate` a second from the next second on (all a second later when the bucket
    could not be asked), each second's rows with one delivery job."""
    per_second = rate or len(rows)
    for start in range(0, len(rows), per_second):
        second = min(start // per_second + 1, _MAX_DEFER_SECONDS)
        chunk = rows[start : start + per_second] if second < _MAX_DEFER_SECONDS else rows[start:]
        at = now + timedelta(seconds=second)
        ids = [row.pk for row in chunk]
        SmsMessage.objects.filter(pk__in=ids, status=SmsMessage.Status.QUEUED).update(
            next_attempt_at=at, updated_at=now
        )
        for row in chunk:
            row.next_attempt_at = at
        try:
            enqueue_delivery([str(pk) for pk in ids], at=at)
        except Exception:  # Redis down: the rows are queued with their time, and `sms_sweep` enqueues them later
            logger.exception("Could not enqueue the deferred delivery of %d SMS", len(ids))
        if second == _MAX_DEFER_SECONDS:
            break
