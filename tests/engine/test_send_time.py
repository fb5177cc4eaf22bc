"""Send-time optimization in the engine: the choice, its rules and the send step's wait (no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from workflows.engine.caps import FrequencyCap, Send, cap_verdict
from workflows.engine.quiet_hours import QuietHours, quiet_until
from workflows.engine.send_time import (
    HOURS_OF_WEEK,
    EngagementHours,
    HourCounts,
    SendTimeRules,
    choose_send_time,
    hour_of_week,
)
from workflows.engine.timing import next_opening
from workflows.engine.types import parse_clock_time

from .graphs import GraphBuilder, Harness, brief, ts

PARIS = ZoneInfo("Europe/Paris")
MONDAY_8 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Paris
DAY = timedelta(hours=24)


def workspace_peak(hour: int, count: int = 500) -> list[int]:
    counts = [1] * HOURS_OF_WEEK
    counts[hour] = count
    return counts


def chosen_hours(hours: EngagementHours, *, seeds: int = 60, rules: SendTimeRules | None = None) -> list[int]:
    choices = [
        choose_send_time(now=MONDAY_8, within=DAY, hours=hours, rng=random.Random(seed), rules=rules)
        for seed in range(seeds)
    ]
    return [choice.hour for choice in choices if choice is not None]


def test_a_contact_without_data_follows_the_workspace_and_says_so() -> None:
    hours = EngagementHours(contact={}, workspace=workspace_peak(13), tz=PARIS)  # Monday 13:00
    picked = chosen_hours(hours)
    assert picked.count(13) >= 0.8 * len(picked)  # the prior, with room to explore
    choice = choose_send_time(now=MONDAY_8, within=DAY, hours=hours, rng=random.Random(1))
    assert choice.fallback and "workspace fallback (the contact has 0 engagements)" in choice.reason


def test_a_contact_with_history_is_sent_at_their_own_hour() -> None:
    hours = EngagementHours(contact={19: 25, 13: 1}, workspace=workspace_peak(13), tz=PARIS)
    picked = chosen_hours(hours)
    assert picked.count(19) >= 0.9 * len(picked)
    choice = choose_send_time(now=MONDAY_8, within=DAY, hours=hours, rng=random.Random(3))
    assert choice.at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # Monday 19:00 in Paris
    assert choice.reason.startswith("Mon 19:00: 25 of the contact's 26 opens and clicks fall in this hour")


def test_the_same_seed_gives_the_same_choice_and_other_seeds_explore() -> None:
    hours = EngagementHours(contact={}, workspace=[1] * HOURS_OF_WEEK, tz=PARIS)
    first = choose_send_time(now=MONDAY_8, within=DAY, hours=hours, rng=random.Random(7))
    again = choose_send_time(now=MONDAY_8, within=DAY, hours=hours, rng=random.Random(7))
    assert first == again
    assert len(set(chosen_hours(hours))) > 5  # no data anywhere: the draws spread over the day


def test_the_choice_never_leaves_the_window_quiet_hours_or_caps() -> None:
    window_days, start, end = ["mon", "tue", "wed", "thu", "fri"], parse_clock_time("09:00"), parse_clock_time("20:00")
    quiet = QuietHours(start="12:00", end="14:00")  # quiet at lunch (and the window closes the night)
    caps = [FrequencyCap(channels=("sms",), max=1, per="PT12H")]
    sent = [Send("sms", MONDAY_8 - timedelta(hours=2))]  # capped until Monday 17:00 Paris

    rules = SendTimeRules(
        window=lambda m: next_opening(m, days=window_days, start=start, end=end, tz=PARIS),
        quiet=lambda m: quiet_until(m, quiet_hours=quiet, tz=PARIS) or m,
        caps=lambda m: m if cap_verdict(caps, sent, channel="sms", now=m).allowed else None,
    )
    # The contact engages at lunch and at night: hours the rules forbid must never be chosen.
    hours = EngagementHours(contact={12: 40, 13: 40, 2: 40, 10: 5, 18: 3}, workspace=[1] * HOURS_OF_WEEK, tz=PARIS)
    for seed in range(200):
        choice = choose_send_time(now=MONDAY_8, within=DAY, hours=hours, rng=random.Random(seed), rules=rules)
        local = choice.at.astimezone(PARIS)
        assert MONDAY_8 <= choice.at <= MONDAY_8 + DAY
        assert local.weekday() < 5 and 9 <= local.hour < 20
        assert quiet_until(choice.at, quiet_hours=quiet, tz=PARIS) is None
        assert cap_verdict(caps, sent, channel="sms", now=choice.at).allowed
        assert hour_of_week(choice.at, PARIS) == choice.hour


def test_no_allowed_slot_gives_no_choice() -> None:
    hours = EngagementHours(contact={}, workspace=[1] * HOURS_OF_WEEK, tz=PARIS)
    rules = SendTimeRules(caps=lambda m: None)  # a skip cap: never allowed
    assert choose_send_time(now=MONDAY_8, within=DAY, hours=hours, rng=random.Random(0), rules=rules) is None


def test_send_email_with_an_optimal_time_waits_for_it_then_sends() -> None:
    graph = GraphBuilder().trigger("contact.created").send_email("t1", id="mail", send_time="optimal").build()
    run = Harness(graph, at=ts("2026-11-23T07:00:00Z"), contact={
        "id": "c1", "email": "ada@example.com", "status": "subscribed", "tags": [], "fields": {},
        "timezone": "Europe/Paris"})  # fmt: skip
    run.world.engagement_hours["email"] = HourCounts(contact={19: 12}, workspace=[1] * HOURS_OF_WEEK,
                                                     workspace_total=HOURS_OF_WEEK)  # fmt: skip
    assert brief(run.run()) == [("trigger", "advance", "default"), ("mail", "wait", None)]
    chosen = run.records[-1].detail["send_time"]
    assert chosen["at"] == "2026-11-23T18:00:00+00:00" and chosen["local"] == "Mon 19:00"
    assert [a for a in run.world.actions if a["type"] == "send_email"] == []

    assert brief(run.timer(ts("2026-11-23T18:00:00Z"))) == [("mail", "advance", "default")]
    assert [a["summary"] for a in run.world.actions if a["type"] == "send_email"] == ["Sent email template t1"]


def test_an_immediate_send_ignores_the_model() -> None:
    graph = GraphBuilder().trigger("contact.created").send_email("t1", id="mail").build()
    run = Harness(graph, at=ts("2026-11-23T07:00:00Z"))
    run.world.engagement_hours["email"] = HourCounts(contact={19: 12}, workspace=[1] * HOURS_OF_WEEK,
                                                     workspace_total=HOURS_OF_WEEK)  # fmt: skip
    assert brief(run.run())[-1] == ("mail", "advance", "default")


def test_send_message_passes_its_optimal_time_to_the_channel_and_resumes_to_send() -> None:
    config = {"channels": ["email"], "email": {"template_id": "t1"}, "send_time": "optimal"}
    graph = GraphBuilder().trigger("contact.created").node("send_message", config, id="msg").build()
    run = Harness(graph, at=ts("2026-11-23T07:00:00Z"))
    run.world.engagement_hours["email"] = HourCounts(contact={12: 30}, workspace=[1] * HOURS_OF_WEEK,
                                                     workspace_total=HOURS_OF_WEEK)  # fmt: skip
    assert brief(run.run())[-1] == ("msg", "wait", None)
    waiting = run.records[-1].detail
    assert waiting["channel"] == "email" and waiting["deferred"]["send_time"]["at"] == "2026-11-23T12:00:00+00:00"

    assert brief(run.timer(ts("2026-11-23T12:00:00Z"))) == [("msg", "advance", "default")]
    assert run.records[-1].detail["channel"] == "email" and run.records[-1].detail["status"] == "queued"
