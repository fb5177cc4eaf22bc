"""The contact's history and time in rules: `event_count`, `email_event`, `in_segment` as subqueries over the
events and the membership table, `days_since` as an interval from the compilation's `now`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from contacts.rule_sql.fragments import TRUE, Sql, any_of, both, negate, param, sql, when
from contacts.rule_sql.values import (
    BOOL,
    DICT,
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
from workflows.engine.conditions import ConditionError, email_event_params, event_count_params, timestamp_of

# ISO 8601 forms datetime.fromisoformat reads and PostgreSQL casts alike (validity checked apart).
_ISO_DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_ISO_DATETIME = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$"
)


def _within(ctx: Context, params: dict[str, Any]) -> Sql | None:
    if "within" not in params:
        return None
    return param(ctx.now - params["within"], "timestamptz")


def _checked(read_params: Callable[[Any], dict[str, Any]], args: Any) -> dict[str, Any]:
    try:  # the evaluator's own parameter checks, so that both refuse the same rules
        return read_params(args)
    except ConditionError as error:
        raise RuleNotCompilable(str(error)) from None


_NOT_BOT = "NOT e.flags @> '{\"bot\": true}'"


def event_count(ctx: Context, args: Any) -> list[Case]:
    params = _checked(event_count_params, args)
    ctx.uses_history = True
    conditions = [Sql("e.workspace_id = c.workspace_id AND e.contact_id = c.id"), Sql(_NOT_BOT),
                  sql("e.type = {}", param(params["type"], "text"))]
    since = _within(ctx, params)
    if since is not None:
        conditions.append(sql("e.occurred_at >= {}", since))
    where = Sql(" AND ".join(c.text for c in conditions), tuple(p for c in conditions for p in c.params))
    count = sql("(SELECT count(*) FROM events_event e WHERE {})::float8", where)
    return single(Value(NUM, count, text=sql("({})::bigint::text", count)))


def email_event(ctx: Context, args: Any) -> list[Case]:
    params = _checked(email_event_params, args)
    ctx.uses_history = True
    conditions = [Sql("e.workspace_id = c.workspace_id AND e.contact_id = c.id"), Sql(_NOT_BOT),
                  sql("e.type = {}", param(params["event"], "text"))]
    since = _within(ctx, params)
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
    return single(Value(BOOL, sql("EXISTS (SELECT 1 FROM events_event e WHERE {})", where)))


def in_segment(ctx: Context, args: list[Any]) -> list[Case]:
    segment_id = args[0] if args else None
    if not isinstance(segment_id, str) or not segment_id:
        raise RuleNotCompilable("in_segment needs a segment id written in the rule")
    ctx.uses_history = True
    try:
        segment = str(UUID(segment_id))
    except ValueError:
        return single(constant(False))  # the activity reader answers False for an id that is no UUID
    return single(Value(BOOL, sql("EXISTS (SELECT 1 FROM contacts_segmentmembership m WHERE m.contact_id = c.id "
                                   "AND m.segment_id = {})", param(segment, "uuid"))))


def days_since_created(ctx: Context) -> list[Case]:
    return single(_days(ctx, Sql("c.created_at")))


def days_since(ctx: Context, compiled: list[Case]) -> list[Case]:
    """`days_since` of a value (its cases): null for null and '', the days for a readable timestamp."""
    out: list[Case] = []
    for guard, value in compiled:
        if value.kind == NULL:
            out.append((guard, value))
        elif value.kind == STR and value.is_const:
            try:
                moment = timestamp_of(value.const) if value.const != "" else None
            except ConditionError as error:
                raise RuleNotCompilable(f"days_since: {error}") from None
            out.append((guard, constant(None) if moment is None else _days(ctx, param(moment, "timestamptz"))))
        elif value.kind == STR:
            out.extend(_days_of_text(ctx, guard, value.sql))
        else:
            ctx.doubt_failure(guard)  # a number, a boolean, a list: the evaluator fails
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
    ctx.doubt_failure(unreadable)  # the evaluator fails, or reads a form the SQL does not: Python decides
    return [
        (both(guard, sql("({} = '')", value)), constant(None)),
        (both(guard, both(sql("({} <> '')", value), readable)), _days(ctx, moment)),
        (unreadable, Value(DICT)),
    ]
