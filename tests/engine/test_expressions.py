"""Expressions (CONTRACT §7a): compiled to JsonLogic, evaluated by conditions.py, rendered back."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.engine.conditions import MAX_DEPTH, check_rule, evaluate, known_operators
from workflows.engine.expressions import (
    MAX_EXPRESSION_CHARS,
    ExpressionError,
    expression_compile,
    rule_normalise,
    rule_render,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CONTACT = {
    "email": "Ada@Example.com",
    "score": 72,
    "status": "subscribed",
    "tags": ["vip", "beta"],
    "fields": {"plan": "pro", "trial_ends": "2026-11-19T12:00:00Z", "my key": "x", "seats": 3},
}
EVENT = {"type": "page.viewed", "properties": {"url": "https://acme.test/pricing?x=1"}, "occurred_at": "2026-11-23T11:00:00Z"}
DATA = {"contact": CONTACT, "event": EVENT, "enrollment": {"entered_at": "2026-11-20T00:00:00Z"}, "now": NOW.isoformat()}


class Activity:
    """An activity port answering from a list of ``(type, at)`` events, email events and segments."""

    def __init__(self, events: list[tuple[str, datetime]], segments: set[str] = frozenset()) -> None:
        self.events = events
        self.segments = segments

    def event_count(self, *, contact_id: str, type: str, since: datetime | None) -> int:
        return sum(1 for kind, at in self.events if kind == type and (since is None or at >= since))

    def email_event(self, *, contact_id: str, event: str, node_id: str | None, url_contains: str | None,
                    since: datetime | None) -> bool:
        return any(kind == event and (since is None or at >= since) for kind, at in self.events)

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool:
        return segment_id in self.segments


ACTIVITY = Activity(
    [("email.opened", NOW - timedelta(days=2)), ("email.opened", NOW - timedelta(days=10)),
     ("email.opened", NOW - timedelta(days=40)), ("email.clicked", NOW - timedelta(days=1))],
    segments={"seg-1"},
)


def run(js: str, data: Any = DATA) -> Any:
    return evaluate(expression_compile(js), data, now=NOW, contact_id="c1", activity=ACTIVITY)


# --- the issue's examples, compiled and evaluated ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("js", "rule"),
    [
        (
            'contact.fields.plan === "pro" && contact.score >= 50',
            {"and": [{"===": [{"var": "contact.fields.plan"}, "pro"]}, {">=": [{"var": "contact.score"}, 50]}]},
        ),
        ('contact.tags.includes("vip")', {"in": ["vip", {"var": "contact.tags"}]}),
        ('event.properties.url.includes("/pricing")', {"in": ["/pricing", {"var": "event.properties.url"}]}),
        ("daysSince(contact.fields.trial_ends) > 3", {">": [{"days_since": [{"var": "contact.fields.trial_ends"}]}, 3]}),
        ('eventCount("email.opened", "P30D") >= 2', {">=": [{"event_count": {"type": "email.opened", "within": "P30D"}}, 2]}),
    ],
)
def test_issue_examples_compile_to_the_expected_rules_and_hold_on_matching_data(js: str, rule: Any) -> None:
    assert expression_compile(js) == rule
    assert check_rule(rule) == []
    assert run(js) is True
    assert rule_render(rule) == js


def test_issue_examples_fail_on_data_that_does_not_match() -> None:
    other = {**DATA, "contact": {**CONTACT, "fields": {"plan": "Pro", "trial_ends": "2026-11-22T12:00:00Z"},
                                 "score": 50, "tags": ["VIP"]},
             "event": {"properties": {"url": "/Pricing"}}}
    # JavaScript's === and includes are case-sensitive: "Pro" is not "pro", "VIP" is not "vip".
    assert run('contact.fields.plan === "pro" && contact.score >= 50', other) is False
    assert run('contact.tags.includes("vip")', other) is False
    assert run('event.properties.url.includes("/pricing")', other) is False
    assert run("daysSince(contact.fields.trial_ends) > 3", other) is False
    assert run('eventCount("email.opened", "P7D") >= 2') is False


@pytest.mark.parametrize(
    ("js", "expected"),
    [
        ('"pro" === "pro"', True),
        ('1 === "1"', False),
        ('1 == "1"', True),
        ("null === null", True),
        ('contact.fields.missing === null', True),
        ("contact.score > 70 && contact.score < 80", True),
        ("contact.score > 80 || contact.fields.seats === 3", True),
        ("!contact.fields.missing", True),
        ("!!contact.fields.plan", True),
        ("contact.score % 10 === 2", True),
        ("-contact.fields.seats * 2 + 10 - 1", 3),
        ("10 / 4", 2.5),
        ("1 - 2 - 3", -4),
        ("2 * (3 + 4)", 14),
        ('contact.score >= 50 ? "hot" : contact.score >= 20 ? "warm" : "cold"', "hot"),
        ("contact.tags.length", 2),
        ('contact.fields["my key"]', "x"),
        ("contact.tags[1]", "beta"),
        ('contact.email.toLowerCase() === "ada@example.com"', True),
        ('contact.email.toUpperCase()', "ADA@EXAMPLE.COM"),
        ('contact.email.startsWith("Ada")', True),
        ('contact.email.startsWith("ada")', False),
        ('contact.email.endsWith(".com")', True),
        ('contact.email.toLowerCase().length', 15),
        ('"héllo".length', 5),
        ('contact.email.includes("example")', False),
        ('contact.email.toLowerCase().includes("example")', True),
        ("[1, 2, 3].includes(2)", True),
        ('inSegment("seg-1") && !inSegment("seg-2")', True),
        ('emailEvent({event: "clicked", within: "P3D"})', True),
        ('emailEvent({event: "opened", within: "PT1H"})', False),
        ('$some(contact.tags, $var("") === "beta")', True),
        ('$regex(contact.email, "@example\\\\.com$")', False),
        ('$cat("a", contact.fields.seats)', "a3"),
        ('$("<", 1, contact.fields.seats, 5)', True),
        ("now === now", True),
        ("`pro` === contact.fields.plan", True),
        ("0x10 + 1_000 + .5", 1016.5),
    ],
)
def test_compiled_expressions_evaluate_as_javascript_would(js: str, expected: Any) -> None:
    assert run(js) == expected


def test_added_string_operations_answer_null_or_false_for_values_that_are_not_text() -> None:
    assert evaluate({"starts_with": [5, "5"]}) is False
    assert evaluate({"ends_with": [None, ""]}) is False
    assert evaluate({"lower": [5]}) is None
    assert evaluate({"upper": [["a"]]}) is None
    assert evaluate({"length": [{"a": 1, "b": 2}]}) is None
    assert evaluate({"length": [[1, 2, 3]]}) == 3
    assert evaluate({"starts_with": ["nil", None]}) is False
    assert evaluate({"starts_with": ["nullish", None]}) is True  # JavaScript turns null into "null"
    assert {"starts_with", "ends_with", "lower", "upper", "length"} <= known_operators()


# --- refusals, with where --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("js", "line", "column", "words"),
    [
        ("contact.score = 5", 1, 1, "assignment"),
        ("contact.tags.map(x => x)", 1, 14, "unknown method"),
        ("(() => 1)()", 1, 1, "only the functions"),
        ("new Date()", 1, 1, "new"),
        ("foo(contact.score)", 1, 1, "unknown function 'foo'"),
        ("this.score > 1", 1, 1, "this"),
        ("`a${contact.score}`", 1, 3, "${"),
        ("contact.email.includes(/x/)", 1, 24, "regular expression"),
        ("contact.a;\n  contact.b", 2, 3, "one expression"),
        ("let x = 1", 1, 1, "lexical declaration"),
        ("contact.a +\n", 1, 11, "incomplete"),
        ("contact.a ) b", 1, 11, "unexpected"),
        ("x > 1", 1, 1, "unknown name 'x'"),
        ("contact.a ** 2", 1, 11, "**"),
        ('"a" + contact.b', 1, 1, "$cat"),
        ('contact["a.b"]', 1, 9, "dots"),
        ("contact[contact.key]", 1, 9, "quoted keys"),
        ('eventCount("email.opened", "P3X")', 1, 1, "duration"),
        ('emailEvent({event: "bogus"})', 1, 1, "bogus"),
        ('$nope(1)', 1, 1, "unknown operation 'nope'"),
        ('$regex(contact.email, "(")', 1, 1, "regular expression"),
        ("({a: 1})", 1, 2, "one key"),
        ("[1, , 2]", 1, 5, "holes"),
        ("", 1, 1, "empty"),
        ("// only a comment", 1, 1, "empty"),
        ("1n", 1, 1, "number"),
        ("1e999", 1, 1, "too large"),
        ('"\\1"', 1, 1, "octal"),
        ('contact.a === "\\u0000"', 1, 15, "NUL"),
        ('contact.a === "\\ud800"', 1, 15, "surrogate"),
        ("contact.a === 9223372036854775808", 1, 15, "too large"),
        ('"é" === x', 1, 9, "unknown name 'x'"),
    ],
)
def test_expressions_outside_the_subset_are_refused_with_their_position(
    js: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        expression_compile(js)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)
    assert words in caught.value.message


def test_comments_and_whitespace_are_fine() -> None:
    assert expression_compile("/* plan */ contact.fields.plan === 'pro' // paying\n") == {
        "===": [{"var": "contact.fields.plan"}, "pro"]
    }


def test_an_expression_over_the_length_limit_is_refused() -> None:
    with pytest.raises(ExpressionError, match="10,000"):
        expression_compile("1" + " " * MAX_EXPRESSION_CHARS)


def test_nesting_deeper_than_the_rule_limit_is_refused_at_the_level_that_is_too_deep() -> None:
    with pytest.raises(ExpressionError, match=f"more than {MAX_DEPTH} levels") as caught:
        expression_compile("!" * 100 + "contact.a")
    assert 1 < caught.value.column <= 100
    # Parentheses add nothing to the rule: many are fine, and read without recursion.
    assert expression_compile("(" * 4000 + "contact.a" + ")" * 4000) == {"var": "contact.a"}


def test_a_long_chain_is_one_operation_read_without_recursion() -> None:
    rule = expression_compile(" || ".join(["contact.a"] * 700))
    assert rule == {"or": [{"var": "contact.a"}] * 700}


def test_a_rule_over_the_evaluators_limits_is_refused() -> None:
    loops = "$some([" + ", ".join(["1"] * 300) + "], $some([" + ", ".join(["1"] * 300) + "], true))"
    with pytest.raises(ExpressionError, match="operations"):
        expression_compile(loops)


# --- rendering ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "js"),
    [
        ({"and": [{"and": [True, False]}, True]}, "(true && false) && true"),
        ({"if": [True, 1, {"if": [False, 2, 3]}]}, "true ? 1 : (false ? 2 : 3)"),
        ({"!": [{"!": [True]}]}, "!(!true)"),
        ({"-": [5]}, "-(5)"),
        ({"-": [{"-": [{"var": "contact.a"}]}]}, "-(-contact.a)"),
        ({"length": [{"var": "contact.name"}]}, "(contact.name).length"),
        ({"some": [{"var": "contact.tags"}, {"==": [{"var": ""}, "x"]}]}, '$some(contact.tags, $var("") == "x")'),
        ({"<": [1, {"var": "contact.score"}, 5]}, '$("<", 1, contact.score, 5)'),
        ({"+": ["1", 2]}, '$("+", "1", 2)'),
        ({"var": ["contact.a", 0]}, '$var("contact.a", 0)'),
        ({"var": "contact.fields.0.a b"}, 'contact.fields[0]["a b"]'),
        ({"a": 1, "b": [1]}, "({a: 1, b: [1]})"),
        ({"event_count": {"type": "email.opened"}}, 'eventCount("email.opened")'),
        ({"email_event": {"event": "clicked", "node": "n3"}}, 'emailEvent({event: "clicked", node: "n3"})'),
        ({"in": ["x", {"cat": ["a", "b"]}]}, '$cat("a", "b").includes("x")'),
    ],
)
def test_rules_without_plain_sugar_render_to_expressions_that_compile_back(rule: Any, js: str) -> None:
    assert rule_render(rule) == js
    assert rule_normalise(expression_compile(js)) == rule_normalise(rule)


def test_rendering_a_value_that_is_not_json_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        rule_render({"==": [float("nan"), 1]})
    with pytest.raises(ExpressionError):
        rule_render({"==": [object(), 1]})


# --- properties ---------------------------------------------------------------------------------------------------

_KEYS = st.text(alphabet=string.ascii_letters + string.digits + " _-é", min_size=1, max_size=6)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    # Neither NUL nor a lone surrogate can be stored (the API refuses both), so neither is ever rendered.
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8),
)
_PATHS = st.builds(
    lambda root, keys: ".".join([root, *keys]),
    st.sampled_from(["contact", "event", "enrollment", "now"]),
    st.lists(_KEYS.filter(lambda key: "." not in key), max_size=3),
)
_VALUE_OPS = sorted(
    known_operators() - {"email_event", "event_count", "var"}
)


def _operation(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda op, args: {op: args}, st.sampled_from(_VALUE_OPS), st.lists(children, max_size=4)),
        st.builds(lambda op, arg: {op: arg}, st.sampled_from(["!", "-", "var", "length", "lower"]), children),
        st.builds(lambda path: {"var": path}, _PATHS),
        st.lists(children, max_size=3),
        st.dictionaries(_KEYS, _SCALARS, min_size=2, max_size=3),
    )


_PARAMETERS = st.one_of(
    st.builds(lambda t, w: {"event_count": {"type": t, **w}}, st.sampled_from(["email.opened", "custom.x_y"]),
              st.sampled_from([{}, {"within": "P30D"}, {"within": "PT2H"}])),
    st.builds(lambda e, n: {"email_event": {"event": e, **n}}, st.sampled_from(["clicked", "email.opened"]),
              st.sampled_from([{}, {"node": "n3"}, {"url_contains": "/x", "within": "P3D"}])),
)
RULES = st.recursive(st.one_of(_SCALARS, _PARAMETERS, st.builds(lambda p: {"var": p}, _PATHS)), _operation,
                     max_leaves=12)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(RULES)
def test_every_valid_rule_renders_to_an_expression_that_compiles_back_to_it(rule: Any) -> None:
    if check_rule(rule):
        return  # only what validation accepts is stored, and so rendered
    js = rule_render(rule)
    assert rule_normalise(expression_compile(js)) == rule_normalise(rule), js
    assert rule_render(expression_compile(js)) == js


_ATOMS = st.one_of(
    st.sampled_from(["contact.score", "contact.fields.plan", 'contact.fields["my key"]', "contact.tags", "now",
                     "event.properties.url", "enrollment.steps[0]", "null", "true", "1.5", "-2", "0x1f", "'it\\'s'",
                     '"pro"', "[1, 2]", 'daysSince(contact.fields.trial_ends)', 'inSegment("s")',
                     'eventCount("email.opened", "P30D")', 'emailEvent({event: "clicked"})', '$var("")']),
)
_BINARY = ["===", "!==", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "+", "-", "*", "/", "%"]


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", children, st.sampled_from(_BINARY), children),
        st.builds(lambda op, a: f"{op}{a}", st.sampled_from(["!", "-", "+", "!!"]), children),
        st.builds(lambda a, b, c: f"{a} ? {b} : {c}", children, children, children),
        st.builds(lambda a: f"({a})", children),
        st.builds(lambda a, m: f"({a}).{m}", children, st.sampled_from(["toLowerCase()", "length", "includes(1)",
                                                                          'startsWith("a")'])),
        st.builds(lambda a, b: f"$some({a}, {b})", children, children),
        st.builds(lambda a, b: f"[{a}, {b}]", children, children),
    )


EXPRESSIONS = st.recursive(_ATOMS, _compose, max_leaves=10)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_rendering_a_compiled_expression_is_a_fixed_point(js: str) -> None:
    try:
        rule = expression_compile(js)
    except ExpressionError:
        return  # e.g. "a" + 1, or too deep: refused, which the fuzz below checks never escapes otherwise
    rendered = rule_render(rule)
    assert expression_compile(rendered) == rule, (js, rendered)
    assert rule_render(expression_compile(rendered)) == rendered


_JS_PIECES = st.sampled_from(
    ["contact", ".", "fields", "[", "]", "(", ")", '"', "'", "`", "${", "}", "{", ":", ",", "=", "==", "===",
     "!", "&&", "||", "?", "+", "-", "*", "/", "%", "1", "0x", "e9", "n", " ", "\n", "\\", "u{", "$", "$some",
     "includes", "length", "daysSince", "eventCount", "emailEvent", "inSegment", "new", "this", "=>", ";",
     "//", "/*", "*/", "\ud83d\ude00", "\x00", "é"]
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=80), st.lists(_JS_PIECES, max_size=40).map("".join)))
def test_no_input_raises_anything_but_an_expression_error_with_a_position(js: str) -> None:
    try:
        rule = expression_compile(js)
    except ExpressionError as error:
        assert error.line >= 1 and error.column >= 1
        return
    assert check_rule(rule) == []
