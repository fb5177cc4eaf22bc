"""Delivery: hand queued outbox rows to the mail server or ESP, each at most once, and record what became of
them (sent, retried later, failed for good, or unknown). The RQ job `templates.jobs.outbox_deliver` runs it.

Rows are claimed just before their hand-off and recorded just after, a group at a time; the connections that
carry them are `templates.lanes`, kept open in this process from one job to the next (`kept_lanes`). The
workspace's per-minute rate and the wait before a retry are decided here too.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, Suppression, email_hash
from events.models import Event
from events.services import NewEvent, events_store
from penguinflow.common.db import prepared_cursor, retried_on_a_new_connection
from penguinflow.common.errors import InvalidTransition
from templates.delivery_queue import enqueue_delivery
from templates.lanes import KeptLanes, Lanes, Outcome, verdict
from templates.models import OutboxMessage
from templates.outbox import email_event_properties

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    deferred: int = 0
    not_due: int = 0


@dataclass
class _Pending:
    """What delivery reads of a queued outbox row (with its contact's status and address, its workspace's rate)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    contact_id: uuid.UUID
    node_id: str
    workflow_id: uuid.UUID | None
    message_id: str
    from_email: str
    to_email: str
    reply_to: str
    subject: str
    html: str
    text: str
    attempts: int
    next_attempt_at: datetime | None
    contact_status: str
    contact_email: str
    send_rate_per_minute: int
    kind: str

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def to_contact(self) -> bool:
        """Whether the contact receives it (a notification goes to a team member, about the contact)."""
        return self.kind == OutboxMessage.Kind.MESSAGE


_PENDING_COLUMNS = (
    "id", "workspace_id", "contact_id", "node_id", "workflow_id", "message_id", "from_email", "to_email", "reply_to",
    "subject", "html", "text", "attempts", "next_attempt_at", "contact__status", "contact__email",
    "workspace__send_rate_per_minute", "kind",
)  # fmt: skip


def outbox_deliver(*, outbox_ids: list, now: datetime | None = None, connection=None) -> DeliveryReport:
    """Hand the given queued rows to the mail server, each at most once. Safe to run twice, or concurrently.

    Rows are claimed (queued → sending) just before their hand-off and recorded (sent, with the ESP's id) after
    it, EMAIL_CLAIM_GROUP rows per statement each way: a worker that dies in between leaves the rows of its
    group in `sending` (those handed over and those not yet), which `outbox_sweep` turns into `unknown` once the
    lease is over; none is re-sent blindly. Over the workspace's rate, rows
    stay queued and a later job is scheduled. Rows that are not queued (already sent, claimed by another job)
    are left alone.
    """
    now = now or timezone.now()
    report = DeliveryReport()
    rows = [
        _Pending(*values)
        for values in OutboxMessage.objects.filter(pk__in=outbox_ids, status=Status.QUEUED)
        .order_by("created_at")
        .values_list(*_PENDING_COLUMNS)
    ]
    due = [row for row in rows if row.next_attempt_at is None or row.next_attempt_at <= now]
    report.not_due = len(rows) - len(due)
    sendable: list[_Pending] = []
    by_workspace: dict[Any, list[_Pending]] = {}
    for row in due:
        by_workspace.setdefault(row.workspace_id, []).append(row)
    for group in by_workspace.values():
        decision = rate_take(
            workspace_id=group[0].workspace_id, limit=group[0].send_rate_per_minute, count=len(group), now=now
        )
        sendable += group[: decision.allowed]
        later = group[decision.allowed :]
        if later:
            OutboxMessage.objects.filter(pk__in=[r.pk for r in later], status=Status.QUEUED).update(
                next_attempt_at=decision.retry_at, updated_at=now
            )
            enqueue_delivery([str(r.pk) for r in later], at=decision.retry_at)
            report.deferred += len(later)
    if not sendable:
        return report
    suppressed = set(
        Suppression.objects.filter(
            workspace_id__in={r.workspace_id for r in sendable},
            email_hash__in={email_hash(r.contact_email) for r in sendable},
        ).values_list("workspace_id", "email_hash")
    )
    with job_lanes(connection) as lanes:
        size = max(1, settings.EMAIL_CLAIM_GROUP)
        for start in range(0, len(sendable), size):
            _deliver_group(sendable[start : start + size], lanes=lanes, suppressed=suppressed, report=report)
    return report


