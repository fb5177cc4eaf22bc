"""Writes to email templates; Liquid syntax is checked at save time with line numbers."""

from __future__ import annotations

from liquid import Environment
from liquid.exceptions import LiquidError

from penguinflow.common.errors import InvalidInput
from templates.models import EmailTemplate

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
            errors[part] = f"line {_error_line(error, source)}: {error.message}"
    return errors


def _error_line(error: LiquidError, source: str) -> int:
    """Return the 1-based line of a Liquid error; an error at the end of the template is on its last line."""
    token = getattr(error, "token", None)
    index = getattr(token, "start_index", -1)
    if index is None or index < 0:
        return source.count("\n") + 1
    return source.count("\n", 0, index) + 1


def _check(*, subject: str, html: str, text: str) -> None:
    errors = template_syntax_errors(subject=subject, html=html, text=text)
    if errors:
        raise InvalidInput("The template has Liquid syntax errors.", details=errors, code="template_syntax_error")


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
