"""Render an email template to its three parts, with Liquid (python-liquid), for one contact.

The HTML part is rendered with auto-escaping (a contact's name cannot inject markup), the subject and the text
part without. Rendering either produces all three parts or raises `TemplateRenderError`: there is no half-rendered
email. Templates see plain dicts only (`contact`, `event`, `enrollment`, `workspace`, `unsubscribe_url`), never
Python objects.
"""

from __future__ import annotations

import functools
import html as html_lib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liquid import Environment
from liquid.exceptions import LiquidError

from penguinflow.common.errors import NotAllowedNow

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


# Tokens of html_to_text: a comment, a script or style element with its content, a tag (with its attribute text),
# a declaration or processing instruction, or text (a lone "<" is text).
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)"
    r"""|<(/?)([a-zA-Z][^\s/>]*)((?:"[^"]*"|'[^']*'|[^'">])*)>"""
    r"|<[!?][^>]*>"
    r"|([^<]+|<)",
    re.DOTALL | re.IGNORECASE,
)
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_SPACE = re.compile(r"\s+")
_BLOCK = {"p", "div", "section", "article", "header", "footer", "table", "tr", "h1", "h2", "h3", "h4", "h5",
          "h6", "ul", "ol", "blockquote", "pre", "hr"}  # fmt: skip
_SKIP = {"head", "title"}
_BLANK_LINES = re.compile(r"\n{3,}")
_LINK = object()  # where an <a> element's label begins among the chunks (no text can be this object)


@functools.lru_cache(maxsize=1024)
def _attr(source: str, wanted: str) -> str | None:
    """Return the unescaped value of attribute `wanted` in a start tag's attribute text, or None (remembered:
    the same tags come back in every email of a template)."""
    for match in _ATTR.finditer(source):
        if match.group(1).lower() == wanted:
            value = next((g for g in match.group(2, 3, 4) if g is not None), "")
            return html_lib.unescape(value)
    return None


def html_to_text(source: str) -> str:
    """Return a readable plain-text version of an HTML email: paragraphs, list items and "label (url)" links.

    One pass of a regular-expression tokenizer (html.parser costs three times as much and this runs for every
    email without a text part): `findall` hands over every token's groups at once. Script and style elements,
    comments, declarations and NUL characters are dropped; the content of head and title too.
    """
    if "\x00" in source:
        source = source.replace("\x00", "")
    if not source.strip():
        return ""
    chunks: list = []  # text, and a _LINK marker where each open <a> began
    append = chunks.append
    skip = 0
    hrefs: list[str | None] = []
    for _, close, name, attrs, data in _TOKEN.findall(source):
        if data:
            if not skip:
                append(_SPACE.sub(" ", html_lib.unescape(data) if "&" in data else data))
            continue
        if not name:  # a comment, a script or style element, a declaration
            continue
        tag = name.lower()
        if close:
            _end(tag, chunks, hrefs)
            if tag in _SKIP and skip:
                skip -= 1
            continue
        if tag in _BLOCK:
            append("\n\n")
        elif tag == "a":
            hrefs.append(_attr(attrs, "href"))
            append(_LINK)
        elif tag == "br":
            append("\n")
        elif tag == "li":
            append("\n- ")
        elif tag == "td" or tag == "th":
            append(" ")
        elif tag in _SKIP:
            skip += 1
        elif tag == "img":
            alt = _attr(attrs, "alt")
            if alt:
                append(alt)
        if attrs.endswith("/"):
            _end(tag, chunks, hrefs)
            if tag in _SKIP and skip:
                skip -= 1
    text = "".join([chunk for chunk in chunks if chunk is not _LINK])
    text = "\n".join([line.strip() for line in text.split("\n")])
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def _end(tag: str, chunks: list, hrefs: list[str | None]) -> None:
    if tag in _BLOCK:
        chunks.append("\n\n")
    elif tag == "a" and hrefs:
        href = hrefs.pop()
        start = None
        for index in range(len(chunks) - 1, -1, -1):
            if chunks[index] is _LINK:
                start = index
                break
        label = "".join(chunks[start + 1 :]).strip() if start is not None else ""
        if start is not None:
            del chunks[start:]
        if href and href.startswith(("http://", "https://", "mailto:")) and href != label:
            chunks.append(f"{label} ({href})" if label else href)
        else:
            chunks.append(label)


def unescape_href(value: str) -> str:
    return html_lib.unescape(value)
