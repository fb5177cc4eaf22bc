"""Consent per contact and channel (CONTRACT §13): who may be sent email, SMS and web push, and the proof.

`Contact.channels` holds the current state of each channel, `ConsentRecord` every change with its proof. Email's
consent is the contact's `status` (as it was before there were other channels); its entry in `channels` is kept in
step by `consent_set` and shown derived from `status` by `channels_view`. Every send calls `reachability` inside
its transaction, with the contact's row locked, as email's outbox already checks suppression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts.models import ConsentRecord, Contact
from events.models import Event
from events.services import event_emit
from penguinflow.common.errors import InvalidInput

__all__ = ["CHANNELS", "STATUSES", "Reach", "channels_view", "consent_set", "reachability"]

CHANNELS = ("email", "sms", "push")
STATUSES = ("subscribed", "unsubscribed")
SUBSCRIBED = "subscribed"


@dataclass(frozen=True, slots=True)
class Reach:
    """Whether a message may go to the contact on a channel, and if not why: "no_address" (no email, phone or
    push subscription), "no_consent" (never opted in: SMS needs an explicit opt-in), "unsubscribed" (opted out,
    bounced or complained) or "topic_opted_out" (the contact opted out of the message's topic)."""

    ok: bool
    reason: str | None = None


REACHABLE = Reach(True)


def reachability(contact: Contact, channel: str, *, topic: str | None = None) -> Reach:
    """Return whether `contact` may receive a message on `channel` about `topic`, as the contact is now.

    Call it with the contact's row locked in the send's transaction: an opt-out that commits first then wins.
    """
    if channel not in CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}")
    if topic and topic in contact.topic_opt_outs:
        return Reach(False, "topic_opted_out")
    entry = contact.channels.get(channel) or {}
    if channel == "email":
        if not contact.email:
            return Reach(False, "no_address")
        return REACHABLE if contact.status == Contact.Status.SUBSCRIBED else Reach(False, "unsubscribed")
    if channel == "sms":
        if not contact.phone:
            return Reach(False, "no_address")
        if not entry:
            return Reach(False, "no_consent")
        return REACHABLE if entry.get("status") == SUBSCRIBED else Reach(False, "unsubscribed")
    # Push: the browser's permission prompt is the opt-in, so a stored subscription ("devices") is consent
    # until the contact opts out.
    if int(entry.get("devices") or 0) <= 0:
        return Reach(False, "no_address")
    return Reach(False, "unsubscribed") if entry.get("status") == "unsubscribed" else REACHABLE


def channels_view(contact: Contact) -> dict[str, dict[str, Any]]:
    """Return the contact's consent per channel as the API shows it: email always (from `status`), the others
    once the contact has been asked (a channel left out has never been given nor refused)."""
    view: dict[str, dict[str, Any]] = {}
    for channel in CHANNELS:
        entry = dict(contact.channels.get(channel) or {})
        if channel == "email":
            status = SUBSCRIBED if contact.status == Contact.Status.SUBSCRIBED else "unsubscribed"
            if entry.get("status") != status:  # changed through `status` (unsubscribe link, bounce, API)
                entry = {"status": status, "source": f"status:{contact.status}", "at": None}
        if entry.get("status") is None:
            continue
        view[channel] = {"status": entry["status"], "source": entry.get("source"), "at": entry.get("at"),
                         **({"devices": int(entry.get("devices") or 0)} if channel == "push" else {})}
    return view


@transaction.atomic
def consent_set(
    *,
    contact: Contact,
    channel: str,
    status: str,
    source: str,
    proof: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    event_source: str = Event.Source.SYSTEM,
) -> Contact:
    """Record that the contact subscribed to or unsubscribed from `channel`, with where it came from (`source`:
    api, form, sms_keyword, preference_page...) and its `proof`; emit `contact.updated` when the status changed.

    Email's consent is the contact's `status` too: unsubscribing sets it; subscribing sets it back, except after a
    hard bounce (an address that does not exist is not cured by consent).
    """
    if channel not in CHANNELS:
        raise InvalidInput("Unknown channel.", details={"channel": f"One of {', '.join(CHANNELS)}."})
    if status not in STATUSES:
        raise InvalidInput("Unknown consent status.", details={"status": f"One of {', '.join(STATUSES)}."})
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    at = at or timezone.now()
    before = channels_view(contact).get(channel, {}).get("status")
    contact.channels = {**contact.channels,
                        channel: {**(contact.channels.get(channel) or {}), "status": status, "source": source,
                                  "at": at.isoformat()}}
    changes: dict[str, list[Any]] = {}
    if channel == "email" and contact.status != Contact.Status.BOUNCED:
        new_status = Contact.Status.SUBSCRIBED if status == SUBSCRIBED else Contact.Status.UNSUBSCRIBED
        if contact.status != new_status:
            changes["status"] = [contact.status, new_status]
            contact.status = new_status
    contact.save(update_fields=["channels", "status", "updated_at"])
    ConsentRecord.objects.create(workspace_id=contact.workspace_id, contact=contact, channel=channel, status=status,
                                 source=source, proof=dict(proof or {}), at=at)
    if before != status:
        changes[f"channels.{channel}"] = [before, status]
    if changes:
        event_emit(workspace=contact.workspace, type="contact.updated", contact_id=contact.id,
                   properties={"changes": changes, "consent": {"channel": channel, "source": source}},
                   source=event_source)
    return contact
