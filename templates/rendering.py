"""Render an email template to its three parts, with Liquid (python-liquid), for one contact.

The HTML part is rendered with auto-escaping (a contact's name cannot inject markup), the subject and the text
part without. Rendering either produces all three parts or raises `TemplateRenderError`: there is no half-rendered
email. Templates see plain dicts only (`contact`, `event`, `enrollment`, `workspace`, `unsubscribe_url`), never
Python objects.

Every render has a budget, because a template is code its author runs on our workers (a loop over (1..1000000)
took 8.9 s to preview and made 1 MB). Per part: Liquid's own limits (output size, nested loop length, the size
of assigned variables) and, kept by `_BudgetedContext`, loop iterations counted over the whole render, a size
limit on every value a filter takes or makes (so that chained or repeated filters cannot grow a value without
bound), and the processor time used. Going over raises `TemplateBudgetExceeded`, a `TemplateRenderError`: at
save a 400 when the template goes over even for an empty contact (`template_budget_errors`), at preview a 422,
at send that email's permanent failure.
"""

from __future__ import annotations

import html as html_lib
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from io import StringIO
from typing import Any

from liquid import BoundTemplate, Environment, RenderContext
from liquid.exceptions import (
    LiquidError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
    ResourceLimitError,
)
from liquid.output import LimitedStringIO
from liquid.undefined import UNDEFINED

from penguinflow.common.errors import NotAllowedNow
from templates.html_text import html_to_text
from templates.tracking import preferences_url

# The budget of one part's render. Generous for email: a real template loops over tags or a basket (tens of
# items) and renders in milliseconds; Gmail clips messages over 102 KB.
MAX_OUTPUT_CHARS = 1024 * 1024
MAX_LOOP_ITERATIONS = 10_000  # every loop of the part together, nested or one after another
MAX_VALUE_ITEMS = 256 * 1024  # characters of a string, items of a list, that a filter takes or makes
MAX_NUMBER_BITS = 1024  # an integer a filter makes (times in a loop squares a number: it would grow forever)
MAX_LOCALS_BYTES = 1024 * 1024  # what assign and capture hold (Liquid measures it with sys.getsizeof)
MAX_RENDER_CPU_SECONDS = 1.0  # processor time, not wall-clock time, so that a busy machine does not fail renders
MAX_SUBJECT_CHARS = 998  # a header line (RFC 5322), and the outbox's subject column: longer would fail the insert
_CHECK_CLOCK_EVERY = 64  # variable look-ups, filter calls and loop iterations between two reads of the clock

_cpu_clock: Callable[[], float] = time.thread_time  # replaced by tests


class TemplateRenderError(NotAllowedNow):
    """A template failed to render for this contact; nothing was stored or sent. Permanent for that send."""

    code = "template_render_error"


class TemplateBudgetExceeded(TemplateRenderError):
    """A template went over its render budget (loops, size, processor time): it was stopped, nothing was sent."""

    code = "template_over_budget"


class RenderBudgetExceeded(ResourceLimitError):
    """Raised inside Liquid when a render goes over one of the budgets `_BudgetedContext` keeps."""


class _BudgetedContext(RenderContext):
    """A render context that counts loop iterations, checks filter values and watches the processor time.

    Every piece of work reads a variable, calls a filter or starts a loop iteration: each is a tick, and every
    `_CHECK_CLOCK_EVERY` ticks the processor time is read (reading it each time would cost more than the work).
    """

    __slots__ = ("budgeted_filters", "cpu_deadline", "iterations", "ticks")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.iterations = 0
        self.ticks = 0
        self.cpu_deadline = _cpu_clock() + MAX_RENDER_CPU_SECONDS
        self.budgeted_filters: dict[str, Callable[..., object]] = {}

    def check_clock(self) -> None:
        if _cpu_clock() > self.cpu_deadline:
            raise RenderBudgetExceeded(
                f"rendering used more than {MAX_RENDER_CPU_SECONDS:g} s of processor time", token=None
            )

    def get(self, path: Any, *, token: Any, default: object = UNDEFINED) -> object:
        self.ticks += 1
        if not self.ticks % _CHECK_CLOCK_EVERY:
            self.check_clock()
        return RenderContext.get(self, path, token=token, default=default)

    @contextmanager
    def loop(self, namespace: Mapping[str, object], forloop: Any) -> Iterator[RenderContext]:
        # Liquid's own limit looks at one loop (and those around it); this counts them all, one after another too.
        forloop.it = self._counted(forloop.it)
        with super().loop(namespace, forloop) as context:
            yield context

    def _counted(self, items: Iterator[Any]) -> Iterator[Any]:
        for item in items:
            self.iterations += 1
            if self.iterations > MAX_LOOP_ITERATIONS:
                raise RenderBudgetExceeded(
                    f"the loops ran more than {MAX_LOOP_ITERATIONS:,} times in all", token=None
                )
            self.ticks += 1
            if not self.ticks % _CHECK_CLOCK_EVERY:
                self.check_clock()
            yield item

    def filter(self, name: str, token: Any) -> Callable[..., object]:
        budgeted = self.budgeted_filters.get(name)
        if budgeted is None:
            budgeted = self.budgeted_filters[name] = self._budgeted_filter(name, token)
        return budgeted

    def _budgeted_filter(self, name: str, token: Any) -> Callable[..., object]:
        function = RenderContext.filter(self, name, token)
        growth = _GROWTH_CHECKS.get(name)

        def budgeted(left: object, *args: Any, **kwargs: Any) -> object:
            self.ticks += 1
            if not self.ticks % _CHECK_CLOCK_EVERY:
                self.check_clock()
            _check_value(name, left)
            if args or kwargs:
                for value in (*args, *kwargs.values()):
                    _check_value(name, value)
                if growth is not None:
                    growth(name, left, args)
            result = function(left, *args, **kwargs)
            _check_value(name, result)
            return result

        return budgeted

    def get_buffer(self, buf: Any = None) -> StringIO:
        carry = buf.size if isinstance(buf, LimitedStringIO) else 0
        return _OutputBuffer(limit=MAX_OUTPUT_CHARS - carry)


