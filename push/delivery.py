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
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pywebpush import WebPusher

from contacts import consent
from events.models import Event
from events.services import NewEvent, events_store
from penguinflow.outbound.addresses import OutboundRefused, allowed_networks
from penguinflow.outbound.client import Connections, OutboundFailed, send
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


@dataclass
class _Job:
    """What one delivery job keeps between its rows: settings per workspace, open connections."""

    connections: Connections = field(default_factory=Connections)
    settings_by_workspace: dict[Any, PushSettings] = field(default_factory=dict)


def push_deliver(*, message_ids: list, now: datetime | None = None) -> DeliveryReport:
    """Hand the given queued messages to their push services, each at most once. Safe to run twice, or
    concurrently: the claim is conditional, and rows that are not queued are left alone."""
    now = now or timezone.now()
    report = DeliveryReport()
    rows = list(PushMessage.objects.filter(pk__in=message_ids, status=Status.QUEUED)
                .select_related("subscription", "contact", "workspace").order_by("created_at"))  # fmt: skip
    due = [row for row in rows if row.next_attempt_at is None or row.next_attempt_at <= now]
    report.not_due = len(rows) - len(due)
    job = _Job()
    try:
        for start in range(0, len(due), GROUP):
            _deliver_group(due[start : start + GROUP], job=job, report=report)
    finally:
        job.connections.close()
    return report


def _deliver_group(group: list[PushMessage], *, job: _Job, report: DeliveryReport) -> None:
    eligible = []
    for row in group:
        reason = _skip_reason(row)
        if reason is None:
            eligible.append(row)
        elif _move(
            row.pk,
            frm=Status.QUEUED,
            to=Status.SKIPPED if reason != "subscription_removed" else Status.FAILED,
            error=reason,
        ):
            report.skipped += 1
    claimed = _claim([row.pk for row in eligible])
    outcomes: list[_Outcome] = []
    try:
        for row in eligible:
            if row.pk in claimed:
                row.attempts += 1
                outcomes.append(_hand_over(row, job=job))
    finally:
        _record(outcomes, report=report)


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
    with transaction.atomic():
        claimed = set(PushMessage.objects.filter(pk__in=ids, status=Status.QUEUED).select_for_update(
            skip_locked=True).values_list("pk", flat=True))  # fmt: skip
        PushMessage.objects.filter(pk__in=claimed).update(
            status=Status.SENDING, claimed_at=now, updated_at=now
        )
    return claimed


def payload_of(row: PushMessage) -> bytes:
    """The notification as the service worker reads it (JSON): the URL is the signed click URL."""
    data = {"id": str(row.pk), "title": row.title, "body": row.body}
    if row.url:
        data["url"] = tracking.click_url(row.pk)
    if row.icon:
        data["icon"] = row.icon
    return json.dumps(data, separators=(",", ":")).encode()


def _hand_over(row: PushMessage, *, job: _Job) -> _Outcome:
    subscription = row.subscription
    push_settings = job.settings_by_workspace.get(row.workspace_id)
    if push_settings is None:
        push_settings = job.settings_by_workspace[row.workspace_id] = push_settings_get(
            workspace=row.workspace
        )
    parts = urlsplit(subscription.endpoint)
    try:
        encrypted = WebPusher({"endpoint": subscription.endpoint,
                               "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}).encode(
            payload_of(row), "aes128gcm")["body"]  # fmt: skip
        authorization = signers.authorization(
            push_settings=push_settings, workspace=row.workspace, audience=f"{parts.scheme}://{parts.netloc}"
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
            connections=job.connections,
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
            retry_after=_retry_after(headers.get("retry-after")),
        )
    return _Outcome(
        row, "failed", response_status=status, error=f"The push service answered {status}: {text}"
    )


def _retry_after(value: str | None) -> timedelta | None:
    try:
        return timedelta(seconds=min(int(value), 24 * 3600)) if value else None
    except ValueError:
        return None


def backoff(attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: 30 s doubling, at most an hour, with ±20 % jitter."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 3600) * random.uniform(0.8, 1.2))


def _record(outcomes: list[_Outcome], *, report: DeliveryReport) -> None:
    """Record what became of handed-over rows, and emit their `push.sent` / `push.failed`, in one transaction;
    then remove the subscriptions the push services said are gone."""
    if not outcomes:
        return
    now = timezone.now()
    events: dict[Any, list[NewEvent]] = {}
    retries: list[tuple[str, datetime]] = []
    with transaction.atomic():
        for outcome in outcomes:
            row = outcome.row
            values: dict[str, Any] = {
                "response_status": outcome.response_status,
                "error": outcome.error[:2000],
                "attempts": row.attempts,
            }
            to, event = outcome.status, None
            if to == "sent":
                to, event, values["sent_at"] = Status.SENT, "push.sent", now
            elif to == "retry" and row.attempts < settings.PUSH_MAX_ATTEMPTS:
                at = now + max(backoff(row.attempts), outcome.retry_after or timedelta(0))
                to, values["next_attempt_at"] = Status.QUEUED, at
                retries.append((str(row.pk), at))
            elif to in ("retry", "failed"):
                to, event = Status.FAILED, "push.failed"
            elif to == "gone":
                to, event = Status.GONE, "push.failed"
            else:
                to = Status.UNKNOWN
            if not _move(row.pk, frm={Status.SENDING, Status.UNKNOWN}, to=to, **values):
                continue
            counter = _COUNTERS[to]
            setattr(report, counter, getattr(report, counter) + 1)
            if event is not None:
                properties = push_event_properties(row)
                if event == "push.failed":
                    properties.update(
                        reason="subscription_expired" if to == Status.GONE else "push_service_error",
                        error=outcome.error[:500],
                        status_code=outcome.response_status,
                    )
                events.setdefault(row.workspace_id, []).append(NewEvent(
                    type=event, contact_id=row.contact_id, properties=properties, occurred_at=now,
                    source=Event.Source.SYSTEM))  # fmt: skip
        for workspace_id, items in events.items():
            events_store(workspace=workspace_id, events=items)
    for outcome in outcomes:
        if outcome.status == "gone" and outcome.row.subscription_id is not None:
            subscription_remove(subscription_id=outcome.row.subscription_id, reason="expired")
    for message_id, at in retries:
        enqueue_delivery([message_id], at=at)


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
