"""SQL fragments with their parameters, and the boolean connectives the compiled rules are built of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sql:
    """A piece of SQL with its %s parameters, in order."""

    text: str
    params: tuple[Any, ...] = ()

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return self.text


def sql(template: str, *parts: Sql | str) -> Sql:
    """Fill the `{}` slots of `template` with fragments, collecting their parameters in order."""
    pieces = template.split("{}")
    assert len(pieces) == len(parts) + 1, template
    text, params = pieces[0], []
    for part, piece in zip(parts, pieces[1:], strict=True):
        part = Sql(part) if isinstance(part, str) else part
        text += part.text + piece
        params.extend(part.params)
    return Sql(text, tuple(params))


def param(value: Any, cast: str) -> Sql:
    return Sql(f"%s::{cast}", (value,))


TRUE, FALSE = Sql("TRUE"), Sql("FALSE")


def both(a: Sql, b: Sql) -> Sql:
    if a is TRUE:
        return b
    if b is TRUE:
        return a
    return sql("({} AND {})", a, b)


def any_of(items: list[Sql]) -> Sql:
    items = [item for item in items if item is not FALSE]
    if not items:
        return FALSE
    if any(item is TRUE for item in items):
        return TRUE
    return items[0] if len(items) == 1 else Sql("(" + " OR ".join(i.text for i in items) + ")",
                                                tuple(p for i in items for p in i.params))


def negate(a: Sql) -> Sql:
    return FALSE if a is TRUE else TRUE if a is FALSE else sql("(NOT {})", a)


def when(guard: Sql, then: Sql) -> Sql:
    """`then` where `guard` holds, else FALSE; CASE keeps the guard in front of casts `then` may hold."""
    if guard is TRUE or then is FALSE:
        return then
    return sql("(CASE WHEN {} THEN {} ELSE FALSE END)", guard, then)


def is_true(condition: Sql) -> Sql:
    """A nullable comparison as a boolean that is never NULL (NULL stands for NaN: every comparison is false)."""
    return condition if condition in (TRUE, FALSE) else sql("COALESCE({}, FALSE)", condition)
