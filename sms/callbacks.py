"""What the provider tells us (its callbacks, signature checked by the views): status changes of our messages
become `sms.sent`, `sms.delivered` and `sms.failed`; inbound messages become `sms.received`, and the STOP family
withdraws SMS consent while START/UNSTOP restores it. Each is recorded once, however often the provider repeats
it (events are deduplicated by client id, and a consequence happens only with its event)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from contacts.consent import consent_set
from contacts.models import Contact
from events.models import Event
from events.services import NewEvent, events_emit
from sms.models import SmsMessage
from sms.outbox import sms_event_properties

logger = logging.getLogger(__name__)

Status = SmsMessage.Status

# The provider's MessageStatus → our event, the status the row moves to, and the statuses it may move from.
_STATUS_EVENTS = {
    "sent": ("sms.sent", Status.SENT, {Status.SENDING, Status.UNKNOWN}),
    "delivered": ("sms.delivered", Status.DELIVERED, {Status.SENDING, Status.SENT, Status.UNKNOWN}),
    "undelivered": ("sms.failed", Status.FAILED, {Status.SENDING, Status.SENT, Status.UNKNOWN}),
    "failed": ("sms.failed", Status.FAILED, {Status.SENDING, Status.SENT, Status.UNKNOWN}),
}
# Carrier-standard opt-out and opt-in keywords (CTIA; Twilio's defaults), matched as the whole message.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP"})


def sms_status_record(*, params: Mapping[str, str], message_hint: str | None) -> str | None:
    """Record one status callback; return the event type it recorded (None: ignored, or a repeat).

    The row is found by our id in the callback URL (`message_hint`), else by the provider's MessageSid. A
    callback settles an `unknown` row: the provider has the message, so it was handed over.
    """
    provider_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    mapped = _STATUS_EVENTS.get(provider_status)
    if mapped is None:
        return None  # queued, sending, accepted, read...: not events of the catalogue
    event_type, to, sources = mapped
    row = _row_for(message_hint, params.get("MessageSid") or params.get("SmsSid"))
    if row is None:
        logger.info("SMS status callback for unknown message %s: dropped", params.get("MessageSid"))
        return None
    now = timezone.now()
    sid = params.get("MessageSid") or row.provider_sid
    properties = sms_event_properties(row, provider_sid=sid, provider_status=provider_status)
    if event_type == "sms.failed":
        properties["error_code"] = params.get("ErrorCode") or None
    suffix = event_type.removeprefix("sms.")
    with transaction.atomic():
        values = {"status": to, "updated_at": now, "provider_sid": sid}
        values |= {"delivered_at": now} if to == Status.DELIVERED else {}
        values |= {"sent_at": row.sent_at or now} if to == Status.SENT else {}
        values |= {"error": f"The provider reported '{provider_status}' (error {params.get('ErrorCode') or '-'})."
                   } if to == Status.FAILED else {}  # fmt: skip
        SmsMessage.objects.filter(pk=row.pk, status__in=sources).update(**values)
        stored = events_emit(workspace=row.workspace_id, events=[
            NewEvent(type=event_type, contact_id=row.contact_id, properties=properties, occurred_at=now,
                     source=Event.Source.ESP, client_id=f"sms:{row.pk}:{suffix}"),
        ])  # fmt: skip
    return event_type if stored else None


def _row_for(hint: str | None, sid: str | None) -> SmsMessage | None:
    if hint:
        try:
            row = SmsMessage.objects.filter(pk=uuid.UUID(hint)).first()
        except ValueError:
            row = None
        if row is not None:
            return row
    if sid:
        return SmsMessage.objects.filter(provider_sid=sid).first()
    return None


def keyword_of(body: str) -> str | None:
    """The opt-out/opt-in keyword a message is (the whole message, any case, around spaces and a full stop)."""
    word = body.strip().strip(".!").strip().upper()
    return word if word in STOP_WORDS or word in START_WORDS else None


def sms_inbound_record(*, params: Mapping[str, str]) -> list[str]:
    """Record an inbound SMS as `sms.received` for every contact with the sender's number; return their ids.

    The sending number is shared by the workspaces (SMS_FROM), and the carrier applies STOP to the sender, not to
    one workspace: a STOP withdraws the SMS consent of every contact with that number, START restores it.
    A repeat of the same MessageSid changes nothing.
    """
    sender, body, sid = params.get("From") or "", params.get("Body") or "", params.get("MessageSid") or ""
    if not sender or not sid:
        return []
    keyword = keyword_of(body)
    recorded: list[str] = []
    now = timezone.now()
    for contact in _contacts_with(sender):
        properties = {"text": body[:1600], "from": sender, "to": params.get("To") or "", "provider_sid": sid,
                      "keyword": keyword}  # fmt: skip
        with transaction.atomic():
            stored = events_emit(workspace=contact.workspace_id, events=[
                NewEvent(type="sms.received", contact_id=contact.pk, properties=properties, occurred_at=now,
                         source=Event.Source.ESP, client_id=f"sms:in:{sid}"),
            ])  # fmt: skip
            if not stored:
                continue  # the provider repeated a message already recorded (and acted on)
            if keyword is not None:
                _consent_from_keyword(contact.pk, keyword=keyword, params=params, at=now)
        recorded.append(str(contact.pk))
    if not recorded:
        logger.info("Inbound SMS %s from a number no contact has: dropped", sid)
    return recorded


def _contacts_with(phone: str):
    """The contacts with this number: in the workspaces that texted it (through their phone index), else, for a
    number we never texted, in every workspace (a scan, for rare messages from strangers)."""
    workspaces = list(
        SmsMessage.objects.filter(to_phone=phone).values_list("workspace_id", flat=True).distinct()
    )
    contacts = Contact.objects.filter(phone=phone).only("id", "workspace_id")
    found = list(contacts.filter(workspace_id__in=workspaces)) if workspaces else []
    return found or list(contacts)


def _consent_from_keyword(contact_id, *, keyword: str, params: Mapping[str, str], at) -> None:
    contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None:
        return
    status = "unsubscribed" if keyword in STOP_WORDS else "subscribed"
    proof = {"keyword": keyword, "provider_sid": params.get("MessageSid"), "from": params.get("From"),
             "to": params.get("To"), "received_at": at.isoformat()}  # fmt: skip
    consent_set(contact=contact, channel="sms", status=status, source="sms_keyword", proof=proof)
