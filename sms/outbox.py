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
from sms.outbox_sql import insert_new
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
    batch: SmsBatch | None = None,
    node_id: str | None = None,
    workflow_id=None,
    enrollment_id=None,
    topic: str | None = None,
) -> SmsResult:
    """Store the SMS `text` (rendered already) for `contact` under `key`; deliver it after commit.

    Exactly once per (workspace, key). Consent is asked (`contacts.consent.reachability`) in this transaction
    with the contact row locked: by the caller (`locked=True`: it holds `select_for_update` on the row and passes
    it as it now is) or here. A caller that sends many SMS in one transaction and holds their contacts (a
    runtime batch) passes a `batch`: the rows are then written in one statement by `SmsBatch.flush` before it
    commits. Raises InvalidInput (400) for a key, or a text that is empty or too long to send (over
    MAX_CHARACTERS characters or MAX_SEGMENTS segments): nothing is stored and trying again gives the same answer.
    """
    if not key or len(key) > 255:
        raise InvalidInput("The SMS key must be 1 to 255 characters.", details={"key": "Invalid length."})
    shape = sms_text_check(text)
    in_transaction = transaction.get_connection().in_atomic_block
    if batch is not None and not (locked and in_transaction):
        raise ValueError("An SmsBatch needs the caller's transaction and its locked contacts.")
    if batch is not None and (earlier := batch.get(workspace.pk, key)) is not None:
        return _result(earlier, outcome="exists", shape=shape)
    with transaction.atomic(savepoint=False):
        if not locked or not in_transaction:
            contact = _locked(workspace, contact)
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
        if batch is not None:
            batch.add(
                row
            )  # a key already stored is found by the flush (SmsConflict: the caller redoes its work)
        elif not insert_new([row]):
            # This key has its row: a step run again, or another process at the same moment (we waited on its
            # unique-index entry until it committed).
            existing = _existing(workspace, key)
            if existing is None:  # pragma: no cover - a conflicting row cannot vanish once committed
                raise RuntimeError(f"SMS key {key!r} conflicted but is not there")
            return existing
    if batch is None and row.status == Status.QUEUED:
        schedule_delivery(row.pk)
    return _result(row, outcome="queued" if reach.ok else "suppressed", shape=shape, reason=reach.reason)


def _result(row: SmsMessage, *, outcome: str, shape: SmsShape, reason: str | None = None) -> SmsResult:
    return SmsResult(outcome, str(row.pk), row.status, reason=reason, shape=shape.as_dict())


class SmsConflict(Exception):
    """`SmsBatch.flush` found keys that were already stored: the answers it gave for them were wrong, so the
    caller's transaction must roll back (and its work be done again without a batch)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"{len(keys)} SMS keys already existed: {', '.join(keys[:5])}")
        self.keys = keys


class SmsBatch:
    """The SMS rows of one transaction, written in one statement at its end instead of one INSERT per send (the
    runtime's batches; see templates.outbox.OutboxBatch, which this mirrors). Valid for one transaction."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Any, str], SmsMessage] = {}
        self._flushed = False

    def get(self, workspace_id, key: str) -> SmsMessage | None:
        return self._rows.get((workspace_id, key))

    def add(self, row: SmsMessage) -> None:
        if self._flushed:  # a send after the flush would never be written: a bug of the caller's, said loudly
            raise RuntimeError("This SMS batch was flushed already; a later send needs a batch of its own.")
        self._rows[(row.workspace_id, row.key)] = row

    def flush(self) -> int:
        """INSERT the collected rows in one statement, enqueue the delivery of the queued ones after commit;
        return how many were written. Raises SmsConflict (nothing to keep: roll back) if a key existed."""
        rows = list(self._rows.values())
        self._rows.clear()
        self._flushed = True
        if not rows:
            return 0
        written = insert_new(rows)
        if len(written) != len(rows):
            raise SmsConflict(sorted(row.key for row in rows if (row.workspace_id, row.key) not in written))
        for row in rows:
            if row.status == Status.QUEUED:
                schedule_delivery(row.pk)
        return len(rows)


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


def _existing(workspace, key: str) -> SmsResult | None:
    row = (SmsMessage.objects.filter(workspace_id=workspace.pk, key=key)
           .only("id", "status", "error", "encoding", "segments").first())  # fmt: skip
    if row is None:
        return None
    return SmsResult("exists", str(row.pk), row.status, reason=row.error or None,
                     shape={"encoding": row.encoding, "segments": row.segments})  # fmt: skip


def sms_event_properties(row, **extra) -> dict[str, Any]:
    """Return what every `sms.*` event says of its message: an SMS row, or what delivery read of one."""
    return {
        "message_id": str(row.pk),
        "node_id": row.node_id or None,
        "workflow_id": str(row.workflow_id) if row.workflow_id else None,
        **extra,
    }
