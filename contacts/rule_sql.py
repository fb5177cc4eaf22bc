"""Compile a JsonLogic rule over `{contact}` into one SQL condition on the contacts table (PostgreSQL).

The Python evaluator (`workflows.engine.conditions`) stays the definition of what a rule means; this module
produces SQL that selects exactly the contacts it holds true for, so that a segment over a million contacts is
one statement instead of a million evaluations.

How exactness is kept. A value read from the contact (a field of `fields` above all) has a type known only per
row, and the evaluator's coercions depend on it (`"5" == 5`, `null == 0`, `true == "1"`, `"10" < "9"`...). So a
compiled expression is a list of *cases*: (a SQL guard on the row, a value of one static kind). Operations are
written once per pair of kinds, following the evaluator's code path for that pair, and CASE expressions keep the
guards in front of the casts they protect.

Some values are outside what the SQL models exactly: strings Python's `float()` may read in its own way
(`"1_000"`, `"١٢"`, `"infinity"`), non-ASCII text under case-folding, floats that would be turned into text
(`'%.15g'`), integers beyond 2**53, objects, date strings in formats other than plain ISO 8601, and anything
that could make the evaluator fail. For those rows the compiled rule raises an *unsure* flag; callers evaluate
the unsure rows with the Python evaluator (`rule_select`), so the selected set is always the evaluator's.

Refused (`RuleNotCompilable`, with the reason). `at_save=True`: refused when a segment is saved (422), because
no exact SQL can also be fast, or the rule reads what a segment cannot; the other refusals fall back to Python
evaluation, contact by contact (correct, slow on large workspaces).
- `regex` (at save): PostgreSQL's `~` backtracks with no time bound and reads another syntax than the
  evaluator's RE2; no subset is accepted, since proving a pattern both safe and equivalent is not worth the risk.
- reading a whole object (`contact`, `contact.fields`), `length`/index paths into values, computed keys.
- `map`, `filter`, `reduce`, `merge`: they build lists; `all`, `some`, `none` over anything but `contact.tags`
  (over the tags, with a body reading only the tag, they compile to EXISTS over unnest).
- `substr`, arithmetic (`+ - * / % min max`): exact SQL exists, not written yet (the reasons say what it must
  keep).

The string operations of expressions (`starts_with`, `ends_with`, `lower`, `upper`, `length`) compile; `lower`
and `upper` map ASCII letters only, and leave rows with non-ASCII text to the evaluator.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows.engine.conditions import (
    _EMAIL_EVENTS,
    ASSUMED_LIST_ITEMS,
    ConditionError,
    check_rule,
)
from workflows.engine.durations import parse_duration

__all__ = ["CompiledSql", "RuleNotCompilable", "compile_rule_sql"]

MAX_CASES = 256  # cases of one expression: past this the SQL would be too large to be worth it
_EXACT_INT = 2**53

# Strings whose number Python's float() and PostgreSQL's float8 input read alike (both round correctly);
# mantissa and exponent are bounded so that no value overflows or underflows float8.
_STRICT_NUMBER = r"^[ \t\n\r\f\v]*[+-]?([0-9]{1,20}(\.[0-9]{0,20})?|\.[0-9]{1,20})([eE][+-]?[0-9]{1,2})?[ \t\n\r\f\v]*$"
# ASCII strings Python's float() might accept in a way the strict form above does not cover (underscores,
# long digit runs, 'inf'/'nan' words, the separators str.strip() removes): unsure when coerced to a number.
_NUMBER_LIKE = r"^[\t\n\r\f\v\x1c-\x1f ]*[+-]?([0-9_.eE]+|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])[\t\n\r\f\v\x1c-\x1f ]*$"
# ISO 8601 forms datetime.fromisoformat reads and PostgreSQL casts alike (validity checked apart).
_ISO_DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_ISO_DATETIME = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$"
)


class RuleNotCompilable(Exception):
    """The rule has no exact SQL form here; `reason` says which part and why. `at_save`: refused at save."""

    def __init__(self, reason: str, *, at_save: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at_save = at_save


# --- SQL fragments ---------------------------------------------------------------------------------------------


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


# --- values -------------------------------------------------------------------------------------------------------

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
        if isinstance(value, int) and abs(value) > _EXACT_INT:
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


# --- conversions, after the json_logic builtins the evaluator uses --------------------------------------------


def truth(ctx: Context, v: Value) -> Sql:
    """json_logic's to_bool."""
    if v.kind == NULL:
        return FALSE
    if v.kind in (BOOL, MISSING):
        return v.sql
    if v.kind == NUM:
        return is_true(sql("({} <> 0)", v.sql))
    if v.kind == STR:
        return sql("({} <> '')", v.sql)
    if v.kind == TAGS:
        return sql("(cardinality({}) > 0)", v.sql)
    if v.kind == JLIST:
        return sql("(jsonb_array_length({}) > 0)", v.sql)
    if v.kind == LIST:
        return TRUE if v.const else FALSE
    ctx.doubt(TRUE)
    return FALSE


