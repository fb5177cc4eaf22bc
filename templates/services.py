"""Email: the exactly-once outbox, delivery, tracking, unsubscribe and ESP webhooks."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Contact, Suppression, email_hash
from contacts.services import contact_update, suppression_add
from events.models import Event
from events.services import NewEvent, events_emit, events_store
from penguinflow.common.db import prepared_cursor
from penguinflow.common.errors import InvalidTransition
from penguinflow.common.states import transition
from templates import tracking
from templates.delivery import backoff, job_lanes, rate_take
from templates.delivery_queue import enqueue_delivery, schedule_delivery
from templates.headers import outbox_id_from_message_id, unsubscribe_mailbox
from templates.lanes import Lanes, Outcome, verdict
from templates.models import OutboxMessage
from templates.outbox import email_event_properties
from templates.rendering import single_line

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status


def _move(row_id, *, frm: set[str] | str, to: str, **values) -> bool:
    """Change a row's status from one of `frm` to `to` with a conditional UPDATE; return whether it did."""
    sources = {frm} if isinstance(frm, str) else set(frm)
    if any(to not in OutboxMessage.TRANSITIONS.get(source, set()) for source in sources):
        raise InvalidTransition(f"An outbox message cannot go from {sorted(sources)} to '{to}'.")
    values["updated_at"] = timezone.now()
    return bool(OutboxMessage.objects.filter(pk=row_id, status__in=sources).update(status=to, **values))


# ---------------------------------------------------------------------------------------------------------------
# Delivery (the RQ job `templates.jobs.outbox_deliver` calls this)


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

    @property
    def pk(self) -> uuid.UUID:
        return self.id


_PENDING_COLUMNS = (
    "id", "workspace_id", "contact_id", "node_id", "workflow_id", "message_id", "from_email", "to_email", "reply_to",
    "subject", "html", "text", "attempts", "next_attempt_at", "contact__status", "contact__email",
    "workspace__send_rate_per_minute",
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
        if row.contact_status != Contact.Status.SUBSCRIBED or (row.workspace_id, email_hash(row.contact_email)) in suppressed:
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
            _record_sent(handed)


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
            if row.pk in recorded:
                by_workspace.setdefault(row.workspace_id, []).append(
                    NewEvent(type="email.sent", contact_id=row.contact_id, properties=email_event_properties(row),
                             occurred_at=now, source=Event.Source.SYSTEM)
                )  # fmt: skip
        for workspace_id, events in by_workspace.items():
            events_store(workspace=workspace_id, events=events)


# ---------------------------------------------------------------------------------------------------------------
# Sweeping and deliberate resends


@dataclass(frozen=True)
class SweepReport:
    unknown: int
    requeued: int


_OUTBOX = OutboxMessage._meta.db_table
_SWEEP_STALE_SQL = f"""
UPDATE {_OUTBOX} SET status = %(unknown)s, updated_at = %(now)s, error = %(error)s
WHERE id IN (SELECT id FROM {_OUTBOX} WHERE status = %(sending)s AND claimed_at < %(lease)s
             FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(sending)s
"""
_SWEEP_LOST_SQL = f"""
UPDATE {_OUTBOX} SET next_attempt_at = %(touched)s, updated_at = %(now)s
WHERE id IN (SELECT id FROM {_OUTBOX} WHERE status = %(queued)s AND next_attempt_at < %(lost_before)s
             ORDER BY next_attempt_at LIMIT 10000 FOR NO KEY UPDATE SKIP LOCKED)
  AND status = %(queued)s
RETURNING id
"""


def outbox_sweep(*, now: datetime | None = None, grace_seconds: int | None = None, dry_run: bool = False) -> SweepReport:
    """Mark rows stuck in `sending` past their lease as `unknown`; re-enqueue queued rows whose job was lost.

    Run it every EMAIL_SWEEP_INTERVAL_SECONDS (the scheduler, or `manage.py email_outbox --sweep`). A queued row
    is "lost" when it has been due for `grace_seconds` (default EMAIL_SWEEP_GRACE_SECONDS; Redis flushed, enqueue
    failed): a duplicate job is harmless, since the claim is conditional.

    Both updates skip rows another transaction holds (a delivery claiming or recording them), so the sweep
    never waits for a row lock. It reads rows through the (status, next_attempt_at) index while delivery locks
    them by id: were it to wait, the two would lock the same rows in opposite orders and deadlock, and a failed
    sweep re-enqueues nothing. A row it skipped is busy now; the next sweep sees it again.
    """
    now = now or timezone.now()
    if grace_seconds is None:
        grace_seconds = settings.EMAIL_SWEEP_GRACE_SECONDS
    lease = now - timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS)
    lost_before = now - timedelta(seconds=grace_seconds)
    if dry_run:
        return SweepReport(
            unknown=OutboxMessage.objects.filter(status=Status.SENDING, claimed_at__lt=lease).count(),
            requeued=OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lt=lost_before).count(),
        )
    assert Status.UNKNOWN in OutboxMessage.TRANSITIONS[Status.SENDING]
    with connection.cursor() as cursor:
        cursor.execute(_SWEEP_STALE_SQL, {
            "unknown": str(Status.UNKNOWN), "sending": str(Status.SENDING), "now": now, "lease": lease,
            "error": "The worker stopped between hand-off and record: the message may have been sent. Not re-sent.",
        })  # fmt: skip
        unknown = cursor.rowcount
        # Due now (so the job sends them) and not "lost" again before another `grace_seconds`.
        cursor.execute(_SWEEP_LOST_SQL, {
            "queued": str(Status.QUEUED), "touched": min(now, timezone.now()), "now": now, "lost_before": lost_before,
        })  # fmt: skip
        ids = [str(pk) for (pk,) in cursor.fetchall()]
    if ids:
        enqueue_delivery(ids)
    if unknown:
        logger.warning("%d outbox messages are now 'unknown' (their worker died mid-send)", unknown)
    return SweepReport(unknown=unknown, requeued=len(ids))


