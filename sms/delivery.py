"""Delivery: hand queued SMS to the provider, each at most once, and record what became of them (sent, retried
later, failed for good, or unknown). The RQ job `sms.jobs.sms_deliver` runs it.

Rows are claimed (queued → sending) just before their hand-off and recorded just after, SMS_CLAIM_GROUP at a
time; the hand-offs of a group go out side by side over SMS_CONNECTIONS connections (the provider's API is a
round trip per message), no faster than the workspace's SMS rate (sms.rate defers the rest). A worker that dies between claim and record leaves its group in `sending`, which
`sms_sweep` turns into `unknown` once the lease is over: never re-sent blindly.
"""

from __future__ import annotations

import logging
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.consent import reachability
from contacts.models import Contact
from events.models import Event
from events.services import NewEvent, events_store
from penguinflow.common.db import prepared_cursor, retried_on_a_new_connection
from penguinflow.common.errors import InvalidTransition
from sms.backends import Outgoing, SendError, SmsBackend, open_backend, status_callback_url
from sms.delivery_queue import enqueue_delivery
from sms.models import SmsMessage
from sms.outbox import sms_event_properties
from sms.rate import sms_rate_admit

logger = logging.getLogger(__name__)

Status = SmsMessage.Status


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    not_due: int = 0
    throttled: int = 0  # deferred by the workspace's SMS rate