def _ascii(v: Value) -> Sql:
    return TRUE if v.ascii else sql("(octet_length({}) = char_length({}))", v.sql, v.sql)


def number(ctx: Context, v: Value) -> Sql:
    """json_logic's to_number, as float8 with NULL for NaN."""
    if v.kind == NUM:
        return v.sql
    if v.kind == NULL:
        return Sql("0::float8")
    if v.kind == BOOL:
        return sql("(CASE WHEN {} THEN 1 ELSE 0 END)::float8", v.sql)
    if v.kind in (STR, LIST) and v.is_const:
        from json_logic.builtins import to_number

        found = to_number(v.const)
        return Sql(_NAN) if isinstance(found, float) and math.isnan(found) else param(float(found), "float8")
    if v.kind == STR:
        ctx.doubt(sql("(NOT {} OR ({} ~ {} AND {} !~ {}))", _ascii(v), v.sql, param(_NUMBER_LIKE, "text"),
                      v.sql, param(_STRICT_NUMBER, "text")))
        return sql("(CASE WHEN {} ~ {} THEN ({})::float8 END)", v.sql, param(_STRICT_NUMBER, "text"), v.sql)
    if v.kind == TAGS:  # [] is 0, [x] is x as a number, longer lists NaN
        first = Value(STR, sql("({})[1]::text", v.sql))
        ctx.doubt(sql("(cardinality({}) = 1 AND {})", v.sql, _str_number_doubt(first)))
        return sql("(CASE cardinality({}) WHEN 0 THEN 0::float8 WHEN 1 THEN (CASE WHEN {} ~ {} THEN ({})::float8 END) "
                   "END)", v.sql, first.sql, param(_STRICT_NUMBER, "text"), first.sql)
    if v.kind == JLIST:
        ctx.doubt(sql("(jsonb_array_length({}) > 0)", v.sql))
        return Sql("0::float8")
    ctx.doubt(TRUE)
    return Sql("NULL::float8")


def _str_number_doubt(v: Value) -> Sql:
    return sql("(NOT {} OR ({} ~ {} AND {} !~ {}))", _ascii(v), v.sql, param(_NUMBER_LIKE, "text"),
               v.sql, param(_STRICT_NUMBER, "text"))


def text(ctx: Context, v: Value) -> Sql:
    """json_logic's to_string."""
    from json_logic.builtins import to_string

    if v.is_const:
        return param(to_string(v.const), "text")
    if v.kind == STR:
        return v.sql
    if v.kind == BOOL:  # json_logic tests int before True/False, and bool is an int: str(True) is "True"
        return sql("(CASE WHEN {} THEN 'True' ELSE 'False' END)", v.sql)
    if v.kind == NUM and v.text is not None:
        ctx.doubt(v.text_unsure)
        return v.text
    if v.kind == TAGS:
        return sql("array_to_string({}, ',')", v.sql)
    ctx.doubt(TRUE)
    return Sql("''")


def _is_ascii_text(v: Value) -> bool:
    return v.ascii or (v.is_const and str(v.const).isascii())


# --- operations over two values (the evaluator's code path for each pair of kinds) -----------------------------

_NUMERIC = (BOOL, NUM)
_LISTS = (TAGS, JLIST, LIST)


