"""Reading the contact in rules: its columns, the JSON `fields` with one case per JSON type, and `missing`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contacts.rule_sql.fragments import FALSE, TRUE, Sql, any_of, both, negate, param, sql, when
from contacts.rule_sql.values import (
    BOOL,
    DICT,
    EXACT_INT,
    JLIST,
    MISSING,
    NULL,
    NUM,
    STR,
    TAGS,
    Case,
    Context,
    RuleNotCompilable,
    Value,
    constant,
    single,
)

_COLUMNS = {"email", "first_name", "last_name", "timezone", "status"}  # text columns, read as they are
# created_at as contact_as_data writes it: Python's isoformat() in UTC (microseconds only when not zero)
_ISO_CREATED = (
    "(to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
    "mod(extract(microseconds FROM c.created_at)::bigint, 1000000) = 0 THEN '' ELSE '.' || "
    "to_char(c.created_at AT TIME ZONE 'UTC', 'US') END || '+00:00')"
)


def var_cases(ctx: Context, args: list[Any], default_of: Callable[[], list[Case]]) -> list[Case]:
    """`var` read from the contact (or the loop's item); `default_of` compiles the default, only when needed."""
    if ctx.item is not None:
        if args and args[0] not in (None, ""):
            raise RuleNotCompilable("a loop body reading more than its item ({\"var\": \"\"}) is not compiled to SQL")
        return single(ctx.item)
    if not args or args[0] in (None, ""):
        raise RuleNotCompilable("var without a key reads the whole data, which is not compiled to SQL")
    key = args[0]
    if not isinstance(key, str):
        raise RuleNotCompilable("var with a computed or numeric key is not compiled to SQL")
    default = default_of()
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
        return single(constant(None))  # a segment's rule sees only the contact: anything else is null
    if len(parts) == 1:
        raise RuleNotCompilable("reading the whole contact object is not compiled to SQL")
    name, rest = parts[1], parts[2:]
    if name in _JSON_OBJECTS:  # `contact.predictions.churn_risk.score`
        if not rest:
            raise RuleNotCompilable(f"reading the whole {name} object is not compiled to SQL")
        return _json_cases(rest, column=name)
    if rest:
        raise RuleNotCompilable(f"the path {key!r} reads into a value (an index or length); not compiled to SQL")
    if name in _COLUMNS:
        return single(Value(STR, Sql(f'c."{name}"')))
    if name == "id":
        return single(Value(STR, Sql("c.id::text"), ascii=True))
    if name == "score":
        return single(Value(NUM, Sql("c.score::float8"), text=Sql("c.score::text")))
    if name == "tags":
        return single(Value(TAGS, Sql("c.tags")))
    if name == "external_id":
        return [(Sql("(c.external_id IS NULL)"), constant(None)),
                (Sql("(c.external_id IS NOT NULL)"), Value(STR, Sql("c.external_id")))]
    if name == "created_at":
        return single(Value(STR, Sql(_ISO_CREATED), ascii=True))
    return single(constant(None))  # not a key of the contact as rules see it


# The JSON objects of the contact as rules see it, as SQL over the contact row `c`. Scores live in a table of their
# own (contacts.models.ContactScores); a contact never scored has none, which reads as {}.
_JSON_OBJECTS = {
    "fields": "c.fields",
    "interests": "c.interests",
    "predictions": "(SELECT s.predictions FROM contacts_contactscores s WHERE s.contact_id = c.id)",
}


def _json_cases(path: list[str], *, column: str = "fields") -> list[Case]:
    def at(parts: list[str]) -> Sql:
        return sql(f"({_JSON_OBJECTS[column]} #> {{}})", param(parts, "text[]"))

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
                    kind, ref, ref, ref, is_int, ref, param(EXACT_INT, "numeric"))
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


def missing_cases(ctx: Context, op: str, args: list[Any]) -> list[Case]:
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
        for guard, value in var_cases(ctx, [key], _no_default):
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
        return single(Value(MISSING, any_of(absent)))
    counts = " + ".join(f"(CASE WHEN {a.text} THEN 1 ELSE 0 END)" for a in absent) or "0"
    missing = Sql(f"({counts})", tuple(p for a in absent for p in a.params))
    holds = sql("(({} - {}) < {} AND {} > 0)", param(len(keys), "int"), missing, param(float(need), "float8"),
                missing)
    return single(Value(MISSING, holds))


def _no_default() -> list[Case]:
    return single(constant(None))
