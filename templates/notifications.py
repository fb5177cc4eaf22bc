"""Notifications: emails to a member of the team ABOUT a contact (the workflows' notify action), through the same
outbox as the messages to contacts, so they are stored once per key, delivered with the same retries and seen
wherever the outbox is seen.

A row of kind `notification` is not the contact's mail: delivery does not skip it for the contact's status or
suppression, it carries no List-Unsubscribe headers and no tracking, and what becomes of it (sent, opened,
bounced, replied) is no `email.*` event of the contact's (see `templates.delivery`, `templates.lanes`,
`templates.engagement`, `templates.esp_events`).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from templates.delivery_queue import schedule_delivery
from templates.headers import clean_address, message_id_header
from templates.models import OutboxMessage
from templates.outbox import OutboxResult
from templates.outbox_sql import insert_if_new, outbox_row

Status = OutboxMessage.Status


def notification_sender(workspace) -> str:
    """The From of a notification: the workspace's default sender, else the project's (as `email_send` picks)."""
    return clean_address(workspace.from_email or settings.DEFAULT_FROM_EMAIL, field="from_email")


def notification_send(
    *,
    key: str,
    workspace,
    contact: Contact,
    to_email: str,
    subject: str,
    text: str,
    html: str,
    node_id: str = "",
    workflow_id=None,
    enrollment_id=None,
) -> OutboxResult:
    """Store a notification to `to_email` (a team member) about `contact` under `key`; deliver it after commit.

    Exactly once per (workspace, key), like `email_send`: a repeat finds the row ("exists") and sends nothing.
    Raises InvalidAddress (400) for an unusable sender or recipient; nothing is stored then.
    """
    if not key or len(key) > 255:
        raise InvalidInput("The outbox key must be 1 to 255 characters.", details={"key": "Invalid length."})
    outbox_id = uuid.uuid4()
    row = outbox_row(
        id=outbox_id, workspace_id=workspace.pk, key=key, contact_id=contact.pk, template_id=None,
        node_id=node_id or "", workflow_id=workflow_id, enrollment_id=enrollment_id,
        kind=OutboxMessage.Kind.NOTIFICATION, to_email=clean_address(to_email, field="to"),
        from_email=notification_sender(workspace), message_id=message_id_header(outbox_id),
        subject=subject, text=text, html=html, status=Status.QUEUED, next_attempt_at=timezone.now(),
    )  # fmt: skip
    with transaction.atomic(savepoint=False):
        if not insert_if_new(row):
            existing = OutboxMessage.objects.filter(workspace=workspace, key=key).only("id", "status").first()
            if existing is None:  # pragma: no cover - the conflicting row cannot vanish once committed
                raise IntegrityError(f"outbox key {key!r} conflicted but is not there")
            return OutboxResult(outcome="exists", message_id=str(existing.pk), status=existing.status)
    schedule_delivery(row.id)
    return OutboxResult(outcome="queued", message_id=str(row.id), status=row.status)