def _no_missing(*values: Value) -> None:
    if any(v.kind == MISSING for v in values):
        raise RuleNotCompilable("the list missing returns is compiled only where its truth is tested")


def loose_equal(ctx: Context, a: Value, b: Value) -> Sql:
    """json_logic's op_equals (`==`)."""
    _no_missing(a, b)
    if DICT in (a.kind, b.kind):
        ctx.doubt(TRUE)
        return FALSE
    if a.kind == b.kind:
        if a.kind == NULL:
            return TRUE
        if a.kind in _LISTS:
            raise RuleNotCompilable("== between two lists compares their identity in the evaluator")
        if a.kind == NUM:
            return is_true(sql("({} = {})", a.sql, b.sql))
        if a.kind == BOOL:
            return sql("({} = {})", a.sql, b.sql)
        return sql("({} = {})", a.sql, b.sql)
    if a.kind in _NUMERIC or b.kind in _NUMERIC:
        return _numbers(ctx, "=", a, b)
    if NULL in (a.kind, b.kind):
        return FALSE
    if a.kind in _LISTS and b.kind in _LISTS:
        return FALSE
    return sql("({} = {})", text(ctx, a), text(ctx, b))  # a string against a list's text


def strict_equal(ctx: Context, a: Value, b: Value) -> Sql:
    """Python's == (the evaluator's `===`, and list membership)."""
    _no_missing(a, b)
    if DICT in (a.kind, b.kind):
        ctx.doubt(TRUE)
        return FALSE
    if a.kind == NULL or b.kind == NULL:
        return TRUE if a.kind == b.kind else FALSE
    if a.kind in _NUMERIC and b.kind in _NUMERIC:  # True == 1 and 1 == 1.0 in Python
        return is_true(sql("({} = {})", number(ctx, a), number(ctx, b)))
    if a.kind == STR and b.kind == STR:
        return sql("({} = {})", a.sql, b.sql)
    if a.kind in _LISTS and b.kind in _LISTS:
        raise RuleNotCompilable("=== between two lists is not compiled to SQL")
    return FALSE


_SQL_ORDER = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}


def order(ctx: Context, op: str, a: Value, b: Value) -> Sql:
    """json_logic's less_than and its siblings."""
    _no_missing(a, b)
    if DICT in (a.kind, b.kind):
        ctx.doubt(TRUE)
        return FALSE
    sign = _SQL_ORDER[op]
    if a.kind in _NUMERIC or b.kind in _NUMERIC:
        return _numbers(ctx, sign, a, b)
    if a.kind == STR or b.kind == STR:
        # Python orders strings by code point: the "C" collation orders UTF-8 bytes, which is the same order.
        return sql("({} COLLATE \"C\" " + sign + " {})", text(ctx, a), text(ctx, b))
    return _numbers(ctx, sign, a, b)


_NAN = "NULL::float8"


def _numbers(ctx: Context, sign: str, a: Value, b: Value) -> Sql:
    """Compare as numbers (json_logic's to_number on both sides); NaN compares false with anything."""
    left, right = number(ctx, a), number(ctx, b)
    if _NAN in (left.text, right.text):
        return FALSE
    return is_true(sql("({} " + sign + " {})", left, right))


def member(ctx: Context, needle: Value, haystack: Value, *, casefold_text: bool) -> Sql:
    """`in` (haystack last) and `contains`: list membership by Python's ==, else a substring test."""
    _no_missing(needle, haystack)
    if haystack.kind == LIST:
        values = haystack.const
        if needle.kind == STR and all(isinstance(item, str) for item in values):
            return sql("({} = ANY({}))", needle.sql, param(values, "text[]"))
        return any_of([strict_equal(ctx, needle, constant(item)) for item in values])
    if haystack.kind == TAGS:
        if needle.kind == STR:
            if needle.is_const:  # the GIN index on tags serves this form
                return sql("({} @> ARRAY[{}]::varchar[])", haystack.sql, needle.sql)
            return sql("({} = ANY({}))", needle.sql, haystack.sql)
        if needle.kind == DICT:
            ctx.doubt(TRUE)
        return FALSE  # tags are strings: nothing else equals one
    if haystack.kind == JLIST:
        if needle.kind == STR:
            return sql("({} @> jsonb_build_array({}))", haystack.sql, needle.sql)
        if needle.kind == NULL:
            return sql("({} @> '[null]'::jsonb)", haystack.sql)
        ctx.doubt(TRUE)  # numbers and booleans equal each other across kinds in Python: left to it
        return FALSE
    if haystack.kind == STR:
        if casefold_text:
            if needle.kind == NULL:
                return FALSE
            needle_text = text(ctx, needle)
            # casefold() and lower() agree on ASCII only
            ctx.doubt(negate(_ascii(haystack)))
            if not _is_ascii_text(needle):
                ctx.doubt(sql("(octet_length({}) <> char_length({}))", needle_text, needle_text))
            return sql("(strpos(lower({}), lower({})) > 0)", haystack.sql, needle_text)
        return sql("(strpos({}, {}) > 0)", haystack.sql, text(ctx, needle))
    if haystack.kind == DICT:
        ctx.doubt(TRUE)
    return FALSE


