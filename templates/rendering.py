"""Render an email template to its three parts, with Liquid (python-liquid), for one contact.

The HTML part is rendered with auto-escaping (a contact's name cannot inject markup), the subject and the text
part without. Rendering either produces all three parts or raises `TemplateRenderError`: there is no half-rendered
email. Templates see plain dicts only (`contact`, `event`, `enrollment`, `workspace`, `unsubscribe_url`), never
Python objects.
"""

from __future__ import annotations

import html as html_lib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liquid import Environment
from liquid.exceptions import LiquidError

from penguinflow.common.errors import NotAllowedNow
from templates.html_text import html_to_text

text_env = Environment()
html_env = Environment(autoescape=True)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class TemplateRenderError(NotAllowedNow):
    """A template failed to render for this contact; nothing was stored or sent. Permanent for that send."""

    code = "template_render_error"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def single_line(value: str) -> str:
    """Return `value` with every run of control characters (CR, LF, TAB, NUL...) replaced by one space."""
    return _CONTROL.sub(" ", value).strip()


def contact_variables(contact) -> dict[str, Any]:
    """Return the `contact` variable of templates: a dict of the contact's public attributes."""
    first, last = contact.first_name or "", contact.last_name or ""
    return {
        "id": str(contact.id) if getattr(contact, "id", None) else "",
        "email": contact.email,
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}".strip(),
        "timezone": contact.timezone or "",
        "status": contact.status,
        "score": contact.score,
        "fields": dict(contact.fields or {}),
        "tags": list(contact.tags or []),
        "external_id": contact.external_id or "",
    }


def workspace_variables(workspace) -> dict[str, Any]:
    return {"id": str(workspace.id), "name": workspace.name, "slug": workspace.slug}


class _ParsedCache:
    """Parsed templates keyed by (template id, updated_at, part): parsing costs more than rendering."""

    def __init__(self, size: int = 512) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple, Any] = {}
        self._size = size

    def get(self, key: tuple, env: Environment, source: str):
        parsed = self._items.get(key)
        if parsed is None:
            parsed = env.from_string(source)
            with self._lock:
                if len(self._items) >= self._size:
                    self._items.clear()
                self._items[key] = parsed
        return parsed


_parsed = _ParsedCache()


def error_line(error: LiquidError, source: str) -> int:
    """Return the 1-based line of a Liquid error; an error at the end of the template is on its last line."""
    token = getattr(error, "token", None)
    index = getattr(token, "start_index", -1)
    if index is None or index < 0:
        return source.count("\n") + 1
    return source.count("\n", 0, index) + 1


def render_parts(*, template, variables: Mapping[str, Any]) -> RenderedEmail:
    """Render subject, HTML and text of `template` with `variables`; derive the text from the HTML when empty.

    Raises TemplateRenderError (with `details` = {part: "line N: message"}) when any part fails.
    """
    cache_id = (getattr(template, "id", None), getattr(template, "updated_at", None))
    out: dict[str, str] = {}
    for part, env in (("subject", text_env), ("html", html_env), ("text", text_env)):
        source = getattr(template, part) or ""
        if not source:
            out[part] = ""
            continue
        try:
            if cache_id[0] is not None:
                parsed = _parsed.get((*cache_id, part), env, source)
            else:
                parsed = env.from_string(source)
            out[part] = parsed.render(**variables)
        except LiquidError as error:
            raise TemplateRenderError(
                f"The template's {part} could not be rendered: {error.message}",
                details={part: f"line {error_line(error, source)}: {error.message}"},
            ) from error
        except (TypeError, ValueError, ArithmeticError, RecursionError) as error:  # defensive: filters on odd data
            raise TemplateRenderError(
                f"The template's {part} could not be rendered: {error}", details={part: str(error)}
            ) from error
    subject = single_line(out["subject"])
    text = out["text"] if out["text"].strip() else html_to_text(out["html"])
    return RenderedEmail(subject=subject, html=out["html"], text=text)


def unescape_href(value: str) -> str:
    return html_lib.unescape(value)
