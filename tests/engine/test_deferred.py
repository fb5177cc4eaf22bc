"""A deferred call (`Deferred`, RateLimited among them) makes its step wait and run again afresh, spending none of
its attempts and recording no failure (the engine alone, no Django)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.ports import Deferred, PortError, RateLimited, WebhookResult
from workflows.engine.runner import run_enrollment
from workflows.engine.state import Resume, new_enrollment

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
GRAPH = Graph.from_builder({
    "nodes": [{"id": "t", "type": "trigger_manual", "data": {"config": {}}},
              {"id": "h", "type": "webhook", "data": {"config": {"url": "https://hooks.example.com/x"}}}],
    "edges": [{"id": "e", "source": "t", "target": "h", "sourceHandle": "default"}],
})


class _Scripted:
    """A webhook port that raises each of ``errors`` in turn, then answers 200."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def call(self, **_: object) -> WebhookResult:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return WebhookResult(status_code=200)


def _run_until_done(webhooks: _Scripted, settings: WorkflowSettings | None = None):
    """Run the enrollment, waking it at each due time, until it no longer waits; return its records and state."""
    ports = replace(fake_ports(FakeWorld(contact={"id": "c1"}, clock=lambda: START)), webhooks=webhooks)
    state = new_enrollment(enrollment_id="e1", contact_id="c1", trigger_node="t", entered_at=START)
    records, now, resume = [], START, None
    for _ in range(10):
        result = run_enrollment(graph=GRAPH, settings=settings or WorkflowSettings(), state=state, contact={"id": "c1"},
                                ports=ports, clock=lambda at=now: at, resume=resume)
        records += [r for r in result.records if r.node_id == "h"]
        state = result.state
        if state.status != "waiting":
            break
        now = state.next_run_at
        resume = Resume.timer(at=now)
    return records, state


def test_a_deferred_step_waits_then_runs_afresh_without_spending_an_attempt():
    webhooks = _Scripted(PortError("The receiver answered 503"),
                         Deferred("Not called: no answer earlier", retry_after=timedelta(seconds=30)),
                         Deferred("Not called yet: time spent", retry_after=timedelta(seconds=1)))

    records, state = _run_until_done(webhooks)

    assert state.status == "completed" and webhooks.calls == 4
    assert [(r.outcome, r.attempt) for r in records] == [("retry", 0), ("wait", 1), ("wait", 1), ("advance", 1)]
    deferred = records[1]
    assert deferred.error is None
    assert deferred.detail["call_deferred"] is True and deferred.detail["reason"] == "Not called: no answer earlier"
    assert deferred.detail["until"] == (deferred.at + timedelta(seconds=30)).isoformat()
    assert records[2].at == deferred.at + timedelta(seconds=30)


def test_a_step_deferred_more_times_than_its_attempts_and_its_step_limit_still_runs():
    many = [Deferred("Not called yet", retry_after=timedelta(seconds=1)) for _ in range(7)]
    webhooks = _Scripted(*many, RateLimited("The receiver's limit", retry_after=timedelta(minutes=5)))

    records, state = _run_until_done(webhooks, settings=WorkflowSettings(max_steps_per_enrollment=3))

    assert state.status == "completed" and webhooks.calls == 9
    assert [r.outcome for r in records] == ["wait"] * 8 + ["advance"]
    assert {r.attempt for r in records} == {0}
    assert state.step_count == _run_until_done(_Scripted())[1].step_count  # the deferrals are not steps run
