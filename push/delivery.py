"""Delivery: hand queued push messages to the browsers' push services, each at most once, and record what became
of them (sent, retried later, failed for good, gone, or unknown). The RQ job `push.jobs.push_deliver` runs it.

A message is encrypted for its browser (RFC 8291, aes128gcm, by pywebpush's `WebPusher`), signed for with the
workspace's VAPID key (RFC 8292) and posted through the SSRF guard (`penguinflow.outbound.client`: the endpoint's
host is resolved and checked at each send). Rows are claimed (queued → sending) just before their hand-off and
recorded after, a group at a time: a worker that dies in between leaves them `sending`, and `push_sweep` makes
them `unknown`; none is re-sent blindly.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from pywebpush import WebPusher

from contacts import consent
from events.models import Event
from events.services import NewEvent, events_store
from penguinflow.common.db import retried_on_a_new_connection
from penguinflow.outbound.addresses import OutboundRefused, allowed_networks
from penguinflow.outbound.client import Connections, OutboundFailed, send
from penguinflow.outbound.retry_after import retry_after_of
from penguinflow.workspaces.models import Workspace
from push import tracking
from push.delivery_queue import enqueue_delivery
from push.models import PushMessage, PushSettings
from push.subscriptions import subscription_remove
from push.vapid import push_settings_get, signers

logger = logging.getLogger(__name__)

Status = PushMessage.Status
GROUP = 50  # rows claimed, and recorded, per statement
# A push service that is down or throttles usually answers again within the hour.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# The longest a push service's Retry-After holds a message back: past a day it is read as a day.
MAX_RETRY_AFTER = timedelta(days=1)
GONE_STATUSES = frozenset({404, 410})
_COUNTERS = {
    Status.SENT: "sent",
    Status.QUEUED: "retried",
    Status.FAILED: "failed",
    Status.GONE: "gone",
    Status.UNKNOWN: "unknown",
}


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    gone: int = 0
    unknown: int = 0
    skipped: int = 0
    not_due: int = 0


@dataclass
class _Outcome:
    row: PushMessage
    status: str  # sent | retry | failed | gone | unknown
    response_status: int | None = None
    error: str = ""
    retry_after: timedelta | None = None


# Sender connections outlive a job (a TLS handshake to the push service per thread and job cost as much as the
# messages it carried), but not a long silence: a connection the service has closed meanwhile fails the next
# request, which would leave that message `unknown`. Services keep idle connections open for minutes.
KEEP_IDLE_S = 20.0


class _Senders:
    """The sender threads of this process, each with its own open connections (a push service answers in a
    round trip; several in flight keep the worker busy), kept from one delivery job to the next."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=max(1, settings.PUSH_SENDER_THREADS),
                                                thread_name_prefix="push-sender")  # fmt: skip
            return self._pool

    def connections(self) -> Connections:
        """This thread's connections; fresh ones when they have been idle for KEEP_IDLE_S."""
        now = self._clock()
        kept = getattr(self._local, "connections", None)
        if kept is not None and now - self._local.used > KEEP_IDLE_S:
            kept.close()
            kept = None
        if kept is None:
            kept = self._local.connections = Connections()
        self._local.used = now
        return kept


_senders = _Senders()


class _Job:
    """What one delivery job keeps between its rows: settings per workspace (read by the job's own thread: the
    sender threads use no database connection)."""

    def __init__(self) -> None:
        self.settings_by_workspace: dict[Any, PushSettings] = {}
        self.workspaces: dict[Any, Workspace] = {}
        self.pool = _senders.pool()

    def connections(self) -> Connections:
        return _senders.connections()

    def settings_of(self, row: PushMessage) -> PushSettings:
        found = self.settings_by_workspace.get(row.workspace_id)
        if found is None:
            workspace = self.workspaces[row.workspace_id] = Workspace.objects.get(pk=row.workspace_id)
            found = self.settings_by_workspace[row.workspace_id] = push_settings_get(workspace=workspace)
        return found