# --- the string operations of expressions (starts_with, ends_with, lower, upper, length) ----------------------

_ASCII_UPPER, _ASCII_LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"


def affix(ctx: Context, value: Value, affix_: Value, *, at_end: bool) -> Sql:
    """`starts_with` / `ends_with`: false unless the value is text; the affix is json_logic's to_string of it.

    Compared by a slice of the value's characters (left/right count code points, as Python does) and `=`
    (byte equality under a deterministic collation): no LIKE pattern, so `%`, `_` and `\\` are plain text."""
    _no_missing(value, affix_)
    if value.kind == DICT:
        ctx.doubt(TRUE)
        return FALSE
    if value.kind != STR:
        return FALSE
    if value.is_const and affix_.is_const:
        from json_logic.builtins import to_string

        found = value.const.endswith if at_end else value.const.startswith
        return TRUE if found(to_string(affix_.const)) else FALSE
    wanted = text(ctx, affix_)
    side = "right" if at_end else "left"
    return sql(f"({side}({{}}, char_length({{}})) = {{}})", value.sql, wanted, wanted)


def case_mapped(ctx: Context, value: Value, *, upper: bool) -> Value:
    """`lower` / `upper`: null unless the value is text.

    Python's str.lower()/upper() and PostgreSQL's lower()/upper() (which follow the database's locale) agree on
    ASCII letters only ('ß'.upper() is 'SS' in Python, 'İ'.lower() two code points): translate() maps exactly
    A-Z or a-z, whatever the locale, and rows with non-ASCII text are left to the evaluator."""
    _no_missing(value)
    if value.kind == DICT:
        ctx.doubt(TRUE)
        return value
    if value.kind != STR:
        return constant(None)
    if value.is_const:
        return constant(value.const.upper() if upper else value.const.lower())
    ctx.doubt(negate(_ascii(value)))
    source, target = (_ASCII_LOWER, _ASCII_UPPER) if upper else (_ASCII_UPPER, _ASCII_LOWER)
    mapped = sql("translate({}, {}, {})", value.sql, param(source, "text"), param(target, "text"))
    return Value(STR, mapped, ascii=value.ascii)


def length(ctx: Context, value: Value) -> Value:
    """`length`: characters (code points: char_length in UTF-8) of text, items of a list, null otherwise."""
    _no_missing(value)
    if value.kind == DICT:
        ctx.doubt(TRUE)
        return value
    if value.is_const and value.kind in (STR, LIST):
        return constant(len(value.const))
    counts = {STR: "char_length({})", TAGS: "cardinality({})", JLIST: "jsonb_array_length({})"}
    if value.kind not in counts:
        return constant(None)
    count = sql(counts[value.kind], value.sql)
    return Value(NUM, sql("({})::float8", count), text=sql("({})::text", count))


# --- the compiler -------------------------------------------------------------------------------------------------

_COLUMNS = {"email", "first_name", "last_name", "timezone", "status"}
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
    "substr": "substr is evaluated in Python, not compiled to SQL (Python slicing of a start and length coerced "
              "to numbers, negative ones counted from the end: exact SQL is possible, not written yet)",
    **{op: f"arithmetic ({op}) is evaluated in Python, not compiled to SQL: its results keep Python's int/float "
           "distinction, which shows in their text (2 against 2.0, '%.15g'), % takes the divisor's sign, a division "
           "by zero fails the rule for that contact; not modelled exactly yet" for op in ("+", "-", "*", "/", "%",
                                                                                          "min", "max")},
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


