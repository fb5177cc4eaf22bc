"""Why a rule does not hold: the clauses that decided it, each with the values it saw.

A marketer testing a trigger filter wants to read "``event.properties.url`` was ``/blog``" rather than "the
filter is false". The explanation follows the way the rule was evaluated: an ``and`` is decided by its first
false clause (the later ones were never looked at), an ``or`` by all of its clauses, a ``!`` by the clause it
negates; any other operation is a clause of its own. A clause's values are those of its arguments that are not
literals (``var`` paths by name, other operations by their JSON), evaluated against the same data, clock and
history as the rule, so the explanation cannot disagree with the evaluation it explains.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from workflows.engine.conditions import ConditionError, compile_rule, truthy
from workflows.engine.expression_render import rule_render
from workflows.engine.expressions import ExpressionError

if TYPE_CHECKING:
    from datetime import datetime

    from workflows.engine.ports import ActivityPort

__all__ = ["rule_explain"]

# A rule that deep explains its outer clauses only; deeper ones are reported as a whole.
_MAX_EXPLAINED_DEPTH = 16


def rule_explain(
    rule: Any,
    data: Any,
    *,
    now: datetime | None = None,
    contact_id: str | None = None,
    activity: ActivityPort | None = None,
) -> list[dict[str, Any]]:
    """Return the clauses that make ``rule`` false for ``data`` (empty when it holds).

    Each clause is ``{"clause": <JsonLogic>, "js": <the clause as an expression>, "result": <value>,
    "values": {<argument>: <value>}}``; a clause that could not be evaluated has ``"error"`` instead of
    ``"result"``.
    """

    def value_of(part: Any) -> Any:
        return compile_rule(part).evaluate(data, now=now, contact_id=contact_id, activity=activity)

    return _explain(rule, value_of, depth=0)


def _explain(rule: Any, value_of, *, depth: int) -> list[dict[str, Any]]:
    try:
        if truthy(value_of(rule)):
            return []
    except ConditionError as error:
        return [_clause(rule, value_of, error=str(error))]
    operation, arguments = _operation(rule)
    if depth < _MAX_EXPLAINED_DEPTH and operation == "and":
        for argument in arguments:
            found = _explain(argument, value_of, depth=depth + 1)
            if found:
                return found  # the first false clause decided; the ones after it were not evaluated
    if depth < _MAX_EXPLAINED_DEPTH and operation == "or":
        return [clause for argument in arguments for clause in _explain(argument, value_of, depth=depth + 1)]
    return [_clause(rule, value_of)]


def _operation(rule: Any) -> tuple[str | None, list[Any]]:
    if isinstance(rule, dict) and len(rule) == 1:
        operation, arguments = next(iter(rule.items()))
        return operation, arguments if isinstance(arguments, list) else [arguments]
    return None, []


def _clause(rule: Any, value_of, *, error: str | None = None) -> dict[str, Any]:
    clause: dict[str, Any] = {"clause": rule}
    # How the builder's expression view writes it; a value that is not JSON (refused before a rule is stored)
    # has no expression, and its JsonLogic says it all.
    with contextlib.suppress(ExpressionError):
        clause["js"] = rule_render(rule)
    if error is not None:
        clause["error"] = error
    else:
        clause["result"] = value_of(rule)
    values: dict[str, Any] = {}
    operation, arguments = _operation(rule)
    if operation in ("!", "!!") and arguments:
        _, arguments = _operation(arguments[0]) if _is_operation(arguments[0]) else (None, arguments)
    for argument in arguments:
        if not _is_operation(argument):
            continue
        name = _name(argument)
        try:
            values[name] = value_of(argument)
        except ConditionError as problem:
            values[name] = f"(could not be evaluated: {problem})"
    clause["values"] = values
    return clause


def _is_operation(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1


def _name(argument: dict[str, Any]) -> str:
    """Name an argument as a person reads it: a variable by its path, anything else by its JSON."""
    operation, parameters = next(iter(argument.items()))
    if operation == "var":
        path = parameters[0] if isinstance(parameters, list) and parameters else parameters
        if isinstance(path, (str, int)):
            return str(path)
    return json.dumps(argument, sort_keys=True, default=str)