def outbox_resend(*, message: OutboxMessage) -> OutboxMessage:
    """Queue an `unknown` or `failed` message again, deliberately (a person decided); same Message-ID.

    Raises InvalidTransition for any other status.
    """
    with transaction.atomic():
        message = transition(
            message, to=Status.QUEUED, allowed=OutboxMessage.TRANSITIONS,
            extra={"next_attempt_at": timezone.now(), "error": f"Resent deliberately (was {message.status})."},
        )  # fmt: skip
        schedule_delivery(message.pk)
    return message


# ---------------------------------------------------------------------------------------------------------------
# Tracking and unsubscribe (CONTRACT §10)


def email_track(
    *, kind: str, token: str, method: str = "GET", user_agent: str = "", now: datetime | None = None
) -> tuple[bool, str | None]:
    """Record an open or a click from a tracking token; return (known, redirect URL for clicks).

    An unknown, forged or foreign token returns (False, None) and writes nothing. Scanner and prefetch hits are
    recorded with flags {"bot": true, "reason": ...}, which event processing skips.
    """
    parsed = tracking.read_token(kind, token)
    if parsed is None:
        return False, None
    outbox_id, index = parsed
    row = OutboxMessage.objects.select_related("workspace").filter(pk=outbox_id).first()
    if row is None:
        return False, None
    url = None
    if kind == tracking.CLICK:
        if index is None or not (0 <= index < len(row.links)):
            return False, None
        url = row.links[index]
    now = now or timezone.now()
    reason = tracking.bot_reason(
        method=method, user_agent=user_agent, sent_at=row.sent_at, now=now, click=kind == tracking.CLICK
    )
    properties = email_event_properties(row, **({"url": url} if url else {}))
    events_emit(
        workspace=row.workspace,
        events=[NewEvent(
            type="email.clicked" if kind == tracking.CLICK else "email.opened", contact_id=row.contact_id,
            properties=properties, occurred_at=now, source=Event.Source.TRACKING,
            flags={"bot": True, "reason": reason} if reason else {},
        )],
    )  # fmt: skip
    return True, url


def outbox_for_unsubscribe_token(token: str) -> OutboxMessage | None:
    parsed = tracking.read_token(tracking.UNSUBSCRIBE, token)
    if parsed is None:
        return None
    return OutboxMessage.objects.select_related("workspace", "contact").filter(pk=parsed[0]).first()


@transaction.atomic
def email_unsubscribe(*, message: OutboxMessage, source: str = Event.Source.TRACKING, via: str = "one_click") -> bool:
    """Unsubscribe the recipient of `message` (status, suppression, `email.unsubscribed`); idempotent.

    Returns False, changing nothing, when the contact was not subscribed any more.
    """
    contact = Contact.objects.select_for_update().get(pk=message.contact_id)
    if contact.status != Contact.Status.SUBSCRIBED:
        suppression_add(workspace=message.workspace, email=contact.email, reason=Suppression.Reason.UNSUBSCRIBED)
        return False
    contact_update(contact=contact, changes={"status": Contact.Status.UNSUBSCRIBED}, source=source)
    suppression_add(workspace=message.workspace, email=contact.email, reason=Suppression.Reason.UNSUBSCRIBED)
    events_emit(
        workspace=message.workspace,
        events=[NewEvent(type="email.unsubscribed", contact_id=contact.pk,
                         properties=email_event_properties(message, via=via), source=source)],
    )  # fmt: skip
    return True


