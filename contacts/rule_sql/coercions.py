"""json_logic's conversions (to_bool, to_number, to_string) over values of each kind, as the evaluator applies
them; where the SQL cannot follow Python exactly, the rows are marked unsure."""

from __future__ import annotations

import math

from contacts.rule_sql.fragments import FALSE, TRUE, Sql, is_true, param, sql
from contacts.rule_sql.values import (
    BOOL,
    JLIST,
    LIST,
    MISSING,
    NULL,
    NUM,
    STR,
    TAGS,
    Context,
    RuleNotCompilable,
    Value,
)

# Strings whose number Python's float() and PostgreSQL's float8 input read alike (both round correctly);
# mantissa and exponent are bounded so that no value overflows or underflows float8.
_STRICT_NUMBER = r"^[ \t\n\r\f\v]*[+-]?([0-9]{1,20}(\.[0-9]{0,20})?|\.[0-9]{1,20})([eE][+-]?[0-9]{1,2})?[ \t\n\r\f\v]*$"
# ASCII strings Python's float() might accept in a way the strict form above does not cover (underscores,
# long digit runs, 'inf'/'nan' words, the separators str.strip() removes): unsure when coerced to a number.
_NUMBER_LIKE = r"^[\t\n\r\f\v\x1c-\x1f ]*[+-]?([0-9_.eE]+|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])[\t\n\r\f\v\x1c-\x1f ]*$"

NAN = "NULL::float8"  # NaN in the SQL: NULL, so that every comparison with it is false, as in Python


def no_missing(*values: Value) -> None:
    if any(v.kind == MISSING for v in values):
        raise RuleNotCompilable("the list missing returns is compiled only where its truth is tested")


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


def ascii_only(v: Value) -> Sql:
    return TRUE if v.ascii else sql("(octet_length({}) = char_length({}))", v.sql, v.sql)


def known_ascii(v: Value) -> bool:
    return v.ascii or (v.is_const and str(v.const).isascii())


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
        return Sql(NAN) if isinstance(found, float) and math.isnan(found) else param(float(found), "float8")
    if v.kind == STR:
        ctx.doubt(sql("(NOT {} OR ({} ~ {} AND {} !~ {}))", ascii_only(v), v.sql, param(_NUMBER_LIKE, "text"),
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
    return sql("(NOT {} OR ({} ~ {} AND {} !~ {}))", ascii_only(v), v.sql, param(_NUMBER_LIKE, "text"),
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
