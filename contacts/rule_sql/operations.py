"""Operations over values, one code path per pair of kinds, after the evaluator's: equality (`==`, `===`),
order, membership (`in`, `contains`), and the string methods of expressions (starts_with, ends_with, lower, upper,
length)."""

from __future__ import annotations

from contacts.rule_sql.coercions import NAN, ascii_only, known_ascii, no_missing, number, text
from contacts.rule_sql.fragments import FALSE, TRUE, Sql, any_of, is_true, negate, param, sql
from contacts.rule_sql.values import (
    BOOL,
    DICT,
    JLIST,
    LIST,
    NULL,
    NUM,
    STR,
    TAGS,
    Context,
    RuleNotCompilable,
    Value,
    constant,
)

_NUMERIC = (BOOL, NUM)
_LISTS = (TAGS, JLIST, LIST)


def loose_equal(ctx: Context, a: Value, b: Value) -> Sql:
    """json_logic's op_equals (`==`)."""
    no_missing(a, b)
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
    no_missing(a, b)
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


SQL_ORDER = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}


def order(ctx: Context, op: str, a: Value, b: Value) -> Sql:
    """json_logic's less_than and its siblings."""
    no_missing(a, b)
    if DICT in (a.kind, b.kind):
        ctx.doubt(TRUE)
        return FALSE
    sign = SQL_ORDER[op]
    if a.kind in _NUMERIC or b.kind in _NUMERIC:
        return _numbers(ctx, sign, a, b)
    if a.kind == STR or b.kind == STR:
        # Python orders strings by code point: the "C" collation orders UTF-8 bytes, which is the same order.
        return sql("({} COLLATE \"C\" " + sign + " {})", text(ctx, a), text(ctx, b))
    return _numbers(ctx, sign, a, b)


def _numbers(ctx: Context, sign: str, a: Value, b: Value) -> Sql:
    """Compare as numbers (json_logic's to_number on both sides); NaN compares false with anything."""
    left, right = number(ctx, a), number(ctx, b)
    if NAN in (left.text, right.text):
        return FALSE
    return is_true(sql("({} " + sign + " {})", left, right))


def member(ctx: Context, needle: Value, haystack: Value, *, casefold_text: bool) -> Sql:
    """`in` (haystack last) and `contains`: list membership by Python's ==, else a substring test."""
    no_missing(needle, haystack)
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
            ctx.doubt(negate(ascii_only(haystack)))
            if not known_ascii(needle):
                ctx.doubt(sql("(octet_length({}) <> char_length({}))", needle_text, needle_text))
            return sql("(strpos(lower({}), lower({})) > 0)", haystack.sql, needle_text)
        return sql("(strpos({}, {}) > 0)", haystack.sql, text(ctx, needle))
    if haystack.kind == DICT:
        ctx.doubt(TRUE)
    return FALSE


_ASCII_UPPER, _ASCII_LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"


def affix(ctx: Context, value: Value, affix_: Value, *, at_end: bool) -> Sql:
    """`starts_with` / `ends_with`: false unless the value is text; the affix is json_logic's to_string of it.

    Compared by a slice of the value's characters (left/right count code points, as Python does) and `=`
    (byte equality under a deterministic collation): no LIKE pattern, so `%`, `_` and `\\` are plain text."""
    no_missing(value, affix_)
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
    no_missing(value)
    if value.kind == DICT:
        ctx.doubt(TRUE)
        return value
    if value.kind != STR:
        return constant(None)
    if value.is_const:
        return constant(value.const.upper() if upper else value.const.lower())
    ctx.doubt(negate(ascii_only(value)))
    source, target = (_ASCII_LOWER, _ASCII_UPPER) if upper else (_ASCII_UPPER, _ASCII_LOWER)
    mapped = sql("translate({}, {}, {})", value.sql, param(source, "text"), param(target, "text"))
    return Value(STR, mapped, ascii=value.ascii)


def length(ctx: Context, value: Value) -> Value:
    """`length`: characters (code points: char_length in UTF-8) of text, items of a list, null otherwise."""
    no_missing(value)
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


def substring(ctx: Context, string: Value, index: Value, count: Value) -> Value:
    """json_logic's substr: the text of `string` sliced from `index` (negative: from the end) for `count`
    characters (negative: up to that many from the end; null or absent: to the end), both read by to_number and
    truncated toward zero; NaN reads as 0 for the index, as an empty slice for the count.

    Written step by step after json_logic's op_substr, one subquery level per step so that each input is
    written once (a substr of a substr would otherwise grow the SQL manyfold). The arithmetic is in float8 and
    only the final start and count, within the text's length, are cast to int: PostgreSQL may fold a CASE arm of
    constants at planning even when no row reaches it, so a cast of a huge index there would fail the query."""
    no_missing(string, index, count)
    n = Sql("NULL::float8") if count.kind == NULL else number(ctx, count)
    inputs = sql("SELECT {} AS w, {} AS i, {} AS n", text(ctx, string), number(ctx, index), n)
    start = ("(CASE WHEN i IS NULL THEN 0 WHEN i < 0 THEN (CASE WHEN -i >= size THEN 0 ELSE size - trunc(-i) END) "
             "WHEN i >= size THEN size ELSE trunc(i) END)")
    if count.kind == NULL:
        end = "size"
    else:
        end = ("(CASE WHEN n IS NULL THEN start WHEN n < 0 THEN (CASE WHEN -n >= size THEN start ELSE "
               "greatest(size - trunc(-n), start) END) WHEN n >= size THEN size "
               "ELSE least(start + trunc(n), size) END)")
    # OFFSET 0: a level PostgreSQL flattened would have its expressions copied into every reference again.
    sliced = sql(f"(SELECT substr(w, (start + 1)::int, ({end} - start)::int) FROM (SELECT w, n, size, {start} AS start "
                 "FROM (SELECT w, i, n, char_length(w)::float8 AS size FROM ({} OFFSET 0) AS substr_inputs OFFSET 0) "
                 "AS substr_sized OFFSET 0) AS substr_started)", inputs)
    return Value(STR, sliced, ascii=known_ascii(string) or string.kind in (NULL, BOOL, NUM))
