"""What ESPs tell us through django-anymail's webhooks (its tracking and inbound signals; see
`templates.receivers`): delivery events (delivered, opened, clicked, bounced, complained, unsubscribed) become
`email.*` events, deduplicated by the ESP's event id, with their consequences for the contact; inbound mail
becomes `email.replied`, or an unsubscribe when sent to our List-Unsubscribe mailbox.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from contacts.models import Contact, Suppression
from contacts.services import contact_update, suppression_add
from events.models import Event
from events.services import NewEvent, events_emit
from templates.engagement import email_unsubscribe, outbox_for_unsubscribe_token
from templates.headers import outbox_id_from_message_id, unsubscribe_mailbox
from templates.models import OutboxMessage
from templates.outbox import email_event_properties
from templates.rendering import single_line

logger = logging.getLogger(__name__)

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


def _notification(row: OutboxMessage | None) -> bool:
    """Whether the row is a notification to a team member: what becomes of it is no event of its contact's (a
    bounce or a complaint must not suppress the contact)."""
    return row is not None and row.kind == OutboxMessage.Kind.NOTIFICATION


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
    if _notification(row):
        logger.info("ESP %s event %s of notification %s: not the contact's, dropped", esp, event.event_type, row.pk)
        return None
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
    if _notification(row):
        logger.info("Inbound mail answering notification %s: a team member's reply, not the contact's", row.pk)
        return None
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
