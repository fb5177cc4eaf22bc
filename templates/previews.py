"""What an email would be, rendered and addressed exactly as the outbox stores and delivery sends it, with
nothing stored or sent: the node test of `send_email` shows it (CONTRACT §5a).

It builds an outbox row in memory with the code `email_send` uses (`message_senders`, `message_compose`) and
writes it with delivery's own `wire_message`, so the headers shown are the ones a recipient would get. The
tracking and unsubscribe links carry the tokens of a message id that no row has: they lead nowhere.
"""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy
from typing import Any

from contacts.models import Contact
from templates.headers import list_unsubscribe, message_id_header
from templates.mime import wire_message
from templates.models import EmailTemplate, OutboxMessage
from templates.outbox import message_compose, message_recipient, message_senders

__all__ = ["email_preview"]


def email_preview(
    *, workspace, template: EmailTemplate, contact: Contact, context: dict[str, Any], from_email: str | None,
    reply_to: str | None, track_opens: bool, track_clicks: bool,
) -> dict[str, Any]:
    """Return `{from, to, reply_to, subject, headers, text, html, links}` of the email `template` would be for
    `contact` (saved or not). Raises TemplateRenderError or InvalidAddress as `email_send` would."""
    row = OutboxMessage(id=uuid.uuid4(), workspace=workspace, contact=contact, template=template,
                        to_email=message_recipient(contact))
    row.from_email, row.reply_to = message_senders(workspace=workspace, from_email=from_email, reply_to=reply_to)
    row.message_id = message_id_header(row.id)
    message_compose(row, workspace=workspace, contact=contact, template=template, context=context,
                    track_opens=track_opens, track_clicks=track_clicks)
    head = wire_message(row, list_unsubscribe=list_unsubscribe(row.id)).data.split(b"\r\n\r\n", 1)[0]
    headers = message_from_bytes(head + b"\r\n\r\n", policy=policy.default)
    return {
        "from": row.from_email,
        "to": row.to_email,
        "reply_to": row.reply_to,
        "subject": row.subject,
        "headers": {name: str(value) for name, value in headers.items()},
        "text": row.text,
        "html": row.html,
        "links": list(row.links),
    }
