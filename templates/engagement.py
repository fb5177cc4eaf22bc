"""What recipients do with the messages we sent, seen by our own links (CONTRACT §10): opens (the pixel),
clicks (the redirect) and unsubscribes (the one-click link, its page, or mail to the List-Unsubscribe mailto:).
Each becomes an `email.*` event; an unsubscribe also changes the contact and adds a suppression.

The tokens themselves, and how links are rewritten to carry them, are `templates.tracking`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, Suppression
from contacts.services import contact_update, suppression_add
from events.models import Event
from events.services import NewEvent, events_emit
from templates import tracking
from templates.models import OutboxMessage
from templates.outbox import email_event_properties

MESSAGE = OutboxMessage.Kind.MESSAGE  # only messages to contacts are tracked and can unsubscribe them


def email_track(
    *, kind: str, token: str, method: str = "GET", user_agent: str = "", now: datetime | None = None
) -> tuple[bool, str | None]:
    """Record an open or a click from a tracking token; return (known, redirect URL for clicks).

    An unknown, forged or foreign token returns (False, None) and writes nothing. Scanner and prefetch hits are
    recorded with flags {"bot": true, "reason": ...}, which event processing skips; an open fetched by a mail
    proxy (Apple Mail Privacy Protection) with {"machine_open": true, "reason": ...}.
    """
    parsed = tracking.read_token(kind, token)
    if parsed is None:
        return False, None
    outbox_id, index = parsed
    # A notification's engagement is a team member's, not the contact's (and it carries no tracking anyway).
    row = OutboxMessage.objects.select_related("workspace").filter(pk=outbox_id, kind=MESSAGE).first()
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
            flags=_flags(reason, None if kind == tracking.CLICK else tracking.machine_open_reason(user_agent)),
        )],
    )  # fmt: skip
    return True, url


def _flags(bot: str | None, machine: str | None) -> dict[str, object]:
    """A scanner's hit is a bot's (processing skips it); a proxy's prefetch of an open is a machine's (it counts
    as an open, but not as a moment the contact reads: send-time optimization leaves it out)."""
    if bot:
        return {"bot": True, "reason": bot}
    return {"machine_open": True, "reason": machine} if machine else {}


def outbox_for_unsubscribe_token(token: str) -> OutboxMessage | None:
    parsed = tracking.read_token(tracking.UNSUBSCRIBE, token)
    if parsed is None:
        return None
    return OutboxMessage.objects.select_related("workspace", "contact").filter(pk=parsed[0], kind=MESSAGE).first()


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