def _single(value: Value) -> list[Case]:
    return [(TRUE, value)]


def _combine(ctx: Context, args: list[list[Case]], fn) -> list[Case]:
    """Apply `fn` to every combination of the arguments' cases; a boolean result is one case."""
    combos: list[tuple[Sql, list[Value]]] = [(TRUE, [])]
    for cases in args:
        combos = [(both(g, guard), [*values, value]) for g, values in combos for guard, value in cases]
        if len(combos) > MAX_CASES:
            raise RuleNotCompilable("the rule has too many combinations of value types to compile to SQL")
    outer = ctx.guard
    results: list[tuple[Sql, Sql]] = []
    for guard, values in combos:
        ctx.guard = both(outer, guard)
        results.append((guard, fn(*values)))
    ctx.guard = outer
    if len(results) == 1:
        return _single(Value(BOOL, when(*results[0])))
    branches = [r for r in results if r[1] is not FALSE]
    if not branches:
        return _single(Value(BOOL, FALSE))
    text_ = "(CASE " + " ".join(f"WHEN {g.text} THEN {v.text}" for g, v in branches) + " ELSE FALSE END)"
    params = tuple(p for g, v in branches for p in (*g.params, *v.params))
    return _single(Value(BOOL, Sql(text_, params)))


def _compile(ctx: Context, logic: Any) -> list[Case]:
    if isinstance(logic, list):
        return _single(constant(logic))
    if not isinstance(logic, dict):
        return _single(constant(logic))
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
        return _event_count(ctx, args)
    if op == "email_event":
        return _email_event(ctx, args)
    if not isinstance(args, list):
        args = [args]
    if op == "var":
        return _var(ctx, args)
    if op in ("and", "or"):
        return _and_or(ctx, op, args)
    if op in ("if", "?:"):
        return _if(ctx, args)
    if op == "log":
        return _compile(ctx, args[0]) if args else _single(constant(None))
    if op in ("missing", "missing_some"):
        return _missing(ctx, op, args)
    if op == "in_segment":
        return _in_segment(ctx, args)
    if op == "days_since":
        return _days_since(ctx, args)
    compiled = [_compile(ctx, arg) for arg in args]
    none = _single(constant(None))

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
    if op in _SQL_ORDER:
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
        return _single(constant(""))
    parts = [text(ctx, value) for value in values]
    joined = Sql(" || ".join(p.text for p in parts), tuple(x for p in parts for x in p.params))
    ascii_ = all(_is_ascii_text(v) or v.kind in (NULL, BOOL, NUM) for v in values)
    return _single(Value(STR, sql("({})", joined), ascii=ascii_))


def _and_or(ctx: Context, op: str, args: list[Any]) -> list[Case]:
    if not args:
        return _single(constant(None))
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
    tail = _compile(ctx, args[index]) if index < len(args) else _single(constant(None))
    cases.extend((both(prefix, guard), value) for guard, value in tail)
    if len(cases) > MAX_CASES:
        raise RuleNotCompilable("the rule has too many branches to compile to SQL")
    return cases


# --- loops over the tags --------------------------------------------------------------------------------------------

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
    return _single(Value(BOOL, result))


# --- reading the contact ------------------------------------------------------------------------------------------

_ISO_CREATED = (
    "(to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
    "mod(extract(microseconds FROM c.created_at)::bigint, 1000000) = 0 THEN '' ELSE '.' || "
    "to_char(c.created_at AT TIME ZONE 'UTC', 'US') END || '+00:00')"
)