def _deliver_group(group: list[_Pending], *, lanes: Lanes, suppressed: set, report: DeliveryReport) -> None:
    """Claim a group of rows, hand them over (over the lanes), record the outcomes (sent ones in one transaction)."""
    eligible = []
    for row in group:
        if row.to_contact and (row.contact_status != Contact.Status.SUBSCRIBED
                               or (row.workspace_id, email_hash(row.contact_email)) in suppressed):
            if _move(row.pk, frm=Status.QUEUED, to=Status.SKIPPED, error="Unsubscribed or suppressed before delivery."):
                report.skipped += 1
        else:
            eligible.append(row)
    if not eligible:
        return
    # Reach the server before the claim: failing here provably sent nothing. (A kept connection is not tried
    # here; one the server has dropped fails at MAIL, before anything is sent, and the lane reconnects.)
    error = lanes.ready()
    if error is not None:
        for row in eligible:
            _retry_or_fail(row, error=error, verdict_=_open_verdict(error), claimed=False, report=report)
        return
    claimed = _claim(row.pk for row in eligible)
    rows = [row for row in eligible if row.pk in claimed]  # the others: another job has them
    for row in rows:
        row.attempts += 1
    handed: list[tuple[_Pending, str | None]] = []
    try:
        for outcome in lanes.hand_over(rows):
            if outcome.error is None:
                report.sent += 1
                handed.append((outcome.row, outcome.esp_id))
            else:
                _record_failure(outcome, report=report)
    finally:
        if handed:
            # Handed over: the record must outlive a connection PostgreSQL drops meanwhile (a lost one is `unknown`).
            retried_on_a_new_connection(lambda: _record_sent(handed))


def _open_verdict(error: BaseException) -> str:
    result = verdict(error)
    return "retry" if result == "unknown" else result  # we never reached the server: nothing was handed over


def _record_failure(outcome: Outcome, *, report: DeliveryReport) -> None:
    """A claimed row that was not (or maybe not) handed over: unknown, retried later, or failed for good."""
    row, error = outcome.row, outcome.error
    result = _open_verdict(error) if outcome.opening else verdict(error)
    if result == "unknown":
        _move(row.pk, frm=Status.SENDING, to=Status.UNKNOWN, error=_describe(error))
        report.unknown += 1
        logger.warning("Outbox message %s: outcome unknown after %s", row.pk, _describe(error))
    else:
        _retry_or_fail(row, error=error, verdict_=result, claimed=True, report=report)


def _claim(row_ids) -> set:
    """queued → sending, conditionally, for a group of rows in one autocommit statement; return the ids claimed."""
    with prepared_cursor() as cursor:
        cursor.execute(
            f"UPDATE {OutboxMessage._meta.db_table} SET status = %s, claimed_at = now(), updated_at = now(), "
            "attempts = attempts + 1 WHERE id = ANY(%s) AND status = %s RETURNING id",
            [str(Status.SENDING), list(row_ids), str(Status.QUEUED)], prepare=True,
        )
        return {pk for (pk,) in cursor.fetchall()}


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _retry_or_fail(row: _Pending, *, error, verdict_: str, claimed: bool, report: DeliveryReport) -> None:
    frm = Status.SENDING if claimed else Status.QUEUED
    attempts = row.attempts if claimed else row.attempts + 1
    if verdict_ == "retry" and attempts < settings.EMAIL_MAX_ATTEMPTS:
        retry_at = timezone.now() + backoff(attempts)
        values = {"next_attempt_at": retry_at, "error": _describe(error)}
        if not claimed:
            values["attempts"] = attempts
            OutboxMessage.objects.filter(pk=row.pk, status=Status.QUEUED).update(updated_at=timezone.now(), **values)
        else:
            _move(row.pk, frm=frm, to=Status.QUEUED, **values)
        enqueue_delivery([str(row.pk)], at=retry_at)
        report.retried += 1
    else:
        _move(row.pk, frm=frm, to=Status.FAILED, error=_describe(error), attempts=attempts)
        report.failed += 1


