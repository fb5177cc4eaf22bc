"""The compiler: a rule (JsonLogic over `{contact}`) to one SQL condition and the SQL of its unsure rows.

Each operation compiles to a list of cases; control forms (`if`, `and`, `or`) keep the cases of their branches
under the guards that reach them, and operations over values are applied to every combination of their
arguments' cases (`_combine`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contacts.rule_sql.coercions import known_ascii, text, truth
from contacts.rule_sql.contact import missing_cases, var_cases
from contacts.rule_sql.fragments import FALSE, TRUE, Sql, any_of, both, negate, param, sql, when
from contacts.rule_sql.history import days_since, days_since_created, email_event, event_count, in_segment
from contacts.rule_sql.operations import (
    SQL_ORDER,
    affix,
    case_mapped,
    length,
    loose_equal,
    member,
    order,
    strict_equal,
    substring,
)
from contacts.rule_sql.values import (
    BOOL,
    NULL,
    NUM,
    STR,
    Case,
    Context,
    RuleNotCompilable,
    Value,
    constant,
    single,
)
from workflows.engine.conditions import ASSUMED_LIST_ITEMS, check_rule

MAX_CASES = 256  # cases of one expression: past this the SQL would be too large to be worth it
_REFUSED = {
    "regex": "regex is not compiled to SQL: PostgreSQL's ~ has no time bound (it backtracks) and reads another "
             "syntax than the evaluator's RE2; use contains, in, ==, or a tag",
}
_FALLBACK = {  # no SQL form here: the rule is evaluated in Python, contact by contact
    "map": "map builds a list with a rule per item; not compiled to SQL",
    "filter": "filter builds a list with a rule per item; not compiled to SQL",
    "reduce": "reduce folds a list with a rule per item; not compiled to SQL",
    "all": "all is compiled over contact.tags only; over other lists it runs a rule per item in Python",
    "some": "some is compiled over contact.tags only; over other lists it runs a rule per item in Python",
    "none": "none is compiled over contact.tags only; over other lists it runs a rule per item in Python",
    "merge": "merge builds lists; not compiled to SQL",
    "sms_event": "sms_event reads the contact's SMS events in Python, not compiled to SQL",
    "push_event": "push_event reads the contact's push events in Python, not compiled to SQL",
    **{op: f"arithmetic ({op}) is evaluated in Python, not compiled to SQL: its results are Python ints or floats "
           "(ints exact past 2**53 until * turns them to floats, text by str() or '%.15g'), % takes the divisor's "
           "sign, a division by zero fails the rule for that contact; not modelled exactly yet"
        for op in ("+", "-", "*", "/", "%", "min", "max")},
}


@dataclass(frozen=True)
class CompiledSql:
    """`where`: the rows the rule holds for, among the sure ones; `unsure`: the rows to evaluate in Python.

    Both are SQL over the contacts table aliased `c`, never NULL."""

    where: Sql
    unsure: Sql
    uses_history: bool


def compile_rule_sql(rule: Any, *, now: datetime) -> CompiledSql:
    """Compile `rule` (JsonLogic over `{contact}`) for evaluation at `now`; raise `RuleNotCompilable`."""
    problems = check_rule(rule)
    if problems:
        raise RuleNotCompilable("; ".join(problems), at_save=True)
    ctx = Context(now=now)
    # Never NULL, even if a piece were: a NULL would drop the row from both the sure and the unsure selection.
    holds = sql("COALESCE({}, FALSE)", _truth_of(ctx, rule))
    unsure = sql("COALESCE({}, TRUE)", any_of(ctx.unsure))
    return CompiledSql(where=holds, unsure=unsure, uses_history=ctx.uses_history)


def _truth_of(ctx: Context, logic: Any) -> Sql:
    """The truth of `logic` as SQL. `and`, `or`, `!` and `!!` are written as SQL's own connectives here: only
    the truth of their value matters, and the CASE lists of their values would repeat every earlier argument.
    (Where the evaluator would stop early, SQL may evaluate more: every argument is safe to evaluate, and the
    unsure rows are collected from all of them anyway.)"""
    if isinstance(logic, dict) and len(logic) == 1:
        ((op, args),) = logic.items()
        if op in ("and", "or") and isinstance(args, list) and args:
            parts = [_truth_of(ctx, arg) for arg in args]
            joiner = " AND " if op == "and" else " OR "
            return Sql("(" + joiner.join(p.text for p in parts) + ")", tuple(x for p in parts for x in p.params))
        if op in ("!", "!!"):
            args = args if isinstance(args, list) else [args]
            if args:
                inner = _truth_of(ctx, args[0])
                return negate(inner) if op == "!" else inner
    return _case_truth(ctx, _compile(ctx, logic))


def _case_truth(ctx: Context, cases: list[Case]) -> Sql:
    parts = []
    for guard, value in cases:
        ctx.guard = guard
        parts.append(when(guard, truth(ctx, value)))
    ctx.guard = TRUE
    return any_of(parts) if len(parts) > 1 else parts[0]


def _each_combination(ctx: Context, args: list[list[Case]], fn) -> list[tuple[Sql, Any]]:
    """Apply `fn` to every combination of the arguments' cases, under that combination's guard."""
    combos: list[tuple[Sql, list[Value]]] = [(TRUE, [])]
    for cases in args:
        combos = [(both(g, guard), [*values, value]) for g, values in combos for guard, value in cases]
        if len(combos) > MAX_CASES:
            raise RuleNotCompilable("the rule has too many combinations of value types to compile to SQL")
    outer = ctx.guard
    results: list[tuple[Sql, Any]] = []
    for guard, values in combos:
        ctx.guard = both(outer, guard)
        results.append((guard, fn(*values)))
    ctx.guard = outer
    return results


def _combine(ctx: Context, args: list[list[Case]], fn) -> list[Case]:
    """Apply `fn` (values to a condition) to every combination of the arguments' cases: one boolean case."""
    results = _each_combination(ctx, args, fn)
    if len(results) == 1:
        return single(Value(BOOL, when(*results[0])))
    branches = [r for r in results if r[1] is not FALSE]
    if not branches:
        return single(Value(BOOL, FALSE))
    text_ = "(CASE " + " ".join(f"WHEN {g.text} THEN {v.text}" for g, v in branches) + " ELSE FALSE END)"
    params = tuple(p for g, v in branches for p in (*g.params, *v.params))
    return single(Value(BOOL, Sql(text_, params)))


