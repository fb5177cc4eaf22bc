"""send_message: the first channel that reaches the contact, fallback after no engagement, the step log's account
(no database: recording fakes, and stand-in SMS and push senders where this checkout has none)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from workflows.engine.caps import FrequencyCap
from workflows.engine.graph import WorkflowSettings
from workflows.engine.nodes import messages
from workflows.engine.outcomes import Advance, Outcome
from workflows.engine.registry import NodeConfig, NodeType, StepContext, registry
from workflows.engine.simulator import simulate

from .graphs import GraphBuilder, Harness, brief, ts

AT = ts("2026-11-23T10:00:00Z")  # a Monday


class _StandIn(NodeType):
    """A sender of a channel whose node type this checkout may not have yet: it sends through the channel's port
    (the recording fake, which honours consent as contacts.consent does live), as the real one does."""

    kind = "action"

    class Config(NodeConfig):
        text: str
        transactional: bool = False

    def __init__(self, channel: str) -> None:
        self.channel, self.type, self.label, self.sent = channel, f"stand_in_{channel}", channel.upper(), []

    def run(self, ctx: StepContext, config: Any) -> Outcome:
        port = getattr(ctx.ports, self.channel)
        if self.channel == "sms":
            result = port.send(
                key=ctx.effect_key,
                node_id=ctx.node.id,
                contact_id=ctx.contact_id,
                text=config.text,
                topic=None,
            )
        else:
            result = port.send(
                key=ctx.effect_key,
                node_id=ctx.node.id,
                contact_id=ctx.contact_id,
                title=config.text,
                body=config.text,
                url=None,
                icon=None,
                topic=None,
            )
        if result.message_id:
            self.sent.append((ctx.effect_key, config.text))
        return Advance(detail={"message_id": result.message_id, "status": result.status, **result.detail})


@pytest.fixture
def senders(monkeypatch) -> dict[str, _StandIn]:
    stand_ins = {"sms": _StandIn("sms"), "push": _StandIn("push")}

    def sender(channel: str) -> NodeType | None:
        return registry.get("send_email") if channel == "email" else stand_ins[channel]

    monkeypatch.setattr(messages, "channel_sender", sender)
    return stand_ins


def contact(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "email": "ada@example.com",
        "phone": "+33612345678",
        "status": "subscribed",
        "tags": [],
        "fields": {},
        "channels": {"sms": {"status": "subscribed"}, "push": {"status": "subscribed", "devices": 1}},
        **overrides,
    }


def message(**config: Any) -> dict[str, Any]:
    return {"email": {"template_id": "t1"}, "sms": {"text": "Hi"}, "push": {"text": "Hey"}, **config}


def harness(config: dict[str, Any], *, person: dict[str, Any] | None = None, caps=()) -> Harness:
    graph = GraphBuilder().trigger("contact.created").node("send_message", config, id="m").build()
    run = Harness(graph, at=AT, contact=person or contact())
    run.world.frequency_caps = tuple(FrequencyCap.model_validate(rule) for rule in caps)
    return run


def emails(run: Harness) -> list[str]:
    return [action["summary"] for action in run.world.actions if action["type"] == "send_email"]


def test_the_preferred_channel_goes_out_first(senders) -> None:
    run = harness(message(channels=["preferred", "email"]), person=contact(preferred_channel="sms"))
    assert brief(run.run())[-1] == ("m", "advance", "default")
    detail = run.records[-1].detail
    assert (detail["channel"], detail["message_id"]) == ("sms", "sms-1")
    assert detail["attempts"] == [
        {"channel": "sms", "result": "sent", "message_id": "sms-1", "status": "queued"}
    ]
    assert emails(run) == []


def test_a_channel_that_cannot_reach_the_contact_is_skipped_with_its_reason(senders) -> None:
    run = harness(message(channels=["email", "sms", "push"]), person=contact(status="unsubscribed"))
    run.run()
    detail = run.records[-1].detail
    assert detail["channel"] == "sms"
    assert detail["attempts"][0] == {"channel": "email", "result": "skipped", "reason": "suppressed"}
    assert senders["push"].sent == []


def test_no_channel_reaching_the_contact_goes_on_and_says_why_for_each(senders) -> None:
    person = contact(status="unsubscribed", channels={})
    run = harness(message(channels=["preferred", "email", "sms", "push"]), person=person)
    assert brief(run.run())[-1] == ("m", "advance", "default")
    detail = run.records[-1].detail
    assert detail["channel"] is None and detail["status"] == "not_sent"
    assert detail["reason"] == (
        "No channel reached the contact (preferred: no_preferred_channel; email: suppressed; "
        "sms: no_consent; push: no_address)."
    )


def test_each_channel_is_tried_once_even_when_named_twice_through_preferred(senders) -> None:
    person = contact(status="unsubscribed", preferred_channel="email")
    run = harness(message(channels=["preferred", "email", "sms"]), person=person)
    run.run()
    assert [a["channel"] for a in run.records[-1].detail["attempts"]] == ["email", "sms"]


def test_without_engagement_the_next_channel_goes_out_after_fallback_after(senders) -> None:
    run = harness(message(channels=["email", "sms"], fallback_after="P1D"))
    assert brief(run.run())[-1] == ("m", "wait", None)
    waiting = run.records[-1].detail
    assert (waiting["channel"], waiting["awaiting_engagement"]) == ("email", "email")
    assert senders["sms"].sent == []
    assert brief(run.timer(AT + timedelta(days=1))) == [("m", "advance", "default")]
    detail = run.records[-1].detail
    assert detail["channel"] == "sms"
    assert [(a["channel"], a["result"], a.get("engaged")) for a in detail["attempts"]] == [
        ("email", "sent", False),
        ("sms", "sent", None),
    ]
    assert len(emails(run)) == 1 and len(senders["sms"].sent) == 1


def test_an_open_within_fallback_after_keeps_the_next_channel_unsent(senders) -> None:
    run = harness(message(channels=["email", "sms"], fallback_after="P1D"))
    run.run()
    run.world.add_event(
        {"type": "email.opened", "occurred_at": AT + timedelta(hours=3), "properties": {"node_id": "m"}}
    )
    assert brief(run.timer(AT + timedelta(days=1))) == [("m", "advance", "default")]
    assert run.records[-1].detail["engaged"] is True and run.records[-1].detail["channel"] == "email"
    assert senders["sms"].sent == []


def test_a_cap_that_skips_moves_on_to_the_next_channel(senders) -> None:
    caps = [{"channels": ["email"], "max": 1, "per": "P7D", "policy": "skip"}]
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("t0", id="first")
        .node("send_message", message(channels=["email", "sms"]), id="m")
        .build()
    )
    run = Harness(graph, at=AT, contact=contact())
    run.world.frequency_caps = tuple(FrequencyCap.model_validate(rule) for rule in caps)
    run.run()
    detail = run.records[-1].detail
    assert detail["channel"] == "sms"
    assert detail["attempts"][0] == {"channel": "email", "result": "skipped", "reason": "frequency_cap"}


def test_a_cap_that_defers_makes_the_step_wait_then_send_on_the_same_channel(senders) -> None:
    caps = [{"channels": ["email"], "max": 1, "per": "P1D", "policy": "defer"}]
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("t0", id="first")
        .node("send_message", message(channels=["email", "sms"]), id="m")
        .build()
    )
    run = Harness(graph, at=AT, contact=contact())
    run.world.frequency_caps = tuple(FrequencyCap.model_validate(rule) for rule in caps)
    assert brief(run.run())[-1] == ("m", "wait", None)
    assert run.records[-1].detail["deferred"]["capped"] is True
    assert "Frequency cap reached" in run.records[-1].detail["reason"]
    assert brief(run.timer(AT + timedelta(days=1))) == [("m", "advance", "default")]
    assert run.records[-1].detail["channel"] == "email" and senders["sms"].sent == []


def test_a_cap_across_channels_holds_for_the_fallback_channel_too(senders) -> None:
    caps = [{"channels": ["email", "sms"], "max": 1, "per": "P7D", "policy": "skip"}]
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .send_email("t0", id="first")
        .node("send_message", message(channels=["email", "sms", "push"]), id="m")
        .build()
    )
    run = Harness(graph, at=AT, contact=contact())
    run.world.frequency_caps = tuple(FrequencyCap.model_validate(rule) for rule in caps)
    run.run()
    detail = run.records[-1].detail
    assert [(a["channel"], a.get("reason")) for a in detail["attempts"][:2]] == [
        ("email", "frequency_cap"),
        ("sms", "frequency_cap"),
    ]
    assert detail["channel"] == "push" and senders["sms"].sent == []


def test_a_channel_window_defers_the_step_and_the_channel_sends_at_the_opening(senders) -> None:
    window = {"days": ["mon"], "start": "12:00", "end": "13:00", "timezone": "UTC"}
    run = harness(message(channels=["email", "sms"], email={"template_id": "t1", "window": window}))
    assert brief(run.run())[-1] == ("m", "wait", None)
    assert run.state.next_run_at == ts("2026-11-23T12:00:00Z")
    assert brief(run.timer(ts("2026-11-23T12:00:00Z"))) == [("m", "advance", "default")]
    assert run.records[-1].detail["channel"] == "email" and len(emails(run)) == 1


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"channels": ["sms"], "email": {"template_id": "t"}}, "send_message"),
        ({"channels": ["email", "email"], "email": {"template_id": "t"}}, "channels"),
        ({"channels": ["email"], "email": {}}, "email.template_id"),
        ({"channels": ["email"], "email": {"template_id": "t"}, "fallback_after": "PT0S"}, "fallback_after"),
    ],
)
def test_a_config_that_cannot_send_is_refused_with_the_channel_in_its_path(config, path) -> None:
    with pytest.raises(ValidationError) as refused:
        registry.get("send_message").parse_config(config)  # type: ignore[union-attr]
    locations = [
        ".".join(str(part) for part in error["loc"]) or "send_message" for error in refused.value.errors()
    ]
    assert path in locations


def test_the_simulation_runs_send_message_and_shows_its_account(senders) -> None:
    graph = (
        GraphBuilder()
        .trigger("contact.created")
        .node("send_message", message(channels=["email", "sms"], fallback_after="P2D"), id="m")
        .build()
    )
    result = simulate(
        graph=graph,
        settings=WorkflowSettings(),
        contact=contact(),
        start=AT,
        events=[{"type": "contact.created"}],
        until="P5D",
    )
    steps = [
        (step["node_id"], step["outcome"], step["detail"].get("channel"))
        for step in result.path
        if step["node_id"] == "m"
    ]
    assert steps == [("m", "wait", "email"), ("m", "advance", "sms")]
