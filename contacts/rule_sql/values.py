"""What a compiled expression is made of: values of one static kind each, guarded by SQL on the row (cases), and
the context a compilation collects (the unsure rows)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contacts.rule_sql.fragments import FALSE, TRUE, Sql, both, param, when

EXACT_INT = 2**53  # past this, float8 and Python's int differ


class RuleNotCompilable(Exception):
    """The rule has no exact SQL form here; `reason` says which part and why. `at_save`: refused at save."""

    def __init__(self, reason: str, *, at_save: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at_save = at_save


NULL, BOOL, NUM, STR, TAGS, JLIST, LIST, DICT, MISSING = (
    "null", "bool", "num", "str", "tags", "jlist", "list", "dict", "missing"
)
_NO_VALUE = object()


@dataclass(frozen=True)
class Value:
    """One static kind of value and its SQL.

    NUM: float8, NULL standing for NaN; `text` is Python's str() of it when known (ints), `text_unsure` the rows
    where it is not. STR: text, never NULL; `ascii` when known to be ASCII. TAGS: the varchar[] column. JLIST: a
    JSON array (jsonb). LIST: a literal list (`const`). DICT: an object (always unsure). MISSING: the list
    `missing` returns, usable for its truth only (`sql` is that truth).
    """

    kind: str
    sql: Sql = FALSE
    const: Any = _NO_VALUE
    text: Sql | None = None
    text_unsure: Sql = FALSE
    ascii: bool = False

    @property
    def is_const(self) -> bool:
        return self.const is not _NO_VALUE


Case = tuple[Sql, Value]  # (guard, value)


def constant(value: Any) -> Value:
    if value is None:
        return Value(NULL, Sql("NULL"), const=None)
    if isinstance(value, bool):
        return Value(BOOL, TRUE if value else FALSE, const=value)
    if isinstance(value, (int, float)):
        if isinstance(value, int) and abs(value) > EXACT_INT:
            raise RuleNotCompilable(f"the number {value} is beyond 2**53, where SQL and Python numbers differ")
        if isinstance(value, float) and not math.isfinite(value):
            raise RuleNotCompilable("the rule holds a number that is not finite")
        text = str(value) if isinstance(value, int) else f"{value:.15g}"
        return Value(NUM, param(float(value), "float8"), const=value, text=param(text, "text"))
    if isinstance(value, str):
        return Value(STR, param(value, "text"), const=value, ascii=value.isascii())
    if isinstance(value, list):
        if any(isinstance(item, (list, dict)) for item in value):
            raise RuleNotCompilable("a literal list holding lists or objects is not compiled to SQL")
        for item in value:
            constant(item)  # same checks on each item
        return Value(LIST, const=value)
    raise RuleNotCompilable("a literal object is not compiled to SQL")


def single(value: Value) -> list[Case]:
    return [(TRUE, value)]


@dataclass
class Context:
    """What a compilation collects: the rows where the SQL may differ from Python, and the parameters."""

    now: datetime
    unsure: list[Sql] = field(default_factory=list)
    guard: Sql = TRUE
    uses_history: bool = False
    item: Value | None = None  # inside the body of a loop over the tags: the current tag

    def doubt(self, condition: Sql) -> None:
        """Mark as unsure the rows of the current guard where `condition` holds."""
        if condition is not FALSE:
            self.unsure.append(when(self.guard, condition))

    def doubt_failure(self, guard: Sql) -> None:
        """Mark unsure the rows where the evaluator may fail: a failure anywhere makes the whole rule fail for the
        contact (it is no member), whatever the operations around it would have made of a value; so `guard` is
        not put under `when` (which would weigh it by the value around it), only joined to the current guard."""
        condition = both(self.guard, guard)
        if condition is not FALSE:
            self.unsure.append(condition)