def push_deliver(*, message_ids: list, now: datetime | None = None) -> DeliveryReport:
    """Hand the given queued messages to their push services, each at most once. Safe to run twice, or
    concurrently: the claim is conditional, and rows that are not queued are left alone."""
    now = now or timezone.now()
    report = DeliveryReport()
    rows = list(PushMessage.objects.filter(pk__in=message_ids, status=Status.QUEUED)
                .select_related("subscription", "contact").only(*_ROW_FIELDS).order_by("created_at"))  # fmt: skip
    due = [row for row in rows if row.next_attempt_at is None or row.next_attempt_at <= now]
    report.not_due = len(rows) - len(due)
    job = _Job()
    for start in range(0, len(due), GROUP):
        _deliver_group(due[start : start + GROUP], job=job, report=report)
    return report


# What delivery reads of a row, its browser and its contact (consent): the contact's other fields (its custom
# fields, possibly large) and the workspace (read once per job) are not loaded for every row.
_ROW_FIELDS = (
    *(field.name for field in PushMessage._meta.concrete_fields),
    "subscription__endpoint", "subscription__p256dh", "subscription__auth",
    "contact__email", "contact__status", "contact__phone", "contact__channels", "contact__topic_opt_outs",
)  # fmt: skip


def _deliver_group(group: list[PushMessage], *, job: _Job, report: DeliveryReport) -> None:
    """Claim a group, hand its rows over (several at once), record the outcomes (whatever happened meanwhile)."""
    eligible = []
    for row in group:
        reason = _skip_reason(row)
        if reason is None:
            eligible.append(row)
            job.settings_of(row)  # read here: the sender threads use no database connection
        else:
            final = Status.FAILED if reason == "subscription_removed" else Status.SKIPPED
            if _move(row.pk, frm=Status.QUEUED, to=final, error=reason):
                report.skipped += 1
    claimed = _claim([row.pk for row in eligible])
    rows = [row for row in eligible if row.pk in claimed]  # the others: another job has them
    outcomes: list[_Outcome] = []
    try:
        for row in rows:
            row.attempts += 1
        outcomes.extend(job.pool.map(lambda row: _hand_over_safely(row, job=job), rows))
    finally:
        _record(outcomes, report=report)


def _hand_over_safely(row: PushMessage, *, job: _Job) -> _Outcome:
    try:
        return _hand_over(row, job=job)
    except Exception as error:  # a bug or the unforeseen: maybe sent, so never retried blindly
        logger.exception("Push message %s: outcome unknown", row.pk)
        return _Outcome(row, "unknown", error=f"{type(error).__name__}: {error}")


def _skip_reason(row: PushMessage) -> str | None:
    """Why a queued row must not go out now: its browser was removed, or the contact withdrew consent since."""
    if row.subscription is None:
        return "subscription_removed"
    reach = consent.reachability(row.contact, "push", topic=row.topic or None)
    return None if reach.ok else (reach.reason or "no_consent")


def _claim(ids: list) -> set:
    """queued → sending for a group of rows, conditionally (rows another job is claiming are skipped, not waited
    for); return the ids claimed."""
    if not ids:
        return set()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [str(Status.SENDING), now, now, ids, str(Status.QUEUED), str(Status.QUEUED)])
        return {pk for (pk,) in cursor.fetchall()}


# One autocommit statement; rows another transaction holds are skipped, not waited for.
_CLAIM_SQL = f"""
UPDATE {PushMessage._meta.db_table} SET status = %s, claimed_at = %s, updated_at = %s
WHERE id IN (SELECT id FROM {PushMessage._meta.db_table} WHERE id = ANY(%s::uuid[]) AND status = %s
             FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %s
RETURNING id
"""


# Push services take at most 4096 bytes of encrypted record (RFC 8291 §4: about 3,990 of plaintext); the body
# gives way first, so that a long rendered text shortens the notification instead of failing it (413).
MAX_PAYLOAD = 3800


