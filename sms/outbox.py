"""The SMS outbox: `sms_send` stores one rendered SMS for a contact under a key, exactly once per (workspace,
key), after asking for consent under the contact's row lock; its delivery is enqueued once the caller's
transaction commits (`sms.delivery` hands it over)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.consent import reachability
from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from sms.delivery_queue import schedule_delivery
from sms.models import SmsMessage
from sms.segments import MAX_CHARACTERS, MAX_SEGMENTS, SmsShape, sms_shape

Status = SmsMessage.Status


@dataclass(frozen=True)
class SmsResult:
    """What `sms_send` did.

    outcome: "queued" (a new row; delivery enqueued after commit), "exists" (the key had its row: nothing new;
    `status` is that row's) or "suppressed" (the contact may not be sent an SMS: no number, no consent,
    unsubscribed or opted out of the topic; `reason` says which). A suppressed send stores a `skipped` row, so a
    repeat of the key answers "exists" with status `skipped`.
    """

    outcome: str
    message_id: str
    status: str
    reason: str | None = None
    shape: dict[str, Any] = field(default_factory=dict)

    @property
    def will_send(self) -> bool:
        return self.status in {Status.QUEUED, Status.SENDING, Status.SENT, Status.DELIVERED}


def sms_send(
    *,
    key: str,
    workspace,
    contact: Contact,
    text: str,
    locked: bool = False,
    node_id: str | None = None,
    workflow_id=None,
    enrollment_id=None,
    topic: str | None = None,
) -> SmsResult:
    """Store the SMS `text` (rendered already) for `contact` under `key`; deliver it after commit.

    Exactly once per (workspace, key). Consent is asked (`contacts.consent.reachability`) in this transaction
    with the contact row locked: by the caller (`locked=True`: it holds `select_for_update` on the row and passes
    it as it now is) or here. Raises InvalidInput (400) for a key, or a text that is empty or too long to send
    (over MAX_CHARACTERS characters or MAX_SEGMENTS segments): nothing is stored and trying again gives the same
    answer.
    """
    if not key or len(key) > 255:
        raise InvalidInput("The SMS key must be 1 to 255 characters.", details={"key": "Invalid length."})
    shape = sms_text_check(text)
    with transaction.atomic(savepoint=False):
        if not locked or not transaction.get_connection().in_atomic_block:
            contact = _locked(workspace, contact)
        existing = _existing(workspace, key)
        if existing is not None:
            return existing
        reach = reachability(contact, "sms", topic=topic)
        row = SmsMessage(
            id=uuid.uuid4(), workspace_id=workspace.pk, key=key, contact_id=contact.pk, node_id=node_id or "",
            workflow_id=workflow_id, enrollment_id=enrollment_id, topic=topic or "", to_phone=contact.phone or "",
            from_phone=settings.SMS_FROM, body=text, encoding=shape.encoding, segments=shape.segments,
        )  # fmt: skip
        if reach.ok:
            row.status, row.next_attempt_at = Status.QUEUED, timezone.now()
        else:
            row.status, row.error = Status.SKIPPED, f"Not reachable by SMS: {reach.reason}."
        if not _insert_if_new(row):
            return _existing(workspace, key) or _lost(key)
    if row.status == Status.QUEUED:
        schedule_delivery(row.pk)
        return SmsResult("queued", str(row.pk), row.status, shape=shape.as_dict())
    return SmsResult("suppressed", str(row.pk), row.status, reason=reach.reason, shape=shape.as_dict())


def sms_text_check(text: str) -> SmsShape:
    """Return the shape of a rendered text; InvalidInput when it cannot be sent as one SMS message."""
    shape = sms_shape(text)
    if not text.strip():
        raise InvalidInput("The SMS text is empty once rendered.", details={"text": "Empty after rendering."})
    if shape.too_long:
        raise InvalidInput(
            f"The SMS text is too long: {shape.characters} characters in {shape.segments} {shape.encoding} segments "
            f"(at most {MAX_CHARACTERS} characters and {MAX_SEGMENTS} segments).",
            details={"text": f"{shape.segments} segments, {shape.characters} characters."},
        )
    return shape


def _locked(workspace, contact: Contact) -> Contact:
    found = (
        Contact.objects.select_for_update(no_key=True)
        .filter(pk=contact.pk, workspace_id=workspace.pk)
        .first()
    )
    if found is None:
        raise Contact.DoesNotExist(f"No contact {contact.pk} in workspace {workspace.pk}.")
    return found


def _insert_if_new(row: SmsMessage) -> bool:
    """INSERT unless the (workspace, key) exists: ON CONFLICT waits for a concurrent inserter of the same key and
    then does nothing (no savepoint, no error to recover from). Return whether it was inserted."""
    SmsMessage.objects.bulk_create([row], ignore_conflicts=True)
    return SmsMessage.objects.filter(pk=row.pk).exists()


def _existing(workspace, key: str) -> SmsResult | None:
    row = (SmsMessage.objects.filter(workspace_id=workspace.pk, key=key)
           .only("id", "status", "error", "encoding", "segments").first())  # fmt: skip
    if row is None:
        return None
    return SmsResult("exists", str(row.pk), row.status, reason=row.error or None,
                     shape={"encoding": row.encoding, "segments": row.segments})  # fmt: skip


def _lost(key: str) -> SmsResult:  # pragma: no cover - a conflicting row cannot vanish once committed
    raise RuntimeError(f"SMS key {key!r} conflicted but is not there")


def sms_event_properties(row, **extra) -> dict[str, Any]:
    """Return what every `sms.*` event says of its message: an SMS row, or what delivery read of one."""
    return {
        "message_id": str(row.pk),
        "node_id": row.node_id or None,
        "workflow_id": str(row.workflow_id) if row.workflow_id else None,
        **extra,
    }