# ---------------------------------------------------------------------------------------------------------------
# ESP webhooks (django-anymail's tracking and inbound signals; see templates/receivers.py)

# Anymail's normalized event type → our event type. `deferred`, `queued`, `sent` and the like are not events of
# the catalogue: they are logged and dropped.
ESP_EVENT_TYPES = {
    "delivered": "email.delivered",
    "opened": "email.opened",
    "clicked": "email.clicked",
    "bounced": "email.bounced",
    "complained": "email.complained",
    "unsubscribed": "email.unsubscribed",
}
_SOFT_BOUNCE_TYPES = {"softbounce", "transient", "dnserror", "blocked"}


def esp_event_key(*, esp: str, event_id: str | None, payload: Any) -> str:
    """Return the dedupe key of an ESP event: its own id, else a hash of the payload (a retry repeats both)."""
    if not event_id:
        try:
            raw = json.dumps(payload, sort_keys=True, default=str)
        except (TypeError, ValueError):
            raw = repr(payload)
        event_id = "h" + hashlib.sha256(raw.encode()).hexdigest()[:40]
    return f"esp:{esp.lower()}:{event_id}"[:128]


def _esp_payload(event) -> Any:
    payload = getattr(event, "esp_event", None)
    if hasattr(payload, "lists"):  # a QueryDict (Mailgun's legacy form posts)
        return {key: values for key, values in payload.lists()}
    return payload


def _outbox_for_esp(*, message_id: str | None, metadata: Mapping | None) -> OutboxMessage | None:
    queryset = OutboxMessage.objects.select_related("workspace")
    pf_id = (metadata or {}).get("pf_message_id")
    if pf_id:
        try:
            row = queryset.filter(pk=uuid.UUID(str(pf_id))).first()
        except ValueError:
            row = None
        if row is not None:
            return row
    if message_id:
        row = queryset.filter(esp_message_id=message_id).first()
        if row is not None:
            return row
        ours = outbox_id_from_message_id(message_id)
        if ours is not None:
            return queryset.filter(pk=ours).first()
    return None


def _only_contact_with(email: str | None) -> Contact | None:
    if not email:
        return None
    matches = list(Contact.objects.select_related("workspace").filter(email__iexact=email.strip())[:2])
    return matches[0] if len(matches) == 1 else None


def email_esp_event_record(*, esp: str, event) -> str | None:
    """Turn one anymail tracking event into an `email.*` event and its consequences; return the event type.

    Deduplicated by the ESP's event id (ESPs retry and repeat): `client_id = "esp:<esp>:<event id>"`.
    A hard bounce marks the contact `bounced`, a complaint `complained`, an unsubscribe `unsubscribed`; each also
    adds a suppression entry. Events of messages we do not know are kept when the recipient is exactly one
    contact, else logged and dropped.
    """
    event_type, bounce_type = _esp_event_type(event)
    if event_type is None:
        logger.info("ESP %s event '%s' ignored (not an email.* event)", esp, event.event_type)
        return None
    row = _outbox_for_esp(message_id=event.message_id, metadata=getattr(event, "metadata", None))
    if row is not None:
        workspace, contact_id, properties = row.workspace, row.contact_id, email_event_properties(row)
    else:
        contact = _only_contact_with(event.recipient)
        if contact is None:
            logger.info("ESP %s event %s for unknown message %s and no single contact %r: dropped",
                        esp, event.event_type, event.message_id, event.recipient)  # fmt: skip
            return None
        workspace, contact_id = contact.workspace, contact.pk
        properties = {"message_id": None, "node_id": None, "workflow_id": None}
    properties.update({"esp": esp.lower(), "esp_message_id": event.message_id})
    if event_type == "email.clicked" and event.click_url:
        properties["url"] = event.click_url
    if event_type == "email.bounced":
        properties["bounce_type"] = bounce_type
        if event.description or event.mta_response:
            properties["reason"] = str(event.description or event.mta_response)[:500]
    with transaction.atomic():
        stored = events_emit(
            workspace=workspace,
            events=[NewEvent(type=event_type, contact_id=contact_id, properties=properties,
                             occurred_at=event.timestamp, source=Event.Source.ESP,
                             client_id=esp_event_key(esp=esp, event_id=event.event_id, payload=_esp_payload(event)))],
        )  # fmt: skip
        if not stored:
            return None  # a repeat of an event already recorded (and acted on)
        _esp_consequence(workspace=workspace, contact_id=contact_id, event_type=event_type, bounce_type=bounce_type)
    return event_type


