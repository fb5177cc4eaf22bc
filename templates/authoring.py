"""Email templates as their authors write them: create and update (Liquid syntax and render budget checked at
save, so a template that cannot parse is never stored) and preview (rendered, never stored or sent).
"""

from __future__ import annotations

from liquid import Environment
from liquid.exceptions import LiquidError

from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from templates import tracking
from templates.models import EmailTemplate
from templates.rendering import (
    RenderedEmail,
    error_line,
    message_variables,
    render_parts,
    template_budget_errors,
)

liquid_env = Environment()


def template_syntax_errors(*, subject: str, html: str, text: str) -> dict[str, str]:
    """Return `{part: "line N: message"}` for each part whose Liquid does not parse."""
    errors = {}
    for part, source in (("subject", subject), ("html", html), ("text", text)):
        if not source:
            continue
        try:
            liquid_env.from_string(source)
        except LiquidError as error:
            errors[part] = f"line {error_line(error, source)}: {error.message}"
    return errors


def _check(*, subject: str, html: str, text: str) -> None:
    errors = template_syntax_errors(subject=subject, html=html, text=text)
    if errors:
        raise InvalidInput("The template has Liquid syntax errors.", details=errors, code="template_syntax_error")
    over = template_budget_errors(subject=subject, html=html, text=text)
    if over:
        raise InvalidInput("The template goes over its render budget.", details=over, code="template_over_budget")


def template_create(*, workspace, name: str, subject: str, html: str, text: str = "") -> EmailTemplate:
    _check(subject=subject, html=html, text=text)
    return EmailTemplate.objects.create(workspace=workspace, name=name, subject=subject, html=html, text=text)


def template_update(*, template: EmailTemplate, **changes) -> EmailTemplate:
    merged = {part: changes.get(part, getattr(template, part)) for part in ("subject", "html", "text")}
    _check(**merged)
    for name, value in changes.items():
        setattr(template, name, value)
    template.save()
    return template


def template_preview(
    *, template: EmailTemplate, contact: Contact | None = None, contact_data: dict | None = None,
    context: dict | None = None,
) -> RenderedEmail:
    """Render a template for a stored contact or for contact attributes given inline; nothing is stored or sent.

    Links are not rewritten and `unsubscribe_url` points at a harmless preview page.
    """
    if contact is None:
        contact = contact_for_preview(workspace=template.workspace, data=contact_data or {})
    variables = message_variables(
        workspace=template.workspace, contact=contact, context=context or {},
        unsubscribe=tracking.public_url("/u/preview"),
    )
    return render_parts(template=template, variables=variables)


def contact_for_preview(*, workspace, data: dict) -> Contact:
    """Return an unsaved contact built from attributes given inline (a preview of a contact that may not exist);
    values of the wrong type are left at their defaults."""
    data = dict(data)
    contact = Contact(
        workspace=workspace,
        email=str(data.get("email", "preview@example.com")),
        first_name=str(data.get("first_name", "")),
        last_name=str(data.get("last_name", "")),
        timezone=str(data.get("timezone", "")),
        status=str(data.get("status", Contact.Status.SUBSCRIBED)),
        score=data.get("score", 0) if isinstance(data.get("score", 0), int) else 0,
        fields=data.get("fields") if isinstance(data.get("fields"), dict) else {},
        tags=[str(tag) for tag in data.get("tags", [])] if isinstance(data.get("tags"), list) else [],
        external_id=data.get("external_id"),
    )
    contact.id = None
    return contact