def _var(ctx: Context, args: list[Any]) -> list[Case]:
    if ctx.item is not None:
        if args and args[0] not in (None, ""):
            raise RuleNotCompilable("a loop body reading more than its item ({\"var\": \"\"}) is not compiled to SQL")
        return _single(ctx.item)
    if not args or args[0] in (None, ""):
        raise RuleNotCompilable("var without a key reads the whole data, which is not compiled to SQL")
    key = args[0]
    if not isinstance(key, str):
        raise RuleNotCompilable("var with a computed or numeric key is not compiled to SQL")
    default = _compile(ctx, args[1]) if len(args) > 1 else _single(constant(None))
    found = _path(key)
    out: list[Case] = []
    for guard, value in found:
        if value.kind == NULL:
            out.extend((both(guard, g), v) for g, v in default)
        else:
            out.append((guard, value))
    return out


def _path(key: str) -> list[Case]:
    parts = key.split(".")
    if any(part == "" for part in parts):
        raise RuleNotCompilable(f"the path {key!r} has an empty part")
    if parts[0] != "contact":
        return _single(constant(None))  # a segment's rule sees only the contact: anything else is null
    if len(parts) == 1:
        raise RuleNotCompilable("reading the whole contact object is not compiled to SQL")
    name, rest = parts[1], parts[2:]
    if name == "fields":
        if not rest:
            raise RuleNotCompilable("reading the whole fields object is not compiled to SQL")
        return _json_cases(rest)
    if rest:
        raise RuleNotCompilable(f"the path {key!r} reads into a value (an index or length); not compiled to SQL")
    if name in _COLUMNS:
        return _single(Value(STR, Sql(f'c."{name}"')))
    if name == "id":
        return _single(Value(STR, Sql("c.id::text"), ascii=True))
    if name == "score":
        return _single(Value(NUM, Sql("c.score::float8"), text=Sql("c.score::text")))
    if name == "tags":
        return _single(Value(TAGS, Sql("c.tags")))
    if name == "external_id":
        return [(Sql("(c.external_id IS NULL)"), constant(None)),
                (Sql("(c.external_id IS NOT NULL)"), Value(STR, Sql("c.external_id")))]
    if name == "created_at":
        return _single(Value(STR, Sql(_ISO_CREATED), ascii=True))
    return _single(constant(None))  # not a key of the contact as rules see it


def _json_cases(path: list[str]) -> list[Case]:
    def at(parts: list[str]) -> Sql:
        return sql("(c.fields #> {})", param(parts, "text[]"))

    ref = at(path)
    kind = sql("COALESCE(jsonb_typeof({}), 'null')", ref)
    # A path through a list or a string follows JsonLogic's index and "length" rules in the evaluator.
    through = any_of([sql("(COALESCE(jsonb_typeof({}), 'null') IN ('array', 'string'))", at(path[:i]))
                      for i in range(1, len(path))])
    number_text = sql("({})::text", ref)
    is_int = sql("({} !~ '[.eE]')", number_text)
    # Numbers float8 cannot hold, and integers past 2**53, are left to Python (CASE: no cast of a non-number).
    num_guard = sql("(CASE WHEN {} = 'number' THEN abs(({})::numeric) < 1e300 AND (({})::numeric = 0 OR "
                    "abs(({})::numeric) > 1e-300) AND NOT ({} AND abs(({})::numeric) > {}) ELSE FALSE END)",
                    kind, ref, ref, ref, is_int, ref, param(_EXACT_INT, "numeric"))
    cases: list[Case] = [
        (sql("({} = 'null')", kind), constant(None)),
        (sql("({} = 'string')", kind), Value(STR, sql("({} #>> ARRAY[]::text[])", ref))),
        (num_guard, Value(NUM, sql("({})::float8", ref), text=number_text, text_unsure=negate(is_int))),
        (sql("({} = 'number' AND NOT {})", kind, num_guard), Value(DICT)),  # numbers Python reads otherwise
        (sql("({} = 'boolean')", kind), Value(BOOL, sql("({} = 'true'::jsonb)", ref))),
        (sql("({} = 'array')", kind), Value(JLIST, ref)),
        (sql("({} = 'object')", kind), Value(DICT)),
    ]
    if through is FALSE:
        return cases
    return [(both(negate(through), g), v) for g, v in cases] + [(through, Value(DICT))]


# --- history and time ----------------------------------------------------------------------------------------------


def _within(ctx: Context, op: str, params: dict[str, Any]) -> Sql | None:
    if "within" not in params:
        return None
    return param(ctx.now - parse_duration(params["within"]), "timestamptz")