_SIZED = (str, list, tuple, dict, range)


def _check_value(name: str, value: object) -> None:
    if isinstance(value, _SIZED):
        if len(value) > MAX_VALUE_ITEMS:
            raise RenderBudgetExceeded(
                f"the filter {name} was given or made a value of {len(value):,} characters or items; the limit is "
                f"{MAX_VALUE_ITEMS:,}",
                token=None,
            )
    elif type(value) is int and value.bit_length() > MAX_NUMBER_BITS:
        raise RenderBudgetExceeded(f"the filter {name} made a number larger than 2**{MAX_NUMBER_BITS}", token=None)


def _refuse_growth(name: str, expected: int) -> None:
    if expected > MAX_VALUE_ITEMS:
        raise RenderBudgetExceeded(
            f"the filter {name} would make a value of {expected:,} characters; the limit is {MAX_VALUE_ITEMS:,}",
            token=None,
        )


def _replace_growth(name: str, left: object, args: tuple[Any, ...]) -> None:
    if isinstance(left, str) and len(args) > 1:
        old, new = str(args[0]), str(args[1])
        _refuse_growth(name, len(left) + left.count(old) * (len(new) - len(old)))


def _join_growth(name: str, left: object, args: tuple[Any, ...]) -> None:
    if isinstance(left, (list, tuple, range)) and args:
        _refuse_growth(name, len(left) * len(str(args[0])))


# Filters whose result can be far longer than what they are given: checked before they build it. The others
# make at most a few times their input (escape, url_encode...), which the check of their result bounds.
_GROWTH_CHECKS: dict[str, Callable[[str, object, tuple[Any, ...]], None]] = {
    "replace": _replace_growth,
    "join": _join_growth,
}


class _OutputBuffer(LimitedStringIO):
    """Liquid's limited output, counting characters: Liquid's own encodes every write to count bytes."""

    def write(self, text: str) -> int:
        self.size += len(text)
        if self.size > self.limit:
            raise OutputStreamLimitError("output stream limit reached", token=None)
        return StringIO.write(self, text)


class _BudgetedTemplate(BoundTemplate):
    context_class = _BudgetedContext

    def _get_buffer(self) -> StringIO:
        return _OutputBuffer(limit=MAX_OUTPUT_CHARS)


class _BudgetedEnvironment(Environment):
    output_stream_limit = MAX_OUTPUT_CHARS
    loop_iteration_limit = MAX_LOOP_ITERATIONS
    local_namespace_limit = MAX_LOCALS_BYTES
    template_class = _BudgetedTemplate


text_env = _BudgetedEnvironment()


@lru_cache(maxsize=2048)
def text_template(source: str):
    """Return `source` parsed in `text_env`, parsed once per process: a step's Liquid texts (a webhook's URL and
    body, a task's title, a field's value) repeat for every contact, and parsing costs twice the render. A
    source that does not parse raises its LiquidError each time (errors are not cached)."""
    return text_env.from_string(source)
html_env = _BudgetedEnvironment(autoescape=True)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

# Liquid's own limit errors, said in the words of this product.
_LIQUID_LIMITS = {
    OutputStreamLimitError: f"the result is longer than {MAX_OUTPUT_CHARS:,} characters",
    LoopIterationLimitError: f"the loops would run more than {MAX_LOOP_ITERATIONS:,} times",
    LocalNamespaceLimitError: f"the variables set by assign and capture hold more than {MAX_LOCALS_BYTES // 1024:,} KiB",
}


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
        # What the contact clicks (`contacts.interests`): `{{ contact.interests.topics[0].topic }}`.
        "interests": dict(getattr(contact, "interests", None) or {}),
    }


