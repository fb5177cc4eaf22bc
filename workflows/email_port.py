"""The runtime's send_email effect: the step's effect key becomes the outbox key, so a retry never sends again."""

from __future__ import annotations

from typing import Any

from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from templates.models import EmailTemplate
from templates.outbox import SendOptions, email_send
from templates.rendering import TemplateRenderError
from workflows.engine.ports import EmailResult, PortError


def send_through_outbox(
    *,
    key: str,
    workspace,
    contact: Contact,
    template_id: str,
    origin,
    node_id: str,
    from_email: str | None,
    reply_to: str | None,
    track_opens: bool,
    track_clicks: bool,
    book,
    context: dict[str, Any],
) -> EmailResult:
    """Put the email in the outbox under the step's effect key; template or address problems are permanent."""
    template = book.templates.get(template_id)
    if template is None:
        try:
            template = EmailTemplate.objects.for_workspace(workspace).filter(pk=template_id).first()
        except (ValueError, TypeError):
            template = None
        if template is None:
            raise PortError(f"The email template {template_id} no longer exists (deleted?).", retryable=False)
        book.templates[template_id] = template
    enrollment_id = key.split(":", 1)[0]
    try:
        result = email_send(
            key=key, workspace=workspace, contact=contact, template=template, context=context,
            node_id=node_id, workflow_id=origin.workflow_id, enrollment_id=enrollment_id,
            from_email=from_email, reply_to=reply_to, track_opens=track_opens, track_clicks=track_clicks,
            options=SendOptions(held=book.held(), batch=book.outbox),
        )  # fmt: skip
    except (TemplateRenderError, InvalidInput) as error:
        raise as_port_error(error) from error
    status = result.status if result.outcome in ("queued", "exists") else result.outcome
    return EmailResult(message_id=result.message_id, status=status,
                       detail={"outcome": result.outcome, "detail": result.detail})


def as_port_error(error: TemplateRenderError | InvalidInput) -> PortError:
    """Return the step failure of an email that cannot be made: a template that does not render for the contact,
    or an address that cannot be used. Both are permanent: trying again gives the same answer."""
    problems = "; ".join(f"{part}: {text}" for part, text in (error.details or {}).items())
    if isinstance(error, TemplateRenderError):
        return PortError(f"The template did not render: {problems or error.message}", retryable=False)
    return PortError(f"The email could not be addressed: {problems or error.message}", retryable=False)