def _esp_event_type(event) -> tuple[str | None, str | None]:
    kind = event.event_type
    if kind == "rejected" and event.reject_reason in {"bounced", "invalid"}:
        return "email.bounced", "hard"
    if kind == "rejected" and event.reject_reason == "unsubscribed":
        return "email.unsubscribed", None
    if kind == "rejected" and event.reject_reason == "spam":
        return "email.complained", None
    event_type = ESP_EVENT_TYPES.get(kind)
    if event_type != "email.bounced":
        return event_type, None
    payload = getattr(event, "esp_event", None) or {}
    detail = ""
    if isinstance(payload, Mapping):
        detail = str(payload.get("Type") or payload.get("type") or payload.get("severity") or "")
    return event_type, "soft" if detail.lower().replace("_", "") in _SOFT_BOUNCE_TYPES else "hard"


def _esp_consequence(*, workspace, contact_id, event_type: str, bounce_type: str | None) -> None:
    consequence = {
        ("email.bounced", "hard"): (Contact.Status.BOUNCED, Suppression.Reason.BOUNCED),
        ("email.complained", None): (Contact.Status.COMPLAINED, Suppression.Reason.COMPLAINED),
        ("email.unsubscribed", None): (Contact.Status.UNSUBSCRIBED, Suppression.Reason.UNSUBSCRIBED),
    }.get((event_type, bounce_type))
    if consequence is None:
        return
    status, reason = consequence
    contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None:
        return
    suppression_add(workspace=workspace, email=contact.email, reason=reason)
    # A complaint outranks a bounce, which outranks an unsubscribe: never downgrade.
    rank = {Contact.Status.SUBSCRIBED: 0, Contact.Status.UNSUBSCRIBED: 1, Contact.Status.BOUNCED: 2,
            Contact.Status.COMPLAINED: 3}  # fmt: skip
    if rank[status] > rank.get(contact.status, 0):
        contact_update(contact=contact, changes={"status": status}, source=Event.Source.ESP)


_ANGLE_IDS = re.compile(r"<([^<>\s]+)>")


def email_reply_record(*, esp: str, event) -> str | None:
    """Turn an anymail inbound message into `email.replied` (or an unsubscribe, when sent to the mailto: of
    List-Unsubscribe); return the event type recorded, or None when no contact could be found."""
    message = event.message
    if message is None:
        return None
    subject = str(message.get("Subject", "") or "")
    mailbox = unsubscribe_mailbox().lower()
    recipients = [addr.addr_spec.lower() for addr in (message.to or [])]
    if mailbox and mailbox in recipients:
        for word in subject.split():
            row = outbox_for_unsubscribe_token(word)
            if row is not None:
                email_unsubscribe(message=row, source=Event.Source.ESP, via="mailto")
                return "email.unsubscribed"
        logger.info("Inbound unsubscribe mail without a valid token: ignored")
        return None
    references = f"{message.get('In-Reply-To', '') or ''} {message.get('References', '') or ''}"
    row = None
    for candidate in reversed(_ANGLE_IDS.findall(references)):
        outbox_id = outbox_id_from_message_id(candidate)
        if outbox_id is not None:
            row = OutboxMessage.objects.select_related("workspace").filter(pk=outbox_id).first()
            if row is not None:
                break
    sender = message.from_email.addr_spec if message.from_email else None
    if row is not None:
        workspace, contact_id, properties = row.workspace, row.contact_id, email_event_properties(row)
    else:
        contact = _only_contact_with(sender)
        if contact is None:
            logger.info("Inbound mail from %r matches no single contact: dropped", sender)
            return None
        workspace, contact_id = contact.workspace, contact.pk
        properties = {"message_id": None, "node_id": None, "workflow_id": None}
    properties.update({"esp": esp.lower(), "subject": single_line(subject)[:300]})
    event_id = event.event_id or str(message.get("Message-ID", "") or "") or None
    events_emit(
        workspace=workspace,
        events=[NewEvent(type="email.replied", contact_id=contact_id, properties=properties,
                         occurred_at=event.timestamp, source=Event.Source.ESP,
                         client_id=esp_event_key(esp=esp, event_id=event_id, payload=str(message)))],
    )  # fmt: skip
    return "email.replied"
