"""The social_post node on the engine alone (no Django): what it does with each answer of its port, its config's
checks, and how the networks count a post's length."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from connectors.social.limits import length_problem, little_text, post_length
from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Node, WorkflowSettings
from workflows.engine.outcomes import Advance, Fail, Retry, Wait
from workflows.engine.ports import PortError, RateLimited
from workflows.engine.registry import StepContext, registry
from workflows.engine.runner import step

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONFIG = {"account_id": "a-1", "text": "Hi {{ contact.first_name }}", "url": "https://acme.test/{{ contact.id }}"}


class _Refusing:
    """A social port that raises what it is given."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def post(self, **_: object):
        raise self.error


def _run(config=CONFIG, *, social=None, attempt: int = 0):
    world = FakeWorld(contact={"id": "c-1", "first_name": "Ada", "tags": [], "fields": {}}, clock=lambda: NOW)
    ports = fake_ports(world)
    if social is not None:
        ports = replace(ports, social=social)
    node_type = registry.get("social_post")
    ctx = StepContext(enrollment_id="e-1", contact_id="c-1", contact=world.contact,
                      node=Node(id="p", type="social_post", config=config), now=NOW, settings=WorkflowSettings(),
                      ports=ports, attempt=attempt)
    prepared = type("Prepared", (), {"node_type": node_type, "config": node_type.parse_config(config),
                                     "problem": None, "node": ctx.node})()
    return step(prepared=prepared, ctx=ctx), world


def test_a_simulation_shows_the_post_and_posts_nothing():
    outcome, world = _run()
    assert isinstance(outcome, Advance)
    assert outcome.vars == {"post_id": None, "post_url": None} and outcome.detail["simulated"] is True
    (action,) = world.actions
    assert action["post"] == {"account_id": "a-1", "text": "Hi Ada", "url": "https://acme.test/c-1"}
    assert action["summary"] == "Would post to account a-1 (not posted in simulation)"


@pytest.mark.parametrize("attempt", [0, 5, 50])
def test_a_rate_limit_waits_for_the_reset_whatever_the_attempts_spent(attempt):
    limited = RateLimited("X's rate limit", retry_after=timedelta(minutes=12))
    outcome, _ = _run(social=_Refusing(limited), attempt=attempt)
    assert isinstance(outcome, Wait) and outcome.until == NOW + timedelta(minutes=12)
    assert outcome.detail["rate_limited"] is True and "X's rate limit" in outcome.detail["reason"]


def test_a_network_failure_is_retried_then_given_up_and_a_refusal_fails_for_good():
    outcome, _ = _run(social=_Refusing(PortError("The network answered 503")))
    assert isinstance(outcome, Retry)
    outcome, _ = _run(social=_Refusing(PortError("The network answered 503")), attempt=5)
    assert isinstance(outcome, Fail) and "Gave up after 6 attempts" in outcome.reason
    outcome, _ = _run(social=_Refusing(PortError("refused. Reconnect the page", retryable=False)))
    assert isinstance(outcome, Fail) and outcome.permanent and "Reconnect" in outcome.reason


@pytest.mark.parametrize(("config", "says"), [
    ({"account_id": "a", "text": "   "}, "the text is empty"),
    ({"account_id": "a", "text": "Hi", "url": "acme.test"}, "the link must start with https://"),
    ({"account_id": "", "text": "Hi"}, "at least 1 character"),
    ({"account_id": "a", "text": "x" * 63_207}, "at most 63206 characters"),
    ({"account_id": "a", "text": "Hi", "image": "x"}, "Extra inputs are not permitted"),
])
def test_a_bad_config_is_refused_saying_why(config, says):
    with pytest.raises(ValidationError, match=says):
        registry.get("social_post").parse_config(config)


def test_a_link_with_liquid_is_judged_once_rendered():
    assert registry.get("social_post").parse_config({"account_id": "a", "text": "Hi", "url": "{{ contact.fields.u }}"})


def test_x_counts_links_as_23_and_wide_characters_as_2():
    assert post_length("x", "hello") == 5
    assert post_length("x", "see https://example.com/a/very/long/path?with=query") == 4 + 23
    assert post_length("x", "hello", "https://acme.test/x") == 5 + 1 + 23
    assert post_length("x", "日本語") == 6 and post_length("x", "🐧") == 2
    assert post_length("x", "é" * 280) == 280 and post_length("linkedin", "日本語") == 3


def test_the_limit_problem_says_by_how_much():
    assert length_problem("x", "a" * 280) is None
    assert length_problem("facebook", "a" * 63_206) is None
    problem = length_problem("linkedin", "a" * 3010)
    assert problem == ("The post is 3010 characters long; LinkedIn takes at most 3000: shorten the text by 10.")


def test_linkedin_little_text_reserved_characters_are_escaped():
    assert little_text("Hi @all (#1) [sale] {x} <b> *_~|\\") == r"Hi \@all \(\#1\) \[sale\] \{x\} \<b\> \*\_\~\|\\"
