"""Frequency caps in the engine: the verdict, and what a send step does when a cap stops it (no database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from workflows.engine.caps import FrequencyCap, Send, cap_verdict
from workflows.engine.state import Resume

from .graphs import GraphBuilder, Harness, brief, ts

AT = ts("2026-11-23T10:00:00Z")


def cap(**rule) -> FrequencyCap:
    return FrequencyCap.model_validate({"channels": ["email"], "max": 1, "per": "P1D", **rule})


def test_a_rule_counts_only_its_channels_within_its_period() -> None:
    rule = cap(channels=["email", "sms"], max=2, per="P7D")
    sends = [
        Send("email", AT - timedelta(days=8)),
        Send("push", AT - timedelta(hours=1)),
        Send("sms", AT - timedelta(days=2)),
    ]
    assert cap_verdict([rule], sends, channel="email", now=AT).allowed
    assert (
        cap_verdict([rule], [*sends, Send("email", AT - timedelta(days=1))], channel="sms", now=AT).allowed
        is False
    )


def test_a_full_rule_allows_again_when_the_oldest_counted_send_leaves_the_period() -> None:
    rule = cap(max=2, per="P7D")
    sends = [Send("email", AT - timedelta(days=6)), Send("email", AT - timedelta(days=1))]
    verdict = cap_verdict([rule], sends, channel="email", now=AT)
    assert (verdict.allowed, verdict.policy, verdict.next_at) == (False, "defer", AT + timedelta(days=1))
    assert cap_verdict([rule], sends, channel="email", now=AT + timedelta(days=1)).allowed


def test_a_channel_no_rule_names_is_never_capped() -> None:
    assert cap_verdict([cap()], [Send("email", AT)], channel="sms", now=AT).allowed


def test_the_same_step_run_again_does_not_count_its_own_send() -> None:
    sends = [Send("email", AT - timedelta(minutes=5), key="e:n:1")]
    assert cap_verdict([cap()], sends, channel="email", now=AT, key="e:n:1").allowed
    assert not cap_verdict([cap()], sends, channel="email", now=AT, key="e:n:2").allowed


def test_skip_wins_over_defer_when_several_rules_stop_a_send() -> None:
    rules = [cap(), cap(per="P7D", policy="skip")]
    verdict = cap_verdict(rules, [Send("email", AT - timedelta(hours=2))], channel="email", now=AT)
    assert (verdict.policy, verdict.next_at, verdict.rules) == ("skip", None, ("at most 1 per P7D on email",))


@pytest.mark.parametrize(
    "rule",
    [
        {"channels": [], "max": 1, "per": "P1D"},
        {"channels": ["email", "email"], "max": 1, "per": "P1D"},
        {"channels": ["fax"], "max": 1, "per": "P1D"},
        {"channels": ["email"], "max": 0, "per": "P1D"},
        {"channels": ["email"], "max": 1, "per": "P367D"},
        {"channels": ["email"], "max": 1, "per": "P1M"},
        {"channels": ["email"], "max": 1, "per": "P1D", "policy": "drop"},
    ],
)
def test_a_malformed_rule_is_refused(rule: dict) -> None:
    with pytest.raises(ValidationError):
        FrequencyCap.model_validate(rule)


def two_emails(**config):
    return (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("t1", id="a", **config)
        .send_email("t2", id="b", **config)
        .build()
    )


def harness(graph, *rules: FrequencyCap, contact: dict | None = None) -> Harness:
    run = Harness(graph, at=AT, contact=contact)
    run.world.frequency_caps = rules
    return run


def emails(run: Harness) -> list[str]:
    return [action["summary"] for action in run.world.actions if action["type"] == "send_email"]


def test_defer_waits_until_the_cap_allows_then_sends() -> None:
    run = harness(two_emails(), cap())
    assert brief(run.run()) == [
        ("trigger", "advance", "default"),
        ("a", "advance", "default"),
        ("b", "wait", None),
    ]
    wait = run.records[-1].detail
    assert (
        wait["capped"] is True
        and wait["policy"] == "defer"
        and wait["until"] == (AT + timedelta(days=1)).isoformat()
    )
    assert "Frequency cap reached (at most 1 per P1D on email)" in wait["reason"]
    assert emails(run) == ["Sent email template t1"]
    assert run.state.next_run_at == AT + timedelta(days=1)

    assert run.run(Resume.timer(at=AT + timedelta(hours=23)), at=AT + timedelta(hours=23)) == []
    assert brief(run.timer(AT + timedelta(days=1))) == [("b", "advance", "default")]
    assert emails(run) == ["Sent email template t1", "Sent email template t2"]
    assert run.state.status == "completed"


def test_skip_goes_on_unsent_with_the_reason() -> None:
    run = harness(two_emails(), cap(policy="skip"))
    assert brief(run.run())[1:] == [("a", "advance", "default"), ("b", "advance", "default")]
    assert run.records[-1].detail["skipped"] == "frequency_cap"
    assert "was skipped" in run.records[-1].detail["reason"]
    assert emails(run) == ["Sent email template t1"]
    assert run.state.status == "completed"


def test_transactional_sends_are_neither_checked_nor_counted() -> None:
    run = harness(two_emails(transactional=True), cap())
    assert brief(run.run())[1:] == [("a", "advance", "default"), ("b", "advance", "default")]
    assert len(emails(run)) == 2 and run.world.sends == []


def test_a_suppressed_email_does_not_count_against_the_cap() -> None:
    contact = {"id": "c1", "email": "ada@example.com", "status": "unsubscribed", "tags": [], "fields": {}}
    run = harness(two_emails(), cap(), contact=contact)
    assert brief(run.run())[1:] == [("a", "advance", "default"), ("b", "advance", "default")]
    assert run.world.sends == []


def test_a_deferred_send_checks_its_window_again_when_it_wakes() -> None:
    window = {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "timezone": "UTC",
    }
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("t1", id="a")
        .send_email("t2", id="b", window=window)
        .build()
    )
    run = harness(graph, cap(per="PT8H"))
    run.run()
    assert run.records[-1].detail["until"] == "2026-11-23T18:00:00+00:00"  # the cap: 8 hours after the first
    assert brief(run.timer(ts("2026-11-23T18:00:00Z"))) == [("b", "wait", None)]
    assert run.records[-1].detail["outside_window"] is True  # then the window: Tuesday 09:00
    assert brief(run.timer(ts("2026-11-24T09:00:00Z"))) == [("b", "advance", "default")]
    assert len(emails(run)) == 2


def test_a_send_stamped_just_after_now_counts() -> None:
    # Another batch read its clock a moment later and committed while this one waited for the contact's lock.
    verdict = cap_verdict([cap()], [Send("email", AT + timedelta(milliseconds=3))], channel="email", now=AT)
    assert verdict.allowed is False and verdict.next_at == AT + timedelta(days=1, milliseconds=3)
