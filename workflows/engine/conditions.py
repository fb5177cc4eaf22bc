"""JsonLogic conditions: a compiling evaluator with PenguinFlow's added operations (CONTRACT §7).

Why not panzi-json-logic's ``jsonLogic`` itself: it fails one case of the shared conformance suite (``reduce``
does not evaluate its initial value) and it reads every one-key object as an operation, so the object
arguments of ``email_event`` and ``event_count`` cannot be expressed. Its value semantics (JavaScript-like
equality, number and string coercion, ``var``, ``missing``, ``substr``...) pass the suite and are reused here as
they are; this module adds the control forms, a compile step (a rule is turned into closures once per graph,
not interpreted per step), the added operations and the checks that validation needs.

A rule sees ``{"contact": {...}, "event": {...}, "enrollment": {...}, "now": "<ISO timestamp>"}``. Operations
that read history (``email_event``, ``sms_event``, ``push_event``, ``event_count``, ``in_segment``) go through the ``ActivityPort``, and
``days_since`` uses the injected clock, so evaluation is deterministic for a given clock and port.

Operations added for the string methods of expressions (CONTRACT §7a; ``expressions.py``):
``{"starts_with": [text, prefix]}``, ``{"ends_with": [text, suffix]}`` (false when the value is not text),
``{"lower": [text]}``, ``{"upper": [text]}`` (null when not text), ``{"length": [text or list]}`` (characters
or items; null otherwise).

Every rule has a budget of ``MAX_RULE_COST`` operations (one operation: one call of a compiled node). Without
loops a rule's cost is bounded by its size; ``filter``, ``map``, ``reduce``, ``all``, ``some`` and ``none``
multiply the cost of their body by the length of their list, so a rule of a few kilobytes could ask for millions.
``check_rule`` refuses a rule whose worst case (literal lists at their length, other lists at
``ASSUMED_LIST_ITEMS``) is over the budget; evaluation counts what the real lists cost and stops with
``RuleBudgetExceeded`` when it goes over. Values that grow (``cat``, ``merge``) are counted by their size, and
products leave exact integers past 2**53 (as JavaScript does), so a ``reduce`` that doubles its accumulator
cannot exhaust memory within its budget.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import re2
from json_logic.builtins import BUILTINS, not_, to_bool, to_string

from workflows.engine.durations import DurationError, parse_duration

if TYPE_CHECKING:
    from workflows.engine.ports import ActivityPort

__all__ = [
    "CHANNEL_EVENTS",
    "EMAIL_EVENTS",
    "MAX_DEPTH",
    "MAX_LIST_ITEMS",
    "MAX_RULE_BYTES",
    "MAX_RULE_COST",
    "MAX_STRING_CHARS",
    "CompiledRule",
    "ConditionError",
    "RuleBudgetExceeded",
    "channel_event_params",
    "check_rule",
    "compile_rule",
    "email_event_params",
    "evaluate",
    "event_count_params",
    "known_operators",
    "rule_cost",
    "timestamp_of",
    "truthy",
]

MAX_DEPTH = 64
MAX_STRING_CHARS = 10_000
MAX_LIST_ITEMS = 1_000
MAX_RULE_BYTES = 64 * 1024

# 50,000 operations take about 10 ms here. Above what any rule without loops can cost within MAX_RULE_BYTES
# (about 33,000: a 64 KiB rule of constants), so only loops over long lists hit it.
MAX_RULE_COST = 50_000
# The length assumed, when a rule is checked, for a list that comes from the data (tags, event properties).
ASSUMED_LIST_ITEMS = 100
# A history operation scans the contact's events of one type: counted as this many operations.
HISTORY_OPERATION_COST = 20
# A value built by cat or merge costs one operation per this many characters or items.
ITEMS_PER_OPERATION = 64
# Beyond this, a product is a float (JavaScript's numbers are): exact big integers would grow without bound.
_MAX_EXACT_INT = 2**53

Evaluator = Callable[[Any, "Scope"], Any]
truthy = to_bool


class ConditionError(Exception):
    """Raised when a rule cannot be compiled or evaluated; the message says what to fix."""


class RuleBudgetExceeded(ConditionError):
    """Raised when an evaluation goes over ``MAX_RULE_COST`` operations: it is stopped, not left to finish."""


class Scope:
    """What an evaluation may read besides the data (the clock, the contact's history) and what it has spent."""

    __slots__ = ("activity", "contact_id", "now", "spent")

    def __init__(
        self, *, now: datetime | None, contact_id: str | None, activity: ActivityPort | None
    ) -> None:
        self.now = now
        self.contact_id = contact_id
        self.activity = activity
        self.spent = 0


def _charge(scope: Scope, cost: int) -> None:
    scope.spent += cost
    if scope.spent > MAX_RULE_COST:
        raise RuleBudgetExceeded(
            f"the rule went over its budget of {MAX_RULE_COST:,} operations on this data (long lists in loops, "
            "or values that keep growing); it was stopped"
        )


def _charged_list(found: list[Any], weight: int, scope: Scope) -> list[Any]:
    """Charge a loop over ``found`` up front (its worst case), before any item is evaluated."""
    _charge(scope, len(found) * weight)
    return found


def _charged_size(value: Any, scope: Scope) -> Any:
    if len(value) >= ITEMS_PER_OPERATION:
        _charge(scope, len(value) // ITEMS_PER_OPERATION)
    return value


def _float_when_huge(value: Any) -> Any:
    if type(value) is int and not -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
        return float(value)  # OverflowError past 1e308: reported as a rule that could not be evaluated
    return value


# --- value operations (panzi-json-logic's, minus ``log``, which would write to stdout) ----------------------

_VALUE_OPERATIONS: dict[str, Callable[..., Any]] = {op: fn for op, fn in BUILTINS.items() if callable(fn)}
_VALUE_OPERATIONS["log"] = lambda data=None, value=None, *_ignored: value
_op_var = BUILTINS["var"]

_LOOPS = ("filter", "map", "reduce", "all", "some", "none")
_CONTROL_FORMS = ("if", "?:", "and", "or", *_LOOPS)
_GROWING = ("cat", "merge")  # they build a string or list as long as their arguments together
_OBJECT_OPERATIONS = ("email_event", "event_count", "sms_event", "push_event")
EMAIL_EVENTS = ("sent", "delivered", "opened", "clicked", "replied", "bounced", "complained", "unsubscribed")
# The events of the other channels (CONTRACT §13), by operation: ``{"sms_event": {event, node?, within?}}``.
CHANNEL_EVENTS: dict[str, tuple[str, ...]] = {
    "sms_event": ("sent", "delivered", "failed", "received"),
    "push_event": ("sent", "failed", "clicked"),
}


def known_operators() -> frozenset[str]:
    """Return every operation a rule may use."""
    return frozenset((*_VALUE_OPERATIONS, *_CONTROL_FORMS, *_OBJECT_OPERATIONS, *_POSITIONAL_CUSTOM))


# --- added operations -------------------------------------------------------------------------------------------


def _contains(scope: Scope, haystack: Any = None, needle: Any = None, *_ignored: Any) -> bool:
    if isinstance(haystack, list):
        return needle in haystack
    if isinstance(haystack, str) and needle is not None:
        return to_string(needle).casefold() in haystack.casefold()
    return False


@lru_cache(maxsize=512)
def _regex(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False  # a bad pattern is reported through ConditionError, not on stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        detail = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ConditionError(f"invalid regular expression {pattern!r}: {detail}") from None


def _regex_match(scope: Scope, value: Any = None, pattern: Any = None, *_ignored: Any) -> bool:
    if not isinstance(pattern, str):
        raise ConditionError("regex needs a pattern string as its second argument")
    if value is None:
        return False
    return _regex(pattern).search(to_string(value)) is not None


def timestamp_of(value: Any) -> datetime:
    """Read a timestamp as ``days_since`` does (ISO 8601, 'Z' allowed, UTC when naive); raise ``ConditionError``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConditionError(f"{value!r} is not an ISO 8601 timestamp") from None
    else:
        raise ConditionError(f"days_since needs a timestamp, not {to_string(value)!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _now(scope: Scope) -> datetime:
    if scope.now is None:
        raise ConditionError("this rule needs the current time, which was not provided")
    return scope.now


def _days_since(scope: Scope, value: Any = None, *_ignored: Any) -> float | None:
    if value is None or value == "":
        return None  # an empty date field compares like null instead of failing the step
    return (_now(scope) - timestamp_of(value)).total_seconds() / 86400


def _activity(scope: Scope, operation: str) -> ActivityPort:
    if scope.activity is None or scope.contact_id is None:
        raise ConditionError(f"{operation} needs the contact's activity, which is not available here")
    return scope.activity


def _in_segment(scope: Scope, segment_id: Any = None, *_ignored: Any) -> bool:
    if not isinstance(segment_id, str) or not segment_id:
        raise ConditionError("in_segment needs a segment id")
    return bool(_activity(scope, "in_segment").in_segment(contact_id=scope.contact_id, segment_id=segment_id))


# The string methods of expressions (CONTRACT §7a: startsWith, endsWith, toLowerCase, toUpperCase, length) have
# no JsonLogic operation that gives JavaScript's answer (``substr`` and ``regex`` cannot take a prefix from the
# data), so they are operations of their own. Like ``in``, they answer false or null for a value that is not
# text (JavaScript would throw), and ``length`` counts characters (code points), as ``var``'s ".length" does.


def _starts_with(scope: Scope, value: Any = None, prefix: Any = None, *_ignored: Any) -> bool:
    return isinstance(value, str) and value.startswith(to_string(prefix))


def _ends_with(scope: Scope, value: Any = None, suffix: Any = None, *_ignored: Any) -> bool:
    return isinstance(value, str) and value.endswith(to_string(suffix))


def _lower(scope: Scope, value: Any = None, *_ignored: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _upper(scope: Scope, value: Any = None, *_ignored: Any) -> str | None:
    return value.upper() if isinstance(value, str) else None


def _length(scope: Scope, value: Any = None, *_ignored: Any) -> int | None:
    return len(value) if isinstance(value, (str, list)) else None


_POSITIONAL_CUSTOM: dict[str, Callable[..., Any]] = {
    "starts_with": _starts_with,
    "ends_with": _ends_with,
    "lower": _lower,
    "upper": _upper,
    "length": _length,
    "contains": _contains,
    "regex": _regex_match,
    "days_since": _days_since,
    "in_segment": _in_segment,
}


def _object_params(op: str, args: Any, allowed: dict[str, type]) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise ConditionError(f'{op} takes an object, e.g. {{"{op}": {{{", ".join(allowed)}}}}}')
    for key, value in args.items():
        if key not in allowed:
            raise ConditionError(f"{op} has no parameter {key!r}; use {', '.join(sorted(allowed))}")
        if not isinstance(value, allowed[key]):
            raise ConditionError(f"{op}.{key} must be a {allowed[key].__name__}")
    if "within" in args:
        try:
            args = {**args, "within": parse_duration(args["within"])}
        except DurationError as error:
            raise ConditionError(f"{op}.within: {error}") from None
    return args


def email_event_params(args: Any) -> dict[str, Any]:
    """Check the object argument of ``email_event`` and return its parameters, ``event`` as the full event type
    ('email.opened') and ``within`` as a timedelta; raise ``ConditionError`` with what to fix."""
    params = _object_params(
        "email_event", args, {"event": str, "node": str, "url_contains": str, "within": str}
    )
    event = params.get("event")
    if not event:
        raise ConditionError("email_event needs 'event', one of " + ", ".join(EMAIL_EVENTS))
    short = event.removeprefix("email.")
    if short not in EMAIL_EVENTS:
        raise ConditionError(f"email_event.event {event!r} is not one of " + ", ".join(EMAIL_EVENTS))
    return {**params, "event": f"email.{short}"}


def _compile_email_event(args: Any) -> Evaluator:
    params = email_event_params(args)
    event_type = params["event"]
    node_id = params.get("node")
    url_contains = params.get("url_contains")
    within: timedelta | None = params.get("within")

    def email_event(data: Any, scope: Scope) -> bool:
        since = _now(scope) - within if within is not None else None
        port = _activity(scope, "email_event")
        return bool(
            port.email_event(
                contact_id=scope.contact_id,
                event=event_type,
                node_id=node_id,
                url_contains=url_contains,
                since=since,
            )
        )

    return email_event


def channel_event_params(op: str, args: Any) -> dict[str, Any]:
    """Check the object argument of ``sms_event`` or ``push_event`` and return its parameters, ``event`` as the
    full event type ('sms.delivered') and ``within`` as a timedelta; raise ``ConditionError`` with what to fix."""
    params = _object_params(op, args, {"event": str, "node": str, "within": str})
    channel, events = op.removesuffix("_event"), CHANNEL_EVENTS[op]
    event = params.get("event")
    if not event:
        raise ConditionError(f"{op} needs 'event', one of " + ", ".join(events))
    short = event.removeprefix(f"{channel}.")
    if short not in events:
        raise ConditionError(f"{op}.event {event!r} is not one of " + ", ".join(events))
    return {**params, "event": f"{channel}.{short}"}


def _compile_channel_event(op: str, args: Any) -> Evaluator:
    params = channel_event_params(op, args)
    event_type = params["event"]
    node_id = params.get("node")
    within: timedelta | None = params.get("within")

    def channel_event(data: Any, scope: Scope) -> bool:
        since = _now(scope) - within if within is not None else None
        port = _activity(scope, op)
        return bool(port.message_event(contact_id=scope.contact_id, event=event_type, node_id=node_id, since=since))

    return channel_event


def event_count_params(args: Any) -> dict[str, Any]:
    """Check the object argument of ``event_count`` and return its parameters, ``within`` as a timedelta; raise
    ``ConditionError`` with what to fix."""
    params = _object_params("event_count", args, {"type": str, "within": str})
    if not params.get("type"):
        raise ConditionError("event_count needs 'type', an event type such as 'email.opened'")
    return params


def _compile_event_count(args: Any) -> Evaluator:
    params = event_count_params(args)
    event_type = params["type"]
    within: timedelta | None = params.get("within")

    def event_count(data: Any, scope: Scope) -> int:
        since = _now(scope) - within if within is not None else None
        port = _activity(scope, "event_count")
        return int(port.event_count(contact_id=scope.contact_id, type=event_type, since=since))

    return event_count


# --- compiler -----------------------------------------------------------------------------------------------------


def _constant(value: Any) -> Evaluator:
    return lambda data, scope: value


def _compile(logic: Any) -> Evaluator:
    if isinstance(logic, list):
        items = [_compile(item) for item in logic]
        return lambda data, scope: [item(data, scope) for item in items]
    if not isinstance(logic, dict) or len(logic) != 1:
        return _constant(logic)
    ((op, args),) = logic.items()
    if op == "email_event":
        return _compile_email_event(args)
    if op == "event_count":
        return _compile_event_count(args)
    if op in CHANNEL_EVENTS:
        return _compile_channel_event(op, args)
    if not isinstance(args, list):
        args = [args]
    if op in _CONTROL_FORMS:
        return _compile_control(op, args)
    if op == "var":
        return _compile_var(args)
    if op == "regex" and len(args) > 1 and isinstance(args[1], str):
        _regex(args[1])  # a literal pattern is checked when the rule is compiled, not when it first runs
    custom = _POSITIONAL_CUSTOM.get(op)
    if custom is not None:
        compiled = [_compile(arg) for arg in args]
        return lambda data, scope: custom(scope, *[arg(data, scope) for arg in compiled])
    operation = _VALUE_OPERATIONS.get(op)
    if operation is None:
        raise ConditionError(f"unknown operation {op!r}")
    compiled = [_compile(arg) for arg in args]
    if op in _GROWING:
        return lambda data, scope: _charged_size(operation(data, *[arg(data, scope) for arg in compiled]), scope)
    if op == "*":
        return lambda data, scope: _float_when_huge(operation(data, *[arg(data, scope) for arg in compiled]))
    # Unrolled for the common arities: this closure runs for every comparison of every condition step.
    if len(compiled) == 1:
        (first,) = compiled
        return lambda data, scope: operation(data, first(data, scope))
    if len(compiled) == 2:
        first, second = compiled
        return lambda data, scope: operation(data, first(data, scope), second(data, scope))
    return lambda data, scope: operation(data, *[arg(data, scope) for arg in compiled])


def _compile_var(args: list[Any]) -> Evaluator:
    if not args:
        return lambda data, scope: data
    key = args[0]
    default = _compile(args[1]) if len(args) > 1 else _constant(None)
    if isinstance(key, str) and key:
        parts = tuple(key.split("."))

        def var(data: Any, scope: Scope) -> Any:
            current = data
            for part in parts:
                if type(current) is dict:
                    current = current.get(part)
                else:
                    # Lists, strings and scalars follow JsonLogic's own rules (index, "length", default).
                    return _op_var(data, key, default(data, scope))
            return default(data, scope) if current is None else current

        return var
    key_of = _compile(key)
    return lambda data, scope: _op_var(data, key_of(data, scope), default(data, scope))


def _compile_control(op: str, sources: list[Any]) -> Evaluator:
    args = [_compile(source) for source in sources]
    count = len(args)
    if op in ("if", "?:"):

        def branch(data: Any, scope: Scope) -> Any:
            index = 0
            while index < count - 1:
                if to_bool(args[index](data, scope)):
                    return args[index + 1](data, scope)
                index += 2
            return args[index](data, scope) if index < count else None

        return branch
    if op == "and":

        def all_of(data: Any, scope: Scope) -> Any:
            current = None
            for arg in args:
                current = arg(data, scope)
                if not_(current):
                    return current
            return current

        return all_of
    if op == "or":

        def any_of(data: Any, scope: Scope) -> Any:
            current = None
            for arg in args:
                current = arg(data, scope)
                if to_bool(current):
                    return current
            return current

        return any_of
    items = args[0] if count else _constant(None)
    sub = args[1] if count > 1 else _constant(None)
    # What one pass of the body costs, loops inside it excluded: they charge their own passes when they run.
    weight = _cost(sources[1], inner_loops=False) if count > 1 else 1
    if op == "filter":
        if count < 2:
            return _constant([])
        return lambda data, scope: (
            [item for item in _charged_list(found, weight, scope) if to_bool(sub(item, scope))]
            if isinstance(found := items(data, scope), list)
            else []
        )
    if op == "map":
        if count < 1:
            return _constant([])
        return lambda data, scope: (
            [sub(item, scope) for item in _charged_list(found, weight, scope)]
            if isinstance(found := items(data, scope), list)
            else []
        )
    if op == "reduce":
        if count < 1:
            return _constant(None)
        initial = args[2] if count > 2 else _constant(None)

        def reduce(data: Any, scope: Scope) -> Any:
            found = items(data, scope)
            accumulator = initial(data, scope)
            if not isinstance(found, list):
                return accumulator
            context = {"accumulator": accumulator, "current": None}
            for item in _charged_list(found, weight, scope):
                context["current"] = item
                context["accumulator"] = sub(context, scope)
            return context["accumulator"]

        return reduce
    if op == "all":
        if count < 2:
            return _constant(False)
        return lambda data, scope: (
            isinstance(found := items(data, scope), list)
            and bool(found)
            and all(to_bool(sub(item, scope)) for item in _charged_list(found, weight, scope))
        )
    if op == "some":
        if count < 2:
            return _constant(False)
        return lambda data, scope: (
            isinstance(found := items(data, scope), list)
            and any(to_bool(sub(item, scope)) for item in _charged_list(found, weight, scope))
        )
    # none
    if count < 2:
        return _constant(True)
    return lambda data, scope: (
        not isinstance(found := items(data, scope), list)
        or not any(to_bool(sub(item, scope)) for item in _charged_list(found, weight, scope))
    )


class CompiledRule:
    """A rule turned into closures once; ``evaluate`` may run many times."""

    __slots__ = ("_evaluator", "source")

    def __init__(self, source: Any) -> None:
        problems = _limit_problems(source)
        if problems:
            raise ConditionError("; ".join(problems))
        self.source = source
        try:
            self._evaluator = _compile(source)
        except RecursionError:
            raise ConditionError(f"the rule is nested more than {MAX_DEPTH} levels deep") from None

    def evaluate(
        self,
        data: Any,
        *,
        now: datetime | None = None,
        contact_id: str | None = None,
        activity: ActivityPort | None = None,
    ) -> Any:
        """Return the rule's value for ``data``; raise ``ConditionError`` when it cannot be computed."""
        scope = Scope(now=now, contact_id=contact_id, activity=activity)
        try:
            return self._evaluator(data, scope)
        except ConditionError:
            raise
        except ZeroDivisionError:
            raise ConditionError("the rule divides by zero") from None
        except (TypeError, ValueError, OverflowError, AttributeError, RecursionError, IndexError) as error:
            raise ConditionError(
                f"the rule could not be evaluated ({type(error).__name__}: {error})"
            ) from None

    def holds(self, data: Any, **scope: Any) -> bool:
        """Return whether the rule's value is truthy by JsonLogic's rules."""
        return to_bool(self.evaluate(data, **scope))


# Rules are compiled once and found again by identity: configs and settings are long-lived objects, and
# keeping a reference to each cached rule guarantees its id is not reused by another object.
_compiled_by_identity: dict[int, tuple[Any, CompiledRule]] = {}
_CACHE_LIMIT = 4096


def compile_rule(rule: Any) -> CompiledRule:
    """Return the compiled form of ``rule``, reusing an earlier compilation of the same object."""
    entry = _compiled_by_identity.get(id(rule))
    if entry is not None and entry[0] is rule:
        return entry[1]
    compiled = CompiledRule(rule)
    if len(_compiled_by_identity) >= _CACHE_LIMIT:
        _compiled_by_identity.clear()
    _compiled_by_identity[id(rule)] = (rule, compiled)
    return compiled


def evaluate(
    rule: Any,
    data: Any = None,
    *,
    now: datetime | None = None,
    contact_id: str | None = None,
    activity: ActivityPort | None = None,
) -> Any:
    """Return the value of ``rule`` for ``data``; raise ``ConditionError`` with a readable message on failure."""
    return compile_rule(rule).evaluate(data, now=now, contact_id=contact_id, activity=activity)


# --- static checks used by validation ---------------------------------------------------------------------------


def _limit_problems(rule: Any) -> list[str]:
    problems: list[str] = []
    # Iterative walk: a hostile rule nested thousands of levels deep must not exhaust the Python stack.
    stack: list[tuple[Any, int]] = [(rule, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            problems.append(f"the rule is nested more than {MAX_DEPTH} levels deep; simplify it")
            break
        if isinstance(value, str):
            if len(value) > MAX_STRING_CHARS:
                problems.append(f"a text value in the rule is longer than {MAX_STRING_CHARS:,} characters")
                break
        elif isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                problems.append(f"a list in the rule has more than {MAX_LIST_ITEMS:,} items")
                break
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, dict):
            stack.extend((key, depth + 1) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        elif value is not None and not isinstance(value, (bool, int, float)):
            problems.append(f"the rule holds a {type(value).__name__}, which is not a JSON value")
            break
    if not problems:
        try:
            size = len(json.dumps(rule, separators=(",", ":")).encode())
        except (TypeError, ValueError):
            size = 0
        if size > MAX_RULE_BYTES:
            problems.append(f"the rule is {size:,} bytes long; the limit is {MAX_RULE_BYTES // 1024} KiB")
    return problems


def _unknown_operations(rule: Any) -> list[str]:
    known = known_operators()
    unknown: list[str] = []
    stack = [rule]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(reversed(value))  # reversed: report in the order the rule is written
        elif isinstance(value, dict) and len(value) == 1:
            ((op, args),) = value.items()
            if op not in known:
                if op not in unknown:
                    unknown.append(op)
            elif op not in _OBJECT_OPERATIONS:  # their object argument holds parameters, not rules
                stack.append(args)
    return unknown


def rule_cost(rule: Any) -> int:
    """Return the worst-case number of operations of one evaluation of ``rule``, the unit of ``MAX_RULE_COST``.

    Literal lists count at their length, other lists at ``ASSUMED_LIST_ITEMS``. Precondition: the rule passed
    the size and depth limits (the walk is recursive).
    """
    return _cost(rule, inner_loops=True)


def _cost(rule: Any, *, inner_loops: bool) -> int:
    if isinstance(rule, list):
        return 1 + sum(_cost(item, inner_loops=inner_loops) for item in rule)
    if not isinstance(rule, dict) or len(rule) != 1:
        return 1
    ((op, args),) = rule.items()
    if op in _OBJECT_OPERATIONS:
        return HISTORY_OPERATION_COST
    if not isinstance(args, list):
        args = [args]
    total = 1 + sum(_cost(arg, inner_loops=inner_loops) for arg in args)  # a loop's body once, here
    if op == "in_segment":
        total += HISTORY_OPERATION_COST - 1
    elif op in _LOOPS and len(args) > 1 and inner_loops:
        total += (_list_length(args[0]) - 1) * _cost(args[1], inner_loops=True)
    return total


def _list_length(rule: Any) -> int:
    """Return the length a loop is assumed to go over when its list is ``rule``."""
    if isinstance(rule, list):
        return len(rule)
    if not isinstance(rule, dict) or len(rule) != 1:
        return 0  # not a list: the loop does nothing
    ((op, args),) = rule.items()
    if not isinstance(args, list):
        args = [args]
    if op in ("map", "filter"):
        return _list_length(args[0]) if args else 0
    if op == "merge":
        return sum(_list_length(arg) if isinstance(arg, (list, dict)) else 1 for arg in args)
    if op in ("if", "?:", "and", "or"):
        return max((_list_length(arg) for arg in args), default=0)
    return ASSUMED_LIST_ITEMS


def _cost_problem(rule: Any) -> str | None:
    cost = rule_cost(rule)
    if cost <= MAX_RULE_COST:
        return None
    shown = f"{cost:,}" if cost < 10**12 else f"more than {10**12:,}"
    return (
        f"the rule could take {shown} operations per evaluation and the limit is {MAX_RULE_COST:,} (lists "
        f"from the data count as {ASSUMED_LIST_ITEMS} items); use shorter lists in filter, map, reduce, all, "
        "some and none, or fewer of them inside one another"
    )


def check_rule(rule: Any) -> list[str]:
    """Return what is wrong with a rule (unknown operations, size and cost limits, bad parameters); empty when
    fine."""
    problems = _limit_problems(rule)
    if problems:
        return problems
    unknown = _unknown_operations(rule)
    if unknown:
        names = ", ".join(repr(op) for op in unknown)
        return [f"unknown operation {names}; use one of: {', '.join(sorted(known_operators()))}"]
    try:
        _compile(rule)
    except ConditionError as error:
        return [str(error)]
    problem = _cost_problem(rule)
    return [problem] if problem else []