def workspace_variables(workspace) -> dict[str, Any]:
    return {"id": str(workspace.id), "name": workspace.name, "slug": workspace.slug}


def message_variables(*, workspace, contact, context: Mapping[str, Any], unsubscribe: str) -> dict[str, Any]:
    """Return what a template sees for one message: the caller's `context` (`event`, `enrollment`), then
    `contact`, `workspace`, `unsubscribe_url` and `preferences_url` (the contact's page of channels and topics),
    which the context cannot override."""
    variables = {key: value for key, value in context.items() if isinstance(key, str)}
    variables.setdefault("event", {})
    variables.setdefault("enrollment", {})
    variables["contact"] = contact_variables(contact)
    variables["workspace"] = workspace_variables(workspace)
    variables["unsubscribe_url"] = unsubscribe
    variables["preferences_url"] = preferences_url(contact.pk) if getattr(contact, "pk", None) else ""
    return variables


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


_PARTS = (("subject", text_env), ("html", html_env), ("text", text_env))


def render_parts(*, template, variables: Mapping[str, Any]) -> RenderedEmail:
    """Render subject, HTML and text of `template` with `variables`; derive the text from the HTML when empty.

    Raises TemplateRenderError (with `details` = {part: "line N: message"}) when any part fails, and its subclass
    TemplateBudgetExceeded when a part goes over its render budget.
    """
    cache_id = (getattr(template, "id", None), getattr(template, "updated_at", None))
    out: dict[str, str] = {}
    for part, env in _PARTS:
        source = getattr(template, part) or ""
        out[part] = _render_part(part, env, source, variables, cache_id) if source else ""
    subject = _checked_subject(out["subject"])
    text = out["text"] if out["text"].strip() else html_to_text(out["html"])
    return RenderedEmail(subject=subject, html=out["html"], text=text)


def _checked_subject(rendered: str) -> str:
    subject = single_line(rendered)
    if len(subject) > MAX_SUBJECT_CHARS:
        reason = f"the subject is {len(subject):,} characters long once rendered; the limit is {MAX_SUBJECT_CHARS}"
        raise TemplateBudgetExceeded(f"The template's subject goes over its render budget: {reason}",
                                     details={"subject": reason})  # fmt: skip
    return subject


def _render_part(
    part: str, env: Environment, source: str, variables: Mapping[str, Any], cache_id: tuple = (None, None)
) -> str:
    try:
        if cache_id[0] is not None:
            parsed = _parsed.get((*cache_id, part), env, source)
        else:
            parsed = env.from_string(source)
        return parsed.render(**variables)
    except ResourceLimitError as error:
        reason = _budget_reason(error)
        raise TemplateBudgetExceeded(
            f"The template's {part} goes over its render budget: {reason}",
            details={part: f"line {error_line(error, source)}: {reason}"},
        ) from error
    except LiquidError as error:
        raise TemplateRenderError(
            f"The template's {part} could not be rendered: {error.message}",
            details={part: f"line {error_line(error, source)}: {error.message}"},
        ) from error
    except (TypeError, ValueError, ArithmeticError, RecursionError) as error:  # defensive: filters on odd data
        raise TemplateRenderError(
            f"The template's {part} could not be rendered: {error}", details={part: str(error)}
        ) from error


def _budget_reason(error: ResourceLimitError) -> str:
    for kind, reason in _LIQUID_LIMITS.items():
        if isinstance(error, kind):
            return reason
    return error.message


def template_budget_errors(*, subject: str, html: str, text: str) -> dict[str, str]:
    """Return `{part: "line N: reason"}` for each part that goes over its render budget for an empty contact.

    What goes over for an empty contact (a loop over a long literal range, a literal that grows in a loop) goes
    over for every contact, so it is refused when the template is saved. Other render errors depend on the
    contact and are not reported here. Precondition: every part parses.
    """
    variables = {"contact": {}, "event": {}, "workspace": {}, "unsubscribe_url": "", "preferences_url": ""}
    errors: dict[str, str] = {}
    for part, env in _PARTS:
        source = {"subject": subject, "html": html, "text": text}[part]
        if not source:
            continue
        try:
            rendered = _render_part(part, env, source, variables)
            if part == "subject":
                _checked_subject(rendered)
        except TemplateBudgetExceeded as error:
            errors.update(error.details)
        except TemplateRenderError:
            continue
    return errors


def unescape_href(value: str) -> str:
    return html_lib.unescape(value)
