"""Rules compiled to SQL select exactly the contacts the Python evaluator holds them true for.

The differential test draws rules over the compiled operations and contacts whose fields hold mixed values
(numbers, numeric strings, booleans, null, lists, objects, dates, non-ASCII text), runs the SQL on the real
PostgreSQL, and compares with the evaluator contact by contact: where the SQL calls a row sure, its answer must be
the evaluator's; and `rule_members` (sure rows by SQL, unsure rows by Python) must be the evaluator's set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contacts.activity import ActivityReader
from contacts.models import Contact, SegmentMembership
from contacts.rule_sql import RuleNotCompilable, compile_rule_sql
from contacts.segments import rule_members
from contacts.selectors import contact_as_data
from events.services import NewEvent, events_emit
from tests.factories import SegmentFactory, WorkspaceFactory
from workflows.engine.conditions import ConditionError, compile_rule

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([0.5, -0.0, 1.0, 2.5, 1e20, 1e-7]),
    st.sampled_from(["", "0", "1", "2", " 3 ", "2.5", "1e3", "-1", "1_000", "inf", "nan", "Infinity", "abc", "ABC",
                     "vip", "Vip", "pro", "true", "false", "null", "a,b", "é", "É", "١٢", "ß", "1.", ".5",
                     "2026-11-01", "2026-11-30T08:00:00Z", "2026-12-01 10:30", "2026-02-30", "2026-11-01T09:00:00.123456+02:00",
                     "10", "9", "K", "a%", "%", "_", "a_b", "\\", "a\\", "İ", "ǅ", "Straße", "STRASSE"]),
    st.text(alphabet="aZ09 .-_eé", max_size=4),
)
VALUES = st.one_of(SCALARS, st.lists(st.one_of(st.sampled_from(["vip", "a", "1", ""]), st.integers(0, 2),
                                               st.booleans(), st.none()), max_size=3),
                   st.just({"k": 1}))
FIELD_KEYS = ["a", "b", "plan"]

CONTACT = st.fixed_dictionaries({
    "fields": st.dictionaries(st.sampled_from(FIELD_KEYS), VALUES, max_size=3).flatmap(
        lambda fields: st.one_of(st.just(fields), st.builds(lambda n: {**fields, "n": n},
                                                            st.one_of(st.dictionaries(st.just("x"), VALUES),
                                                                      SCALARS)))),
    "tags": st.lists(st.sampled_from(["vip", "Vip", "new", "1", "é", "V_p", "VIP"]), unique=True, max_size=3),
    "score": st.integers(-5, 100),
    "first_name": st.sampled_from(["", "Ada", "ada", "ADA", "José", "10", "9", "Zoë", "a%d", "A_a", "a\\"]),
    "status": st.sampled_from(["subscribed", "unsubscribed"]),
    "external_id": st.one_of(st.none(), st.sampled_from(["", "x1", "5"])),
    "age_days": st.floats(0, 400, allow_nan=False),
    "events": st.lists(st.tuples(st.sampled_from(["email.opened", "email.clicked", "custom.paid"]),
                                 st.integers(0, 40), st.sampled_from(["/book-demo", "/Pricing", "/é", None]),
                                 st.sampled_from(["n1", "n2"])), max_size=3),
    "in_segment": st.booleans(),
})

PATHS = ["contact.fields.a", "contact.fields.b", "contact.fields.plan", "contact.fields.n.x", "contact.fields.n",
         "contact.score", "contact.tags", "contact.first_name", "contact.status", "contact.external_id",
         "contact.unknown", "contact.created_at", "contact.id", "now"]

SEGMENT_ID = "6a1f0c2e-8d3b-4f5a-9c7e-1b2d3e4f5a6b"


def _var():
    plain = st.builds(lambda p: {"var": p}, st.sampled_from(PATHS))
    defaulted = st.builds(lambda p, d: {"var": [p, d]}, st.sampled_from(PATHS), SCALARS)
    return st.one_of(plain, defaulted)


HISTORY = st.one_of(
    st.builds(lambda t, w: {"event_count": {"type": t, **({"within": w} if w else {})}},
              st.sampled_from(["email.opened", "custom.paid"]), st.sampled_from([None, "P10D", "P30D"])),
    st.builds(lambda e, n, u, w: {"email_event": {"event": e, **({"node": n} if n else {}),
                                                  **({"url_contains": u} if u else {}), **({"within": w} if w else {})}},
              st.sampled_from(["opened", "clicked"]), st.sampled_from([None, "n1"]),
              st.sampled_from([None, "demo", "PRICING"]), st.sampled_from([None, "P7D"])),
    st.just({"in_segment": [SEGMENT_ID]}),
)
LEAVES = st.one_of(_var(), _var(), SCALARS, st.lists(SCALARS, max_size=3), HISTORY,
                   st.builds(lambda p: {"days_since": [{"var": p}]}, st.sampled_from(PATHS)),
                   st.builds(lambda keys: {"missing": keys}, st.lists(st.sampled_from(PATHS), min_size=1, max_size=2)),
                   st.builds(lambda need, keys: {"missing_some": [need, keys]}, st.integers(0, 2),
                             st.lists(st.sampled_from(PATHS), min_size=1, max_size=2)))


def _extend(inner):
    two = st.tuples(inner, inner)
    return st.one_of(
        st.builds(lambda op, args: {op: list(args)}, st.sampled_from(["==", "!=", "===", "!==", "<", ">", "<=", ">=",
                                                                      "in", "contains", "cat", "starts_with",
                                                                      "ends_with"]), two),
        st.builds(lambda op, arg: {op: [arg]}, st.sampled_from(["lower", "upper", "length"]), inner),
        st.builds(lambda args: {"substr": list(args)}, st.one_of(st.tuples(inner, inner), st.tuples(inner, inner, inner))),
        st.builds(lambda op, args: {op: list(args)}, st.sampled_from(["<", "<="]), st.tuples(inner, inner, inner)),
        st.builds(lambda op, arg: {op: [arg]}, st.sampled_from(["!", "!!"]), inner),
        st.builds(lambda op, args: {op: args}, st.sampled_from(["and", "or", "if"]),
                  st.lists(inner, min_size=1, max_size=3)),
    )


ITEM_RULES = st.recursive(
    st.one_of(st.just({"var": ""}), SCALARS),
    lambda inner: st.builds(lambda op, args: {op: list(args)},
                            st.sampled_from(["==", "!=", "===", "<", ">=", "in", "contains", "and", "or",
                                             "starts_with", "ends_with"]),
                            st.tuples(inner, inner))
    | st.builds(lambda op, arg: {op: [arg]}, st.sampled_from(["lower", "upper", "length"]), inner),
    max_leaves=3,
)
TAG_LOOPS = st.builds(lambda op, body: {op: [{"var": "contact.tags"}, body]}, st.sampled_from(["some", "all", "none"]),
                      ITEM_RULES)
RULES = st.recursive(st.one_of(LEAVES, TAG_LOOPS), _extend, max_leaves=6)


def _python_members(rule, contacts) -> set:
    compiled = compile_rule(rule)
    activity = ActivityReader(contacts=[(c.workspace_id, c.pk) for c in contacts], now=NOW)
    found = set()
    for contact in contacts:
        try:
            if compiled.holds({"contact": contact_as_data(contact)}, now=NOW, contact_id=str(contact.pk),
                              activity=activity):
                found.add(contact.pk)
        except ConditionError:
            continue
    return found


def _make_contacts(specs) -> list[Contact]:
    workspace = WorkspaceFactory()
    segment = SegmentFactory(workspace=workspace, id=SEGMENT_ID) if any(s["in_segment"] for s in specs) else None
    contacts = Contact.objects.bulk_create([
        Contact(workspace=workspace, email=f"p{i}@example.com", first_name=s["first_name"], status=s["status"],
                score=s["score"], fields=s["fields"], tags=s["tags"],
                external_id=None if s["external_id"] is None else (s["external_id"] if i == 0 else f"{s['external_id']}-{i}"))
        for i, s in enumerate(specs)
    ])
    events = []
    for contact, spec in zip(contacts, specs, strict=True):
        created = NOW - timedelta(days=spec["age_days"])
        Contact.objects.filter(pk=contact.pk).update(created_at=created)
        if segment is not None and spec["in_segment"]:
            SegmentMembership.objects.create(segment=segment, contact=contact)
        for type_, days_ago, url, node in spec["events"]:
            events.append(NewEvent(type=type_, contact_id=contact.pk, occurred_at=NOW - timedelta(days=days_ago),
                                   properties={"node_id": node, **({"url": url} if url else {})}))
    events_emit(workspace=workspace, events=events)
    return list(Contact.objects.filter(workspace=workspace))


def _sql_answers(compiled, workspace_id) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.id, {compiled.unsure.text}, {compiled.where.text} FROM contacts_contact c "
                       "WHERE c.workspace_id = %s",
                       [*compiled.unsure.params, *compiled.where.params, workspace_id])
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rule=RULES, specs=st.lists(CONTACT, min_size=1, max_size=6))
def test_the_sql_of_a_rule_selects_the_contacts_the_evaluator_holds_it_true_for(rule, specs):
    try:
        compiled = compile_rule_sql(rule, now=NOW)
    except RuleNotCompilable as refused:
        event(f"refused: {refused.reason[:40]}")
        return
    with transaction.atomic():  # each example in a savepoint of its own, rolled back
        _check(rule, compiled, specs)
        transaction.set_rollback(True)


def _check(rule, compiled, specs) -> None:
    contacts = _make_contacts(specs)
    expected = _python_members(rule, contacts)
    workspace_id = contacts[0].workspace_id

    for contact_id, (unsure, holds) in _sql_answers(compiled, workspace_id).items():
        event("unsure row" if unsure else f"sure row, holds={holds}")
        if not unsure:
            data = contact_as_data(Contact.objects.get(pk=contact_id))
            assert holds == (contact_id in expected), (rule, data["fields"], data["score"], data["tags"])
    assert rule_members(workspace_id=workspace_id, rule=rule, now=NOW) == expected


# The string operations of expressions and substr, drawn more often than RULES draws them: text from every kind of value,
# affixes holding LIKE's special characters, and non-ASCII text whose case mapping differs between the sides.
TEXTS = st.one_of(_var(), SCALARS, st.builds(lambda op, p: {op: [{"var": p}]}, st.sampled_from(["lower", "upper"]),
                                             st.sampled_from(PATHS)))
STRING_RULES = st.one_of(
    st.builds(lambda op, a, b: {op: [a, b]}, st.sampled_from(["starts_with", "ends_with"]), TEXTS, TEXTS),
    st.builds(lambda op, a, b: {op: [a, b]}, st.sampled_from(["==", "===", "<", "in"]), TEXTS, TEXTS),
    st.builds(lambda op, a, n: {op: [{"length": [a]}, n]}, st.sampled_from(["==", "===", ">"]), TEXTS, SCALARS),
    st.builds(lambda s, i, b: {"===": [{"substr": [s, i]}, b]}, TEXTS, st.one_of(SCALARS, _var()),
              st.one_of(TEXTS, st.sampled_from(["", "a", "ab", "é", "1"]))),
    st.builds(lambda s, i, n, b: {"==": [{"substr": [s, i, n]}, b]}, TEXTS, st.one_of(SCALARS, _var()),
              st.one_of(SCALARS, _var(), st.integers(-6, 6)), st.one_of(TEXTS, st.sampled_from(["", "a", "b", "1"]))),
    st.builds(lambda op, body: {op: [{"var": "contact.tags"}, body]}, st.sampled_from(["some", "all"]),
              st.builds(lambda f, a: {"===": [{f: [{"var": ""}]}, a]}, st.sampled_from(["lower", "upper", "length"]),
                        SCALARS)),
)


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rule=STRING_RULES, specs=st.lists(CONTACT, min_size=1, max_size=6))
def test_the_string_operations_of_expressions_select_what_the_evaluator_does(rule, specs):
    try:
        compiled = compile_rule_sql(rule, now=NOW)
    except RuleNotCompilable as refused:  # only for what == and the like refuse anyway (two lists)
        assert not any(op in refused.reason for op in ("starts_with", "ends_with", "lower", "upper", "length", "substr"))
        event(f"refused: {refused.reason[:40]}")
        return
    with transaction.atomic():
        _check(rule, compiled, specs)
        transaction.set_rollback(True)