def _compile(ctx: Context, logic: Any) -> list[Case]:
    if isinstance(logic, list):
        return single(constant(logic))
    if not isinstance(logic, dict):
        return single(constant(logic))
    if len(logic) != 1:
        raise RuleNotCompilable("a literal object is not compiled to SQL")
    ((op, args),) = logic.items()
    if op in _REFUSED:
        raise RuleNotCompilable(_REFUSED[op], at_save=True)
    if op in _TAG_LOOPS and isinstance(args, list) and len(args) >= 2 and args[0] == {"var": "contact.tags"}:
        return _tags_loop(ctx, op, args[1])
    if op in _FALLBACK:
        raise RuleNotCompilable(_FALLBACK[op])
    if op == "event_count":
        return event_count(ctx, args)
    if op == "email_event":
        return email_event(ctx, args)
    if not isinstance(args, list):
        args = [args]
    if op == "var":
        return var_cases(ctx, args, lambda: _compile(ctx, args[1]) if len(args) > 1 else single(constant(None)))
    if op in ("and", "or"):
        return _and_or(ctx, op, args)
    if op in ("if", "?:"):
        return _if(ctx, args)
    if op == "log":
        return _compile(ctx, args[0]) if args else single(constant(None))
    if op in ("missing", "missing_some"):
        return missing_cases(ctx, op, args)
    if op == "in_segment":
        return in_segment(ctx, args)
    if op == "days_since":
        if args and args[0] == {"var": "contact.created_at"}:
            return days_since_created(ctx)
        return days_since(ctx, _compile(ctx, args[0]) if args else single(constant(None)))
    compiled = [_compile(ctx, arg) for arg in args]
    none = single(constant(None))

    def arg(index: int) -> list[Case]:
        return compiled[index] if index < len(compiled) else none

    if op in ("!", "!!"):
        flip = op == "!"
        return _combine(ctx, [arg(0)], lambda a: negate(truth(ctx, a)) if flip else truth(ctx, a))
    if op in ("==", "!="):
        flip = op == "!="
        return _combine(ctx, [arg(0), arg(1)], lambda a, b: _maybe_not(flip, loose_equal(ctx, a, b)))
    if op in ("===", "!=="):
        flip = op == "!=="
        return _combine(ctx, [arg(0), arg(1)], lambda a, b: _maybe_not(flip, strict_equal(ctx, a, b)))
    if op in SQL_ORDER:
        return _combine(ctx, [arg(0), arg(1), arg(2)], lambda a, b, c: (
            order(ctx, op, a, b) if c.kind == NULL else both(order(ctx, op, a, b), order(ctx, op, b, c))))
    if op == "in":
        return _combine(ctx, [arg(0), arg(1)], lambda a, b: member(ctx, a, b, casefold_text=False))
    if op == "contains":
        return _combine(ctx, [arg(0), arg(1)], lambda h, n: member(ctx, n, h, casefold_text=True))
    if op == "cat":
        return _cat(ctx, compiled)
    if op in ("starts_with", "ends_with"):
        at_end = op == "ends_with"
        return _combine(ctx, [arg(0), arg(1)], lambda a, b: affix(ctx, a, b, at_end=at_end))
    if op in ("lower", "upper"):
        return _map_cases(ctx, arg(0), lambda v: case_mapped(ctx, v, upper=op == "upper"))
    if op == "length":
        return _map_cases(ctx, arg(0), lambda v: length(ctx, v))
    if op == "substr":
        return _each_combination(ctx, [arg(0), arg(1), arg(2)], lambda s, i, n: substring(ctx, s, i, n))
    raise RuleNotCompilable(f"{op} is not compiled to SQL")