def payload_of(row: PushMessage) -> bytes:
    """The notification as the service worker reads it (JSON): the URL is the signed click URL."""
    data = {"id": str(row.pk), "title": row.title, "body": row.body}
    if row.url:
        data["url"] = tracking.click_url(row.pk)
    if row.icon:
        data["icon"] = row.icon
    encoded = _json(data)
    if len(encoded) > MAX_PAYLOAD:
        body, low, high = data["body"], 0, len(data["body"])
        while low < high:  # the longest start of the body that fits
            middle = (low + high + 1) // 2
            data["body"] = body[:middle].rstrip() + "…"
            low, high = (middle, high) if len(_json(data)) <= MAX_PAYLOAD else (low, middle - 1)
        data["body"] = body[:low].rstrip() + "…" if low else ""
        encoded = _json(data)
    return encoded


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _hand_over(row: PushMessage, *, job: _Job) -> _Outcome:
    subscription = row.subscription
    push_settings = job.settings_by_workspace[row.workspace_id]  # read by `_deliver_group` before the hand-off
    parts = urlsplit(subscription.endpoint)
    try:
        encrypted = WebPusher({"endpoint": subscription.endpoint,
                               "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}).encode(
            payload_of(row), "aes128gcm")["body"]  # fmt: skip
        authorization = signers.authorization(
            push_settings=push_settings, workspace=job.workspaces[row.workspace_id], audience=f"{parts.scheme}://{parts.netloc}"
        )
    except Exception as error:  # keys that cannot be used: nothing was sent, and nothing will change that
        return _Outcome(row, "failed", error=f"The message could not be encrypted or signed: {error}")
    headers = {
        "Authorization": authorization,
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(settings.PUSH_TTL_SECONDS),
        "Urgency": "normal",
    }
    try:
        response = send(
            method="POST",
            url=subscription.endpoint,
            headers=headers,
            body=encrypted,
            timeout_s=settings.PUSH_TIMEOUT_SECONDS,
            allowed=allowed_networks(),
            ca_certs=settings.PUSH_CA_CERTS or None,
            connections=job.connections(),
        )
    except OutboundRefused as error:
        return _Outcome(row, "failed", error=f"Refused by the outbound guard: {error}")
    except OutboundFailed as error:
        return _Outcome(row, _failure_verdict(str(error)), error=str(error))
    return _verdict(row, response.status, response.headers, response.body)


def _failure_verdict(text: str) -> str:
    """No answer: 'retry' when the request provably never left (no connection, no address), else 'unknown'."""
    never_left = (
        "could not be resolved",
        "resolved to no address",
        "Failed to establish a new connection",
        "Connection refused",
    )
    return "retry" if any(marker in text for marker in never_left) else "unknown"


def _verdict(row: PushMessage, status: int, headers: dict[str, str], body: bytes) -> _Outcome:
    text = body[:500].decode("utf-8", "replace")
    if 200 <= status < 300:
        return _Outcome(row, "sent", response_status=status)
    if status in GONE_STATUSES:
        return _Outcome(
            row, "gone", response_status=status, error=f"The push service answered {status}: {text}"
        )
    if status in RETRY_STATUSES:
        return _Outcome(
            row,
            "retry",
            response_status=status,
            error=f"The push service answered {status}: {text}",
            retry_after=retry_after_of(headers.get("retry-after"), cap=MAX_RETRY_AFTER),
        )
    return _Outcome(
        row, "failed", response_status=status, error=f"The push service answered {status}: {text}"
    )


def backoff(attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: PUSH_RETRY_BASE_SECONDS (30 s) doubling, at most an hour, with ±20 %
    jitter. A push service's Retry-After, when longer, is waited instead."""
    base = min(settings.PUSH_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def _record(outcomes: list[_Outcome], *, report: DeliveryReport) -> None:
    """Record what became of handed-over rows (`_record_outcomes`), then remove the subscriptions the push services
    said are gone and enqueue the retries."""
    if not outcomes:
        return
    # The record outlives a connection PostgreSQL drops meanwhile: a lost one leaves the rows `sending`, which the
    # sweep makes `unknown` (messages the services took, that nobody may send again blindly).
    recorded = retried_on_a_new_connection(lambda: _record_outcomes(outcomes))
    for counter, count in recorded.counts.items():
        setattr(report, counter, getattr(report, counter) + count)
    for outcome in outcomes:
        if outcome.status == "gone" and outcome.row.subscription_id is not None:
            subscription_remove(subscription_id=outcome.row.subscription_id, reason="expired")
    for message_id, at in recorded.retries:
        enqueue_delivery([message_id], at=at)


@dataclass
class _Recorded:
    counts: Counter[str]  # by DeliveryReport counter
    retries: list[tuple[str, datetime]]  # (message id, when)


def _record_outcomes(outcomes: list[_Outcome]) -> _Recorded:
    """Record the outcomes, and emit their `push.sent` / `push.failed`, in one transaction (the sent ones in one
    statement); return what changed. Safe to run again: every change is conditional on the row's status (a
    second run after a commit whose answer was lost changes nothing), and nothing outside the transaction is
    counted or enqueued here."""
    now = timezone.now()
    events: dict[Any, list[NewEvent]] = {}
    recorded = _Recorded(counts=Counter(), retries=[])
    with transaction.atomic():
        sent = [outcome for outcome in outcomes if outcome.status == "sent"]
        for row_id in _record_sent(sent, now=now):
            row = next(outcome.row for outcome in sent if outcome.row.pk == row_id)
            recorded.counts["sent"] += 1
            _emit(events, row, "push.sent", push_event_properties(row), now)
        for outcome in outcomes:
            if outcome.status == "sent":
                continue
            row = outcome.row
            values: dict[str, Any] = {"response_status": outcome.response_status, "error": outcome.error[:2000],
                                      "attempts": row.attempts}  # fmt: skip
            to, event = Status.UNKNOWN, None
            if outcome.status == "retry" and row.attempts < settings.PUSH_MAX_ATTEMPTS:
                at = now + max(backoff(row.attempts), outcome.retry_after or timedelta(0))
                to, values["next_attempt_at"] = Status.QUEUED, at
                recorded.retries.append((str(row.pk), at))  # even if moved already: a job finds it, or nothing
            elif outcome.status in ("retry", "failed"):
                to, event = Status.FAILED, "push.failed"
            elif outcome.status == "gone":
                to, event = Status.GONE, "push.failed"
            if not _move(row.pk, frm={Status.SENDING, Status.UNKNOWN}, to=to, **values):
                continue
            recorded.counts[_COUNTERS[to]] += 1
            if event is not None:
                _emit(events, row, event, push_event_properties(
                    row, reason="subscription_expired" if to == Status.GONE else "push_service_error",
                    error=outcome.error[:500], status_code=outcome.response_status), now)  # fmt: skip
        for workspace_id, items in events.items():
            events_store(workspace=workspace_id, events=items)
    return recorded


_RECORD_SENT_SQL = f"""
UPDATE {PushMessage._meta.db_table} AS m
SET status = %s, sent_at = %s, updated_at = %s, error = '', attempts = v.attempts, response_status = v.answer
FROM unnest(%s::uuid[], %s::int[], %s::int[]) AS v(id, attempts, answer)
WHERE m.id = v.id AND m.status = ANY(%s)
RETURNING m.id
"""


def _record_sent(sent: list[_Outcome], *, now: datetime) -> list[uuid.UUID]:
    """sending (or unknown: a slow worker recording after the sweep) → sent for these rows in one statement;
    return the ids recorded."""
    if not sent:
        return []
    sources = [Status.SENDING, Status.UNKNOWN]
    assert all(Status.SENT in PushMessage.TRANSITIONS[source] for source in sources)
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SENT_SQL, [
            str(Status.SENT), now, now, [outcome.row.pk for outcome in sent],
            [outcome.row.attempts for outcome in sent], [outcome.response_status or 0 for outcome in sent],
            [str(source) for source in sources],
        ])  # fmt: skip
        return [row_id for (row_id,) in cursor.fetchall()]


def _emit(
    events: dict[Any, list[NewEvent]], row: PushMessage, type_: str, properties: dict[str, Any], now: datetime
) -> None:
    events.setdefault(row.workspace_id, []).append(
        NewEvent(
            type=type_,
            contact_id=row.contact_id,
            properties=properties,
            occurred_at=now,
            source=Event.Source.SYSTEM,
        )
    )


def push_event_properties(row: PushMessage, **extra: Any) -> dict[str, Any]:
    """The properties of a message's `push.*` events."""
    properties: dict[str, Any] = {"message_id": str(row.pk), "device": str(row.device), "title": row.title}
    if row.node_id:
        properties["node_id"] = row.node_id
    if row.workflow_id:
        properties["workflow_id"] = str(row.workflow_id)
    if row.topic:
        properties["topic"] = row.topic
    properties.update(extra)
    return properties


def _move(row_id: uuid.UUID, *, frm: set[str] | str, to: str, **values: Any) -> bool:
    """Change a row's status from one of `frm` to `to` with a conditional UPDATE; return whether it did."""
    sources = {frm} if isinstance(frm, str) else set(frm)
    sources = {source for source in sources if to in PushMessage.TRANSITIONS.get(source, set())}
    values["updated_at"] = timezone.now()
    return bool(PushMessage.objects.filter(pk=row_id, status__in=sources).update(status=to, **values))
