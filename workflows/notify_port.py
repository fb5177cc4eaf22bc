"""The notify action for real: an email to members of the team about the contact, through the outbox.

The recipients are the listed addresses, each a member of the workspace, or its admins at run time. The subject
and message are Liquid, rendered with what an email template sees (the contact, the workspace, the enrollment's
`event` and `enrollment`). Each recipient gets one outbox row of kind `notification`, keyed from the step's effect
key, so a step run again sends nothing twice, and the row commits with the step. The node test's preview
(`notify_preview`) and the live port (`LiveNotify`) go through the same functions, so a preview shows exactly
what would be queued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, linebreaks
from liquid.exceptions import LiquidError

from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from tasks import services as task_services
from templates.headers import clean_address
from templates.notifications import notification_send, notification_sender
from templates.rendering import contact_variables, single_line, text_template, workspace_variables
from workflows.engine.ports import PortError
from workflows.models import Workflow

ADMINS = "workspace_admins"
SUBJECT_MAX = 998  # the outbox's subject column (RFC 5322's line limit)


@dataclass(frozen=True)
class Recipient:
    email: str  # as the member's account has it
    to_email: str  # the To of the message: "Name <address>"


@dataclass(frozen=True)
class RenderedNotification:
    subject: str
    text: str
    html: str


def notification_recipients(*, workspace, to: list[str] | str) -> list[Recipient]:
    """Return whom a notify step sends to: the listed members, or the workspace's admins now.

    Raises PortError (permanent: trying again gives the same answer) when an address is no member of the
    workspace, or when it has no admins.
    """
    if to == ADMINS:
        users = task_services.workspace_admins(workspace=workspace)
        if not users:
            raise PortError("The workspace has no admins to notify: give a member the admin role, or list the "
                            "addresses in the step's 'to'.", retryable=False)
    else:
        members = task_services.workspace_members_by_email(workspace=workspace, emails=to)
        missing = [email for email in to if email.strip().lower() not in members]
        if missing:
            who = ", ".join(missing)
            raise PortError(f"{who} {'is' if len(missing) == 1 else 'are'} not a member of this workspace: add "
                            "them to it, or change the step's 'to'.", retryable=False)
        users = [members[email.strip().lower()] for email in to]
    recipients, seen = [], set()
    for user in users:
        if user.pk not in seen:  # an address listed twice (in another case) is one member: one email
            seen.add(user.pk)
            recipients.append(Recipient(email=user.email, to_email=_to_email(user)))
    return recipients


def _to_email(user) -> str:
    """The member's `Name <address>` as the outbox stores it; PortError (permanent) for an account's address
    that no message can go to."""
    name = single_line(user.get_full_name())
    try:
        return clean_address(formataddr((name, user.email)) if name else user.email, field="to")
    except InvalidInput as error:
        raise PortError(f"The member {user.email!r} has no address a notification can go to: correct it in "
                        "their account.", retryable=False) from error


def notification_render(
    *, workspace, contact: Contact, subject: str, message: str, context: dict[str, Any],
    workflow_name: str | None = None,
) -> RenderedNotification:
    """Render the subject and message against the contact; the body says what it is about and links to the
    contact. Raises PortError (permanent) when the subject or the message cannot render."""
    variables = {key: value for key, value in context.items() if isinstance(key, str)}
    variables.setdefault("event", {})
    variables.setdefault("enrollment", {})
    variables["contact"] = contact_variables(contact)
    variables["workspace"] = workspace_variables(workspace)
    rendered_subject = single_line(_render(subject, variables, "subject"))[:SUBJECT_MAX]
    text = _render(message, variables, "message").strip()
    who = variables["contact"]
    label = f"{who['name']} <{who['email']}>" if who["name"] else who["email"]
    about = f'About {label} in the workflow "{workflow_name}".' if workflow_name else f"About {label}."
    link = _contact_url(contact)
    footer = f"{about}\n{link}" if link else about
    html_about = format_html('{} <a href="{}">Open the contact</a>', about, link) if link else format_html("{}", about)
    return RenderedNotification(
        subject=rendered_subject,
        text=f"{text}\n\n--\n{footer}\n" if text else f"{footer}\n",
        # The message is plain text: escaped, its blank lines made paragraphs and its line breaks <br>.
        html=f"<html><body>{linebreaks(text, autoescape=True)}<hr><p>{html_about}</p></body></html>",
    )


def _render(source: str, variables: dict[str, Any], what: str) -> str:
    if "{" not in source:
        return source
    try:
        return text_template(source).render(**variables)
    except LiquidError as error:  # the budget's limits are LiquidErrors too
        raise PortError(f"The notification's {what} could not be rendered: {error.message}",
                        retryable=False) from error
    except (TypeError, ValueError, ArithmeticError, RecursionError) as error:  # filters on odd data
        raise PortError(f"The notification's {what} could not be rendered: {error}", retryable=False) from error


def _contact_url(contact: Contact) -> str | None:
    """The contact's page in the admin on the public base URL; None for a contact not stored (a preview's)."""
    if contact._state.adding or not settings.PUBLIC_BASE_URL:
        return None
    try:
        return settings.PUBLIC_BASE_URL + reverse("admin:contacts_contact_change", args=[contact.pk])
    except NoReverseMatch:  # no admin in this deployment: the text names the contact all the same
        return None


def notify_preview(
    *, workspace, contact: Contact, to: list[str] | str, subject: str, message: str, context: dict[str, Any],
    workflow_name: str | None = None,
) -> dict[str, Any]:
    """Return the notification a notify step would queue (`to`, `subject`, `text`, `html`), queueing nothing.

    Raises PortError with the reason the step would fail for (a non-member, no admins, a template that does not
    render).
    """
    recipients = notification_recipients(workspace=workspace, to=to)
    rendered = notification_render(workspace=workspace, contact=contact, subject=subject, message=message,
                                   context=context, workflow_name=workflow_name)
    return {"to": [recipient.to_email for recipient in recipients], "subject": rendered.subject,
            "text": rendered.text, "html": rendered.html}


def recipient_key(key: str, email: str) -> str:
    """The outbox key of one recipient's notification: the step's effect key and the address (hashed when the
    two would not fit the outbox's 255 characters)."""
    address = email.strip().lower()
    full = f"{key}:notify:{address}"
    return full if len(full) <= 255 else f"{key}:notify:{hashlib.sha256(address.encode()).hexdigest()[:40]}"


class LiveNotify:
    """notify: one outbox notification per recipient, written in the batch's transaction, once per effect key."""

    def __init__(self, book, origin, workspace) -> None:
        self.book, self.origin, self.workspace = book, origin, workspace
        self._workflow_name: str | None = None

    def notify(self, *, key: str, contact_id: str, to: list[str] | str, subject: str, message: str) -> dict[str, Any]:
        contact = self.book.get(contact_id)
        recipients = notification_recipients(workspace=self.workspace, to=to)
        enrollment_id = key.split(":", 1)[0]
        rendered = notification_render(
            workspace=self.workspace, contact=contact, subject=subject, message=message,
            context=self.book.template_context.get(enrollment_id, {}), workflow_name=self.workflow_name(),
        )  # fmt: skip
        try:
            notification_sender(self.workspace)
        except InvalidInput as error:
            raise PortError("The workspace's from_email is not a valid address: correct it to send notifications.",
                            retryable=False) from error
        # Every address was checked above: nothing below fails half-way, leaving some recipients notified and the
        # step failed (a step's effects commit with the batch, whatever its outcome).
        origin = self.origin.properties(key)
        message_ids = [
            notification_send(
                key=recipient_key(key, recipient.email), workspace=self.workspace, contact=contact,
                to_email=recipient.to_email, subject=rendered.subject, text=rendered.text, html=rendered.html,
                node_id=origin["node_id"], workflow_id=self.origin.workflow_id, enrollment_id=enrollment_id,
            ).message_id
            for recipient in recipients
        ]  # fmt: skip
        return {"to": [recipient.email for recipient in recipients], "subject": rendered.subject,
                "message_ids": message_ids}

    def workflow_name(self) -> str | None:
        if self._workflow_name is None:
            self._workflow_name = (Workflow.objects.filter(pk=self.origin.workflow_id)
                                   .values_list("name", flat=True).first()) or ""
        return self._workflow_name or None