def _map_cases(ctx: Context, cases: list[Case], fn) -> list[Case]:
    """Apply `fn` (a value to a value) to each case, under that case's guard (for the rows it marks unsure)."""
    outer, out = ctx.guard, []
    for guard, value in cases:
        ctx.guard = both(outer, guard)
        out.append((guard, fn(value)))
    ctx.guard = outer
    return out


def _maybe_not(flip: bool, condition: Sql) -> Sql:
    return negate(condition) if flip else condition


def _cat(ctx: Context, compiled: list[list[Case]]) -> list[Case]:
    if any(len(cases) != 1 for cases in compiled):
        raise RuleNotCompilable("cat over values of several possible types is not compiled to SQL")
    values = [cases[0][1] for cases in compiled]
    if not values:
        return single(constant(""))
    parts = [text(ctx, value) for value in values]
    joined = Sql(" || ".join(p.text for p in parts), tuple(x for p in parts for x in p.params))
    ascii_ = all(known_ascii(v) or v.kind in (NULL, BOOL, NUM) for v in values)
    return single(Value(STR, sql("({})", joined), ascii=ascii_))


def _and_or(ctx: Context, op: str, args: list[Any]) -> list[Case]:
    if not args:
        return single(constant(None))
    cases: list[Case] = []
    prefix = TRUE  # the rows that reach the current argument
    for index, source in enumerate(args):
        compiled = _compile(ctx, source)
        last = index == len(args) - 1
        passing = []
        for guard, value in compiled:
            ctx.guard = both(prefix, guard)
            stops = truth(ctx, value)
            stops = negate(stops) if op == "and" else stops
            ctx.guard = TRUE
            if last:
                cases.append((both(prefix, guard), value))
            else:
                cases.append((both(prefix, when(guard, stops)), value))
                passing.append(when(guard, negate(stops)))
        prefix = both(prefix, any_of(passing)) if not last else prefix
        if len(cases) > MAX_CASES:
            raise RuleNotCompilable("the rule has too many branches to compile to SQL")
    return cases


def _if(ctx: Context, args: list[Any]) -> list[Case]:
    cases: list[Case] = []
    prefix = TRUE
    index = 0
    while index < len(args) - 1:
        test = _compile(ctx, args[index])
        truths = []
        for guard, value in test:
            ctx.guard = both(prefix, guard)
            truths.append(when(guard, truth(ctx, value)))
        ctx.guard = TRUE
        holds = any_of(truths)
        for guard, value in _compile(ctx, args[index + 1]):
            cases.append((both(prefix, both(holds, guard)), value))
        prefix = both(prefix, negate(holds))
        index += 2
    tail = _compile(ctx, args[index]) if index < len(args) else single(constant(None))
    cases.extend((both(prefix, guard), value) for guard, value in tail)
    if len(cases) > MAX_CASES:
        raise RuleNotCompilable("the rule has too many branches to compile to SQL")
    return cases


_TAG_LOOPS = ("some", "all", "none")


def _tags_loop(ctx: Context, op: str, body: Any) -> list[Case]:
    """`some`, `all` or `none` over the contact's tags, with a body that reads only the tag: EXISTS over unnest."""
    if ctx.item is not None:
        raise RuleNotCompilable("a loop inside a loop is not compiled to SQL")
    if "cat" in json.dumps(body):
        # cat is charged by the length it builds: with it, a loop's cost may pass the rule budget on long tags
        raise RuleNotCompilable("a loop whose body uses cat is not compiled to SQL")
    inner = Context(now=ctx.now, item=Value(STR, Sql("t.x::text")))
    holds = _truth_of(inner, body)
    ctx.uses_history = ctx.uses_history or inner.uses_history
    over = "FROM unnest(c.tags) AS t(x) WHERE"
    # The evaluator charges a loop its list's length times its body's cost: check_rule bounded that cost for lists
    # of ASSUMED_LIST_ITEMS; a contact with more tags may go over the budget there (no member): Python decides.
    ctx.doubt(any_of([sql(f"EXISTS (SELECT 1 {over} {{}})", any_of(inner.unsure)) if inner.unsure else FALSE,
                      sql("(cardinality(c.tags) > {})", param(ASSUMED_LIST_ITEMS, "int"))]))
    if op == "some":
        result = sql(f"EXISTS (SELECT 1 {over} {{}})", holds)
    elif op == "none":
        result = sql(f"(NOT EXISTS (SELECT 1 {over} {{}}))", holds)
    else:
        result = sql(f"(cardinality(c.tags) > 0 AND NOT EXISTS (SELECT 1 {over} NOT {{}}))", holds)
    return single(Value(BOOL, result))
