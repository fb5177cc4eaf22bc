from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workflows.engine.conditions import (
    MAX_DEPTH,
    ConditionError,
    check_rule,
    compile_rule,
    evaluate,
    known_operators,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Activity:
    """An activity port that answers from a list of events and remembers what it was asked."""

    def __init__(self, events: list[dict[str, Any]] | None = None, segments: set[str] | None = None) -> None:
        self.events = events or []
        self.segments = segments or set()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def event_count(self, *, contact_id: str, type: str, since: datetime | None) -> int:
        self.calls.append(("event_count", {"contact_id": contact_id, "type": type, "since": since}))
        return sum(1 for e in self.events if e["type"] == type and (since is None or e["at"] >= since))

    def email_event(
        self,
        *,
        contact_id: str,
        event: str,
        node_id: str | None,
        url_contains: str | None,
        since: datetime | None,
    ) -> bool:
        self.calls.append(
            (
                "email_event",
                {"event": event, "node_id": node_id, "url_contains": url_contains, "since": since},
            )
        )
        return any(
            e["type"] == event
            and (node_id is None or e.get("node_id") == node_id)
            and (url_contains is None or url_contains in e.get("url", ""))
            and (since is None or e["at"] >= since)
            for e in self.events
        )

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool:
        return segment_id in self.segments


def run(rule: Any, data: Any = None, activity: Activity | None = None) -> Any:
    return evaluate(rule, data, now=NOW, contact_id="c1", activity=activity)


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"contains": [{"var": "url"}, "PRICING"]}, {"url": "https://x.test/Pricing?a=1"}, True),
        ({"contains": [{"var": "url"}, "demo"]}, {"url": "https://x.test/pricing"}, False),
        ({"contains": [{"var": "tags"}, "vip"]}, {"tags": ["new", "vip"]}, True),
        ({"contains": [{"var": "tags"}, "VIP"]}, {"tags": ["new", "vip"]}, False),
        ({"contains": [{"var": "missing"}, "x"]}, {}, False),
        ({"contains": ["abc", None]}, {}, False),
    ],
)
def test_contains_is_case_insensitive_substring_or_exact_membership(
    rule: Any, data: Any, expected: bool
) -> None:
    assert run(rule, data) is expected


def test_regex_matches_anywhere_in_the_value() -> None:
    assert run({"regex": [{"var": "email"}, r"@example\.(com|org)$"]}, {"email": "ada@example.org"}) is True
    assert run({"regex": [{"var": "email"}, r"^bob"]}, {"email": "ada@example.org"}) is False
    assert run({"regex": [{"var": "nothing"}, "a"]}, {}) is False


def test_regex_catastrophic_pattern_returns_false() -> None:
    assert run({"regex": [{"var": "s"}, "(a+)+$"]}, {"s": "a" * 50_000 + "!"}) is False


def test_regex_invalid_pattern_is_a_clear_error_at_check_and_at_run() -> None:
    assert check_rule({"regex": [{"var": "s"}, "(unclosed"]}) == [
        "invalid regular expression '(unclosed': missing ): (unclosed"
    ]
    with pytest.raises(ConditionError, match="invalid regular expression"):
        run({"regex": ["x", {"var": "pattern"}]}, {"pattern": "(unclosed"})


def test_days_since_counts_fractional_days_from_the_injected_now() -> None:
    assert run({"days_since": ["2026-11-20T00:00:00Z"]}) == 3.5
    assert (
        run(
            {">": [{"days_since": [{"var": "contact.fields.last_order"}]}, 30]},
            {"contact": {"fields": {"last_order": "2026-09-01T00:00:00+00:00"}}},
        )
        is True
    )


def test_days_since_of_an_empty_field_is_null_and_garbage_is_an_error() -> None:
    assert run({"days_since": [{"var": "nothing"}]}, {}) is None
    with pytest.raises(ConditionError, match="not an ISO 8601 timestamp"):
        run({"days_since": ["last tuesday"]})


def test_email_event_asks_the_activity_port_with_node_url_and_window() -> None:
    activity = Activity(
        [
            {
                "type": "email.clicked",
                "node_id": "n3",
                "url": "https://x.test/book-demo",
                "at": NOW - timedelta(days=1),
            }
        ]
    )
    rule = {"email_event": {"event": "clicked", "node": "n3", "url_contains": "/book-demo", "within": "P3D"}}
    assert run(rule, activity=activity) is True
    assert activity.calls == [
        (
            "email_event",
            {
                "event": "email.clicked",
                "node_id": "n3",
                "url_contains": "/book-demo",
                "since": NOW - timedelta(days=3),
            },
        )
    ]
    assert run({"email_event": {"event": "clicked", "node": "n4"}}, activity=activity) is False
    assert run({"email_event": {"event": "clicked", "within": "PT12H"}}, activity=activity) is False