@dataclass
class _Pending:
    """What delivery reads of a queued row."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    contact_id: uuid.UUID
    node_id: str
    workflow_id: uuid.UUID | None
    topic: str
    to_phone: str
    from_phone: str
    body: str
    segments: int
    attempts: int
    next_attempt_at: datetime | None

    @property
    def pk(self) -> uuid.UUID:
        return self.id


_PENDING_COLUMNS = ("id", "workspace_id", "contact_id", "node_id", "workflow_id", "topic", "to_phone", "from_phone",
                    "body", "segments", "attempts", "next_attempt_at")  # fmt: skip


@dataclass
class _Handed:
    row: _Pending
    sid: str | None = None
    error: SendError | None = None


def sms_deliver(*, sms_ids: list, now: datetime | None = None) -> DeliveryReport:
    """Hand the given queued rows to the provider, each at most once. Safe to run twice, or concurrently.

    Rows that are not queued (sent already, claimed by another job) are left alone; rows not yet due wait for
    the job enqueued for their time. Consent is asked again just before the claim: a STOP that arrived after
    the row was stored wins.
    """
    now = now or timezone.now()
    report = DeliveryReport()
    rows = [
        _Pending(*values)
        for values in SmsMessage.objects.filter(pk__in=sms_ids, status=Status.QUEUED)
        .order_by("created_at")
        .values_list(*_PENDING_COLUMNS)
    ]
    due = [row for row in rows if row.next_attempt_at is None or row.next_attempt_at <= now]
    report.not_due = len(rows) - len(due)
    admitted = sms_rate_admit(due, now=now) if due else due
    report.throttled, due = len(due) - len(admitted), admitted
    if not due:
        return report
    backend = open_backend(connections=settings.SMS_CONNECTIONS)
    lanes = max(1, settings.SMS_CONNECTIONS)
    try:
        with ThreadPoolExecutor(lanes, thread_name_prefix="sms-lane") as pool:
            size = max(1, settings.SMS_CLAIM_GROUP)
            for start in range(0, len(due), size):
                _deliver_group(due[start : start + size], backend=backend, pool=pool, report=report)
    finally:
        backend.close()
    return report


def _deliver_group(
    group: list[_Pending], *, backend: SmsBackend, pool: ThreadPoolExecutor, report: DeliveryReport
) -> None:
    """Claim a group, hand it over side by side, record the outcomes (the sent ones in one transaction)."""
    eligible = _still_reachable(group, report=report)
    claimed = _claim(row.pk for row in eligible)
    rows = [row for row in eligible if row.pk in claimed]  # the others: another job has them
    for row in rows:
        row.attempts += 1
    outcomes = list(pool.map(lambda row: _hand_over(backend, row), rows))
    handed = [outcome for outcome in outcomes if outcome.error is None]
    # The records outlive a connection PostgreSQL drops meanwhile: a lost one leaves the row `sending`, which the
    # sweep makes `unknown` (a message the provider took, or refused, that nobody may send again blindly).
    try:
        for outcome in outcomes:
            if outcome.error is not None:
                retried_on_a_new_connection(partial(_record_failure, outcome.row, outcome.error, report=report))
    finally:
        if handed:
            report.sent += retried_on_a_new_connection(partial(_record_sent, handed))


def _still_reachable(group: list[_Pending], *, report: DeliveryReport) -> list[_Pending]:
    """The rows whose contact may still be sent an SMS; the others are skipped with the reason."""
    contacts = Contact.objects.only("id", "email", "status", "phone", "channels", "topic_opt_outs").in_bulk(
        [row.contact_id for row in group]
    )
    eligible = []
    for row in group:
        contact = contacts.get(row.contact_id)
        reach = reachability(contact, "sms", topic=row.topic or None) if contact is not None else None
        if reach is not None and reach.ok:
            eligible.append(row)
        elif _move(row.pk, frm=Status.QUEUED, to=Status.SKIPPED,
                   error=f"No longer reachable by SMS before delivery ({reach.reason if reach else 'contact deleted'}).",
                   ):  # fmt: skip
            report.skipped += 1
    return eligible


def _hand_over(backend: SmsBackend, row: _Pending) -> _Handed:
    message = Outgoing(row_id=row.id, to=row.to_phone, sender=row.from_phone, body=row.body,
                       callback=status_callback_url(row.id))  # fmt: skip
    try:
        return _Handed(row, sid=backend.send(message))
    except SendError as error:
        return _Handed(row, error=error)
    except Exception as error:  # a bug or an unforeseen library error mid-request: it may have gone out
        logger.exception("SMS %s: unexpected error during hand-off", row.pk)
        return _Handed(row, error=SendError(f"{type(error).__name__}: {error}", verdict="unknown"))


def _claim(row_ids) -> set:
    """queued → sending, conditionally, for a group of rows in one autocommit statement; return the ids claimed."""
    with prepared_cursor() as cursor:
        cursor.execute(
            f"UPDATE {SmsMessage._meta.db_table} SET status = %s, claimed_at = now(), updated_at = now(), "
            "attempts = attempts + 1 WHERE id = ANY(%s) AND status = %s RETURNING id",
            [str(Status.SENDING), list(row_ids), str(Status.QUEUED)],
            prepare=True,
        )
        return {pk for (pk,) in cursor.fetchall()}


def _record_failure(row: _Pending, error: SendError, *, report: DeliveryReport) -> None:
    """Record a hand-off that failed: unknown, retried later, or failed for good. Safe to run again after a
    dropped connection: each change is conditional on the row's status, the report counted after the writes, and
    `sms.failed` has a client id (the failed record's event is stored once)."""
    text = str(error)[:2000]
    if error.verdict == "unknown":
        _move(row.pk, frm=Status.SENDING, to=Status.UNKNOWN, error=text)
        report.unknown += 1
        logger.warning("SMS %s: outcome unknown after %s", row.pk, text)
    elif error.verdict == "retry" and row.attempts < settings.SMS_MAX_ATTEMPTS:
        retry_at = timezone.now() + max(backoff(row.attempts), error.retry_after or timedelta(0))
        _move(row.pk, frm=Status.SENDING, to=Status.QUEUED, error=text, next_attempt_at=retry_at)
        enqueue_delivery([str(row.pk)], at=retry_at)
        report.retried += 1
    else:
        _move(row.pk, frm=Status.SENDING, to=Status.FAILED, error=text)
        _emit(row, "sms.failed", {"reason": text[:500], "error_code": error.code}, suffix="failed")
        report.failed += 1


def _record_sent(handed: list[_Handed]) -> int:
    """Record handed-over rows as sent (with the provider's ids) and emit their `sms.sent`, in one transaction;
    return how many it recorded. Safe to run again: rows recorded already (by a first run whose commit went
    through before its connection dropped, or by the provider's callback) are left alone."""
    now = timezone.now()
    sources = [Status.SENDING, Status.UNKNOWN]  # unknown: a slow worker recording after its lease ran out
    assert all(Status.SENT in SmsMessage.TRANSITIONS[source] for source in sources)
    with transaction.atomic():
        with prepared_cursor() as cursor:
            cursor.execute(
                f"UPDATE {SmsMessage._meta.db_table} AS m SET status = %s, sent_at = %s, updated_at = %s, error = '', "
                "provider_sid = v.sid FROM unnest(%s::uuid[], %s::text[]) AS v(id, sid) "
                "WHERE m.id = v.id AND m.status = ANY(%s) RETURNING m.id",
                [str(Status.SENT), now, now, [h.row.pk for h in handed], [h.sid for h in handed],
                 [str(source) for source in sources]], prepare=True,
            )  # fmt: skip
            recorded = {pk for (pk,) in cursor.fetchall()}
        by_workspace: dict[Any, list[NewEvent]] = {}
        for outcome in handed:
            if outcome.row.pk in recorded:
                by_workspace.setdefault(outcome.row.workspace_id, []).append(
                    sent_event(outcome.row, provider_sid=outcome.sid, at=now)
                )
        for workspace_id, events in by_workspace.items():
            events_store(workspace=workspace_id, events=events)
    return len(recorded)


def sent_event(row, *, provider_sid: str | None, at: datetime, source: str = Event.Source.SYSTEM) -> NewEvent:
    """The `sms.sent` of a row: the same client id whether the hand-off or the provider's callback says it first."""
    return NewEvent(type="sms.sent", contact_id=row.contact_id,
                    properties=sms_event_properties(row, provider_sid=provider_sid, segments=row.segments),
                    occurred_at=at, source=source, client_id=f"sms:{row.pk}:sent")  # fmt: skip


def _emit(row: _Pending, type_: str, extra: dict[str, Any], *, suffix: str) -> None:
    events_store(workspace=row.workspace_id, events=[
        NewEvent(type=type_, contact_id=row.contact_id, properties=sms_event_properties(row, **extra),
                 source=Event.Source.SYSTEM, client_id=f"sms:{row.pk}:{suffix}"),
    ])  # fmt: skip


def _move(row_id, *, frm: str, to: str, **values) -> bool:
    """Change a row's status from `frm` to `to` with a conditional UPDATE; return whether it did."""
    if to not in SmsMessage.TRANSITIONS.get(frm, set()):
        raise InvalidTransition(f"An SMS cannot go from '{frm}' to '{to}'.")
    values["updated_at"] = timezone.now()
    return bool(SmsMessage.objects.filter(pk=row_id, status=frm).update(status=to, **values))


def backoff(attempts: int) -> timedelta:
    """Return the wait before attempt `attempts + 1`: SMS_RETRY_BASE_SECONDS (30 s) doubling, at most an hour,
    with ±20 % jitter. A provider's Retry-After, when longer, is waited instead."""
    base = min(settings.SMS_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))