def _record_sent(handed: list[tuple[_Pending, str | None]]) -> None:
    """Record handed-over rows as sent (with their ESP ids) and emit their `email.sent`, in one transaction."""
    now = timezone.now()
    sources = [Status.SENDING, Status.UNKNOWN]  # unknown: a slow worker recording after its lease ran out
    assert all(Status.SENT in OutboxMessage.TRANSITIONS[source] for source in sources)
    with transaction.atomic():
        plain = [row.pk for row, esp_id in handed if esp_id is None]
        with prepared_cursor() as cursor:
            cursor.execute(
                f"UPDATE {OutboxMessage._meta.db_table} SET status = %s, sent_at = %s, updated_at = %s, error = '' "
                "WHERE id = ANY(%s) AND status = ANY(%s) RETURNING id",
                [str(Status.SENT), now, now, plain, [str(source) for source in sources]], prepare=True,
            )
            recorded = {pk for (pk,) in cursor.fetchall()}
        for row, esp_id in handed:
            if esp_id is not None and OutboxMessage.objects.filter(pk=row.pk, status__in=sources).update(
                status=Status.SENT, sent_at=now, updated_at=now, esp_message_id=esp_id, error=""
            ):
                recorded.add(row.pk)
        by_workspace: dict[Any, list[NewEvent]] = {}
        for row, _ in handed:
            if row.pk in recorded and row.to_contact:
                by_workspace.setdefault(row.workspace_id, []).append(
                    NewEvent(type="email.sent", contact_id=row.contact_id, properties=email_event_properties(row),
                             occurred_at=now, source=Event.Source.SYSTEM)
                )  # fmt: skip
        for workspace_id, events in by_workspace.items():
            events_store(workspace=workspace_id, events=events)


def _move(row_id, *, frm: set[str] | str, to: str, **values) -> bool:
    """Change a row's status from one of `frm` to `to` with a conditional UPDATE; return whether it did."""
    sources = {frm} if isinstance(frm, str) else set(frm)
    if any(to not in OutboxMessage.TRANSITIONS.get(source, set()) for source in sources):
        raise InvalidTransition(f"An outbox message cannot go from {sorted(sources)} to '{to}'.")
    values["updated_at"] = timezone.now()
    return bool(OutboxMessage.objects.filter(pk=row_id, status__in=sources).update(status=to, **values))


# The SMTP lanes this process keeps open between its delivery jobs.
kept_lanes = KeptLanes()
atexit.register(kept_lanes.close)
os.register_at_fork(after_in_child=kept_lanes.forget)


@contextmanager
def job_lanes(connection=None) -> Iterator[Lanes]:
    """The lanes of one delivery job: kept ones (see KeptLanes), or one lane over the caller's `connection`."""
    if connection is not None:
        lanes = Lanes(connection)
        try:
            yield lanes
        finally:
            lanes.close()
        return
    lanes = kept_lanes.take()
    try:
        yield lanes
    except BaseException:
        lanes.close()  # a conversation may have been cut anywhere: never hand such connections to a next job
        raise
    kept_lanes.give_back(lanes)


def backoff(attempts: int) -> timedelta:
    """Return the wait before attempt `attempts + 1`: EMAIL_RETRY_BASE_SECONDS (30 s) doubling, at most an hour,
    with ±20 % jitter."""
    base = min(settings.EMAIL_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class RateDecision:
    allowed: int
    retry_at: datetime | None


def rate_take(*, workspace_id, limit: int, count: int, now: datetime) -> RateDecision:
    """Take up to `count` sends from the workspace's per-minute budget, shared by all workers through Redis.

    A fixed one-minute window: INCRBY is atomic, so two workers cannot both take the last slot. Losing the
    counters (a Redis flush) only forgets how many were sent this minute: no message lives here.
    """
    if limit <= 0 or count <= 0:
        return RateDecision(allowed=0 if limit <= 0 else count, retry_at=None if count <= 0 else _next_window(now))
    window = int(now.timestamp() // 60)
    key = f"pf:email:rate:{workspace_id}:{window}"
    pipe = django_rq.get_connection("email").pipeline()
    pipe.incrby(key, count)
    pipe.expire(key, 120)
    total, _ = pipe.execute()
    before = int(total) - count
    allowed = max(0, min(count, limit - before))
    return RateDecision(allowed=allowed, retry_at=None if allowed == count else _next_window(now))


def _next_window(now: datetime) -> datetime:
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start + timedelta(milliseconds=random.randint(0, 5000))
