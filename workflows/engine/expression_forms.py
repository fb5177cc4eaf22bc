"""The subset of JavaScript that expressions may use (CONTRACT §7a): the one table of its constructs and the
JsonLogic operations they are, which compiling (``expressions.py``) and rendering (``expression_render.py``) both
read, and what the two share.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from workflows.engine.conditions import ConditionError, known_operators

MAX_EXPRESSION_CHARS = 10_000
# Below this, an expression without loops or regex cannot reach MAX_LIST_ITEMS items (two bytes each at least),
# MAX_RULE_BYTES or MAX_RULE_COST (a loop-free rule's cost is bounded by its size).
SHORT_EXPRESSION_BYTES = 2_000
ROOTS = ("contact", "event", "enrollment", "now")


class ExpressionError(ConditionError):
    """Raised for an expression outside the subset or a rule that cannot be written as one; carries where."""

    def __init__(self, message: str, *, line: int = 1, column: int = 1) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


# --- the one table: JavaScript constructs and the JsonLogic operations they are ----------------------------------

Kind = Literal["variadic", "binary", "unary", "method", "property", "function", "ternary"]


@dataclass(frozen=True, slots=True)
class Form:
    kind: Kind
    js: str  # the operator, method, property or function name
    op: str  # the JsonLogic operation
    precedence: int = 0  # JavaScript's, for operators: what binds tighter needs no parentheses
    arity: int = 0  # for methods and functions: the arguments besides the receiver


TERNARY, OR, AND, EQUALITY, RELATIONAL, ADDITIVE, MULTIPLICATIVE, UNARY, PRIMARY = range(1, 10)

FORMS: tuple[Form, ...] = (
    Form("ternary", "?:", "if", TERNARY),
    Form("variadic", "||", "or", OR),
    Form("variadic", "&&", "and", AND),
    *(Form("binary", op, op, EQUALITY) for op in ("===", "!==", "==", "!=")),
    *(Form("binary", op, op, RELATIONAL) for op in ("<", "<=", ">", ">=")),
    Form("variadic", "+", "+", ADDITIVE),
    Form("binary", "-", "-", ADDITIVE),
    Form("variadic", "*", "*", MULTIPLICATIVE),
    Form("binary", "/", "/", MULTIPLICATIVE),
    Form("binary", "%", "%", MULTIPLICATIVE),
    Form("unary", "!", "!", UNARY),
    Form("unary", "!!", "!!", UNARY),
    Form("unary", "-", "-", UNARY),
    Form("unary", "+", "+", UNARY),
    # includes: the receiver is the haystack, JsonLogic's second argument.
    Form("method", "includes", "in", PRIMARY, 1),
    Form("method", "startsWith", "starts_with", PRIMARY, 1),
    Form("method", "endsWith", "ends_with", PRIMARY, 1),
    Form("method", "toLowerCase", "lower", PRIMARY, 0),
    Form("method", "toUpperCase", "upper", PRIMARY, 0),
    Form("property", "length", "length", PRIMARY),
    Form("function", "daysSince", "days_since", PRIMARY, 1),
    Form("function", "inSegment", "in_segment", PRIMARY, 1),
    Form("function", "eventCount", "event_count", PRIMARY),
    Form("function", "emailEvent", "email_event", PRIMARY),
    Form("function", "smsEvent", "sms_event", PRIMARY),
    Form("function", "pushEvent", "push_event", PRIMARY),
)
FORM_BY_JS: dict[tuple[Kind, str], Form] = {(form.kind, form.js): form for form in FORMS}
FORMS_BY_OP: dict[str, list[Form]] = {}
for _form in FORMS:
    FORMS_BY_OP.setdefault(_form.op, []).append(_form)
FUNCTION_NAMES = ", ".join(form.js for form in FORMS if form.kind == "function")
METHOD_NAMES = ", ".join(form.js for form in FORMS if form.kind in ("method", "property"))
OBJECT_OPERATIONS = ("email_event", "event_count", "sms_event", "push_event")
KNOWN_OPERATIONS = known_operators()
# What can break the evaluator's limits in a short expression: loops (their cost multiplies) and regex (its
# pattern must compile). See expression_compile.
LOOPS = frozenset({"filter", "map", "reduce", "all", "some", "none"})
EMAIL_EVENT_KEYS = ("event", "node", "url_contains", "within")
CHANNEL_EVENT_KEYS = ("event", "node", "within")  # of sms_event and push_event
IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INDEX = re.compile(r"0|[1-9][0-9]{0,15}")

SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    return SURROGATE.search(text) is not None


def js_string(text: str) -> str:
    """Return ``text`` as a JavaScript string literal (JSON's, with lone surrogates escaped: they cannot be UTF-8)."""
    rendered = json.dumps(text, ensure_ascii=False)
    if has_surrogate(rendered):
        rendered = "".join(f"\\u{ord(char):04x}" if "\ud800" <= char <= "\udfff" else char for char in rendered)
    return rendered