def test_event_count_counts_events_of_a_type_in_a_window() -> None:
    activity = Activity([{"type": "email.opened", "at": NOW - timedelta(days=d)} for d in (1, 5, 40)])
    assert run({"event_count": {"type": "email.opened", "within": "P30D"}}, activity=activity) == 2
    assert run({"event_count": {"type": "email.opened"}}, activity=activity) == 3
    assert (
        run({">=": [{"event_count": {"type": "email.opened", "within": "P7D"}}, 2]}, activity=activity)
        is True
    )


def test_in_segment_asks_the_activity_port() -> None:
    activity = Activity(segments={"seg-1"})
    assert run({"in_segment": ["seg-1"]}, activity=activity) is True
    assert run({"in_segment": ["seg-2"]}, activity=activity) is False


def test_history_operations_without_a_port_fail_clearly() -> None:
    with pytest.raises(ConditionError, match="event_count needs the contact's activity"):
        evaluate({"event_count": {"type": "email.opened"}}, {})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"email_event": {"event": "teleported"}}, "email_event.event 'teleported' is not one of"),
        ({"email_event": {"event": "clicked", "colour": "red"}}, "email_event has no parameter 'colour'"),
        (
            {"email_event": {"event": "clicked", "within": "P1M"}},
            "email_event.within: 'P1M' uses years or months",
        ),
        ({"email_event": "clicked"}, "email_event takes an object"),
        ({"event_count": {}}, "event_count needs 'type'"),
        ({"regex": ["x", "("]}, "invalid regular expression '('"),
    ],
)
def test_bad_parameters_are_reported_by_check_rule(rule: Any, message: str) -> None:
    problems = check_rule(rule)
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_check_rule_reports_every_unknown_operation_but_not_object_parameters() -> None:
    (problem,) = check_rule(
        {"and": [{"teleport": [1]}, {"or": [{"warp": 2}]}, {"email_event": {"event": "opened"}}]}
    )
    assert problem.startswith("unknown operation 'teleport', 'warp'; use one of: ")
    assert check_rule({"email_event": {"event": "opened", "node": "n1"}}) == []


def test_check_rule_refuses_deep_nesting_long_strings_big_lists_and_big_rules() -> None:
    deep: Any = True
    for _ in range(MAX_DEPTH + 1):
        deep = {"!": [deep]}
    assert check_rule(deep) == ["the rule is nested more than 64 levels deep; simplify it"]
    assert check_rule({"==": ["x" * 10_001, 1]}) == [
        "a text value in the rule is longer than 10,000 characters"
    ]
    assert check_rule({"in": [1, list(range(1001))]}) == ["a list in the rule has more than 1,000 items"]
    big = {"in": [{"var": "x"}, ["y" * 9000] * 8]}
    assert check_rule(big) == ["the rule is 72,046 bytes long; the limit is 64 KiB"]


def test_compile_refuses_a_hostile_rule_nested_thousands_deep_without_crashing() -> None:
    deep: Any = 1
    for _ in range(50_000):
        deep = [deep]
    with pytest.raises(ConditionError, match="nested more than 64"):
        compile_rule(deep)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"/": [1, 0]}, "the rule divides by zero"),
        ({"%": [1, 0]}, "the rule divides by zero"),
        ({"teleport": [1]}, "unknown operation 'teleport'"),
    ],
)
def test_evaluation_errors_raise_condition_error(rule: Any, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        run(rule)


def test_known_operators_include_the_added_operations_and_not_log_to_stdout(
    capsys: pytest.CaptureFixture,
) -> None:
    assert {
        "contains",
        "regex",
        "email_event",
        "event_count",
        "days_since",
        "in_segment",
        "var",
        "reduce",
    } <= set(known_operators())
    assert run({"log": ["quiet"]}) == "quiet"
    assert capsys.readouterr().out == ""


def test_compile_rule_reuses_the_compilation_of_the_same_rule_object() -> None:
    rule = {"==": [{"var": "a"}, 1]}
    assert compile_rule(rule) is compile_rule(rule)
    assert compile_rule(rule) is not compile_rule({"==": [{"var": "a"}, 1]})
