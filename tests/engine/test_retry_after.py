"""A port may say when to try again (PortError.retry_after, from a Retry-After header): the retry comes no sooner
than that, nor sooner than the node type's policy asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.ports import PortError
from workflows.engine.runner import retry_delay, run_enrollment
from workflows.engine.state import new_enrollment

START = datetime(2026, 11, 23, tzinfo=UTC)


def _first_retry_wait(retry_after: timedelta | None, **run_options) -> timedelta:
    graph = Graph.from_builder({
        "nodes": [{"id": "t", "type": "trigger_manual", "data": {"config": {}}},
                  {"id": "h", "type": "webhook", "data": {"config": {"url": "https://hooks.example.com/x"}}}],
        "edges": [{"id": "e", "source": "t", "target": "h", "sourceHandle": "default"}],
    })
    ports = fake_ports(FakeWorld(contact={"id": "c1"}, clock=lambda: START))

    class Busy:
        def call(self, **_):
            raise PortError("The receiver answered 429", retry_after=retry_after)

    ports = type(ports)(**{**{f: getattr(ports, f) for f in ports.__slots__}, "webhooks": Busy()})
    state = new_enrollment(enrollment_id="e1", contact_id="c1", trigger_node="t", entered_at=START)
    result = run_enrollment(graph=graph, settings=WorkflowSettings(), state=state, contact={"id": "c1"},
                            ports=ports, clock=lambda: START, **run_options)
    assert result.records[-1].outcome == "retry"
    assert result.records[-1].detail["retry_at"] == result.state.next_run_at.isoformat()
    return result.state.next_run_at - START


def test_without_retry_after_the_policy_decides():
    from workflows.engine.registry import registry

    policy_wait = retry_delay(attempt=0, seed=new_enrollment(enrollment_id="e1", contact_id="c1", trigger_node="t",
                                                             entered_at=START).seed,
                              node_id="h", policy=registry.get("webhook").retry)
    assert _first_retry_wait(None) == policy_wait


@pytest.mark.parametrize(("asked", "expected_at_least"), [(timedelta(minutes=20), timedelta(minutes=20)),
                                                          (timedelta(seconds=1), timedelta(seconds=24))])
def test_the_longer_of_retry_after_and_the_policy_delay_wins(asked, expected_at_least):
    wait = _first_retry_wait(asked)
    assert wait >= expected_at_least
    assert wait == max(asked, _first_retry_wait(None))


def test_the_retry_scale_shortens_the_policy_delay_but_never_a_retry_after():
    assert _first_retry_wait(None, retry_scale=0.1) == _first_retry_wait(None) * 0.1
    assert _first_retry_wait(timedelta(seconds=20), retry_scale=0.1) == timedelta(seconds=20)


def test_a_retry_waits_from_when_its_step_failed_not_from_the_runs_moment():
    """A live batch runs at one moment; a step that failed 40 s into it (slow calls before it) still waits its
    whole backoff, and its Retry-After, from its failure."""
    late = timedelta(seconds=40)
    assert _first_retry_wait(None, failure_clock=lambda: START + late) == late + _first_retry_wait(None)
    asked = timedelta(minutes=20)
    assert _first_retry_wait(asked, failure_clock=lambda: START + late) == late + asked
    assert _first_retry_wait(None, failure_clock=lambda: START - late) == _first_retry_wait(None)  # never sooner
