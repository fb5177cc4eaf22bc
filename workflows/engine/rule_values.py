"""The values behind a decision: each ``var`` a rule names, with what it was when the rule was evaluated.

A marketer reading a run (test mode, execution history) wants "``contact.tags`` was ``["trial"]``" beside
"took yes". The values are read with the step's own evaluation (same data, clock and history), so they cannot
disagree with the decision; they are kept small, as everything in a step's audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from workflows.engine.conditions import ConditionError

__all__ = ["rule_values"]

MAX_VALUES = 12
MAX_VALUE_CHARS = 300


def rule_values(rules: list[Any], evaluate: Callable[[Any], Any]) -> dict[str, Any]:
    """Return ``{var path: value}`` for the ``var`` paths the ``rules`` name (at most ``MAX_VALUES``), each
    value read with ``evaluate`` (the step's evaluation of a JsonLogic rule)."""
    paths: list[str] = []
    for rule in rules:
        _collect(rule, paths)
    values: dict[str, Any] = {}
    for path in paths[:MAX_VALUES]:
        try:
            values[path] = _small(evaluate(_var_rule(path)))
        except ConditionError:
            values[path] = None
    return values


@lru_cache(maxsize=1024)
def _var_rule(path: str) -> dict[str, str]:
    # One object per path: compiled rules are cached by identity (conditions.compile_rule), and a fresh dict per
    # step would fill that cache and evict the workflows' own rules. Nobody changes the dict returned.
    return {"var": path}


def _collect(rule: Any, paths: list[str]) -> None:
    if isinstance(rule, dict):
        for operation, argument in rule.items():
            if operation == "var":
                path = argument[0] if isinstance(argument, list) and argument else argument
                if isinstance(path, str) and path and path not in paths:
                    paths.append(path)
            _collect(argument, paths)
    elif isinstance(rule, list):
        for item in rule:
            _collect(item, paths)


def _small(value: Any) -> Any:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        return f"<{type(value).__name__}>"
    if len(text) <= MAX_VALUE_CHARS:
        return json.loads(text)  # a copy: a later step may change the contact the value came from
    if isinstance(value, str):
        return value[:MAX_VALUE_CHARS] + "…"
    size = f" of {len(value)}" if isinstance(value, (list, dict)) else ""
    return f"<{type(value).__name__}{size}>"