def _check_object(op: str, args: Any) -> dict[str, Any]:
    from workflows.engine.conditions import _compile_email_event, _compile_event_count

    try:  # the evaluator's own parameter checks, so that both refuse the same rules
        (_compile_email_event if op == "email_event" else _compile_event_count)(args)
    except ConditionError as error:
        raise RuleNotCompilable(str(error)) from None
    return args


_NOT_BOT = "NOT e.flags @> '{\"bot\": true}'"


def _event_count(ctx: Context, args: Any) -> list[Case]:
    params = _check_object("event_count", args)
    ctx.uses_history = True
    conditions = [Sql("e.workspace_id = c.workspace_id AND e.contact_id = c.id"), Sql(_NOT_BOT),
                  sql("e.type = {}", param(params["type"], "text"))]
    since = _within(ctx, "event_count", params)
    if since is not None:
        conditions.append(sql("e.occurred_at >= {}", since))
    where = Sql(" AND ".join(c.text for c in conditions), tuple(p for c in conditions for p in c.params))
    count = sql("(SELECT count(*) FROM events_event e WHERE {})::float8", where)
    return _single(Value(NUM, count, text=sql("({})::bigint::text", count)))


def _email_event(ctx: Context, args: Any) -> list[Case]:
    params = _check_object("email_event", args)
    ctx.uses_history = True
    short = params["event"].removeprefix("email.")
    assert short in _EMAIL_EVENTS
    conditions = [Sql("e.workspace_id = c.workspace_id AND e.contact_id = c.id"), Sql(_NOT_BOT),
                  sql("e.type = {}", param(f"email.{short}", "text"))]
    since = _within(ctx, "email_event", params)
    if since is not None:
        conditions.append(sql("e.occurred_at >= {}", since))
    if "node" in params:
        conditions.append(sql("e.properties->>'node_id' = {}", param(params["node"], "text")))
    url = None
    if "url_contains" in params:
        needle = params["url_contains"]
        if not needle.isascii():
            raise RuleNotCompilable("email_event.url_contains with non-ASCII text is evaluated in Python")
        url = sql("strpos(lower(COALESCE(e.properties->>'url', '')), {}) > 0", param(needle.lower(), "text"))
    where = Sql(" AND ".join(c.text for c in conditions), tuple(p for c in conditions for p in c.params))
    if url is not None:
        # casefold() and lower() agree on ASCII urls only: a contact with another url of that kind is unsure
        ctx.doubt(sql("EXISTS (SELECT 1 FROM events_event e WHERE {} AND "
                      "octet_length(COALESCE(e.properties->>'url', '')) <> char_length(COALESCE(e.properties->>'url', '')))",
                      where))
        where = sql("{} AND {}", where, url)
    return _single(Value(BOOL, sql("EXISTS (SELECT 1 FROM events_event e WHERE {})", where)))


def _in_segment(ctx: Context, args: list[Any]) -> list[Case]:
    segment_id = args[0] if args else None
    if not isinstance(segment_id, str) or not segment_id:
        raise RuleNotCompilable("in_segment needs a segment id written in the rule")
    ctx.uses_history = True
    try:
        from uuid import UUID

        segment = str(UUID(segment_id))
    except ValueError:
        return _single(constant(False))  # the activity reader answers False for an id that is no UUID
    return _single(Value(BOOL, sql("EXISTS (SELECT 1 FROM contacts_segmentmembership m WHERE m.contact_id = c.id "
                                   "AND m.segment_id = {})", param(segment, "uuid"))))


def _days_since(ctx: Context, args: list[Any]) -> list[Case]:
    if args and args[0] == {"var": "contact.created_at"}:
        return _single(_days(ctx, Sql("c.created_at")))
    compiled = _compile(ctx, args[0]) if args else _single(constant(None))
    out: list[Case] = []
    for guard, value in compiled:
        if value.kind == NULL:
            out.append((guard, value))
        elif value.kind == STR and value.is_const:
            try:
                from workflows.engine.conditions import _timestamp

                moment = _timestamp(value.const) if value.const != "" else None
            except ConditionError as error:
                raise RuleNotCompilable(f"days_since: {error}") from None
            out.append((guard, constant(None) if moment is None else _days(ctx, param(moment, "timestamptz"))))
        elif value.kind == STR:
            out.extend(_days_of_text(ctx, guard, value.sql))
        else:
            _fails(ctx, guard)  # a number, a boolean, a list: the evaluator fails
            out.append((guard, Value(DICT)))
    return out


