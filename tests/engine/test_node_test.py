"""Testing one node without Django: the trigger's own decision and the runner's own step, on fakes."""

from __future__ import annotations

from datetime import UTC, datetime

from workflows.engine.node_test import node_test
from workflows.engine.registry import registry

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ADA = {"id": "c1", "email": "ada@example.com", "status": "subscribed", "score": 10, "tags": ["trial"],
       "fields": {"plan": "pro"}}


def _test(type_name, config, *, contact=ADA, event=None, **options):
    node_type = registry.get(type_name)
    node_type.parse_config(config)
    return node_test(node_type, config, contact=contact, event=event, now=NOW, **options).as_dict()


def test_a_score_trigger_fires_when_the_score_crosses_its_threshold():
    event = {"type": "contact.updated", "properties": {"changes": {"score": [90, 105]}}}
    assert _test("trigger_score", {"threshold": 100}, event=event)["fires"] is True
    low = {"type": "contact.updated", "properties": {"changes": {"score": [10, 20]}}}
    answer = _test("trigger_score", {"threshold": 100}, event=low)
    assert answer["fires"] is False
    assert "did not reach 100" in answer["reasons"][0]


def test_an_inactivity_trigger_fires_for_a_contact_without_the_events():
    answer = _test("trigger_inactivity", {"days": 30, "events": ["email.opened"]})
    assert answer["fires"] is True


def test_an_unsubscribed_contact_is_never_in_a_time_triggers_audience():
    answer = _test("trigger_schedule", {"rrule": "FREQ=DAILY"}, contact={**ADA, "status": "unsubscribed"})
    assert answer["fires"] is False
    assert "unsubscribed" in answer["reasons"][0]


def test_a_segment_audience_reads_the_contacts_segments():
    config = {"rrule": "FREQ=DAILY", "audience": {"segment_id": "s1"}}
    assert _test("trigger_schedule", config)["fires"] is False
    assert _test("trigger_schedule", config, segments=["s1"])["fires"] is True


def test_a_wait_says_until_when():
    answer = _test("delay", {"duration": "P2D"})
    assert answer["would"]["outcome"] == "wait"
    assert answer["would"]["until"] == "2026-12-03T08:00:00+00:00"


def test_a_split_answers_like_the_runner_for_the_same_node():
    answer = _test("split", {"variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}]})
    assert answer["would"]["branch"] in ("a", "b")


def test_a_switch_explains_the_cases_it_passed_by():
    config = {"cases": [{"id": "vip", "rule": {"in": ["vip", {"var": "contact.tags"}]}},
                        {"id": "rich", "rule": {">": [{"var": "contact.score"}, 100]}}]}
    would = _test("switch", config)["would"]
    assert would["branch"] == "default"
    assert [clause["values"] for clause in would["explain"]] == [{"contact.tags": ["trial"]}, {"contact.score": 10}]


def test_an_action_is_recorded_once_and_not_made():
    would = _test("add_tag", {"tag": "vip"})["would"]
    assert would["actions"] == [{"type": "add_tag", "summary": "Added tag 'vip'"}]


def test_a_switch_explains_only_the_cases_before_the_one_that_matched():
    config = {"cases": [{"id": "rich", "rule": {">": [{"var": "contact.score"}, 100]}},
                        {"id": "trial", "rule": {"in": ["trial", {"var": "contact.tags"}]}},
                        {"id": "vip", "rule": {"in": ["vip", {"var": "contact.tags"}]}}]}
    would = _test("switch", config)["would"]
    assert would["branch"] == "trial"
    assert [clause["rule"] for clause in would["explain"]] == ["cases[0].rule"]


def test_a_schedule_is_asked_about_its_next_occurrence_only():
    # Walking a year of FREQ=SECONDLY occurrences one by one would take minutes; the next one answers.
    answer = _test("trigger_schedule", {"rrule": "FREQ=SECONDLY"})
    assert answer["fires"] is True
    assert answer["would"]["occasion"] == "2026-12-01T08:00:01+00:00"


def test_a_schedule_without_a_coming_occurrence_does_not_fire():
    answer = _test("trigger_schedule", {"at": "2026-11-30T08:00:00Z"})
    assert answer["fires"] is False
    assert "no occurrence" in answer["reasons"][0]