def _days(ctx: Context, moment: Sql) -> Value:
    # (now - t).total_seconds() / 86400 in Python: exact microseconds, one rounding to float, one division.
    days = sql("(extract(epoch FROM ({} - {}))::float8 / 86400::float8)", param(ctx.now, "timestamptz"), moment)
    return Value(NUM, days, text=Sql("''"), text_unsure=TRUE)


def _days_of_text(ctx: Context, guard: Sql, value: Sql) -> list[Case]:
    date_only = sql("({} ~ {})", value, param(_ISO_DATE, "text"))
    stamp = sql("({} ~ {})", value, param(_ISO_DATETIME, "text"))
    # the regular expressions leave Feb 30 and the like, which both sides refuse: Python decides those rows
    day_fits = sql("(CASE WHEN substr({}, 1, 4)::int > 0 THEN substr({}, 9, 2)::int <= extract(day FROM "
                   "(make_date(substr({}, 1, 4)::int, substr({}, 6, 2)::int, 1) + interval '1 month - 1 day'))::int "
                   "ELSE FALSE END)", value, value, value, value)
    zoned = sql("({} ~ {})", value, param(r"(Z|[+-][0-9]{2}:[0-9]{2})$", "text"))
    moment = sql("(CASE WHEN {} THEN ({})::timestamptz ELSE ({})::timestamp AT TIME ZONE 'UTC' END)",
                 zoned, value, value)
    readable = both(any_of([date_only, stamp]), when(any_of([date_only, stamp]), day_fits))
    unreadable = both(guard, both(sql("({} <> '')", value), negate(readable)))
    _fails(ctx, unreadable)  # the evaluator fails, or reads a form the SQL does not: Python decides
    return [
        (both(guard, sql("({} = '')", value)), constant(None)),
        (both(guard, both(sql("({} <> '')", value), readable)), _days(ctx, moment)),
        (unreadable, Value(DICT)),
    ]


def _fails(ctx: Context, guard: Sql) -> None:
    """Mark unsure the rows where the evaluator may fail: a failure anywhere makes the whole rule fail for the
    contact (it is no member), whatever the operations around it would have made of a value."""
    outer, ctx.guard = ctx.guard, TRUE
    ctx.doubt(both(outer, guard))
    ctx.guard = outer


def _missing(ctx: Context, op: str, args: list[Any]) -> list[Case]:
    if op == "missing_some":
        need, keys = ([*args, None, None])[:2]
        if not isinstance(need, (int, float)) or isinstance(need, bool) or not isinstance(keys, list):
            raise RuleNotCompilable("missing_some is compiled with a literal count and a literal list of keys")
    else:
        keys = args[0] if args and isinstance(args[0], list) else args
    if not all(isinstance(key, str) and key for key in keys):
        raise RuleNotCompilable(f"{op} is compiled with literal keys only")
    absent = []
    for key in keys:
        parts = []
        for guard, value in _var(ctx, [key]):
            if value.kind == NULL:
                parts.append(guard)
            elif value.kind == STR:
                parts.append(when(guard, sql("({} = '')", value.sql)))
            elif value.kind == DICT:
                ctx.guard = guard
                ctx.doubt(TRUE)
                ctx.guard = TRUE
        absent.append(any_of(parts))
    if op == "missing":
        return _single(Value(MISSING, any_of(absent)))
    counts = " + ".join(f"(CASE WHEN {a.text} THEN 1 ELSE 0 END)" for a in absent) or "0"
    missing = Sql(f"({counts})", tuple(p for a in absent for p in a.params))
    holds = sql("(({} - {}) < {} AND {} > 0)", param(len(keys), "int"), missing, param(float(need), "float8"),
                missing)
    return _single(Value(MISSING, holds))

