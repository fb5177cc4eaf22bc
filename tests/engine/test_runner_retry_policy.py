"""Retry policies are declared per node type: attempts and backoff differ between email and contact actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows.engine.registry import RetryPolicy, registry
from workflows.engine.runner import retry_delay


def test_node_types_declare_their_own_retry_policy():
    assert registry.get("send_email").retry == RetryPolicy(max_attempts=8, base_seconds=60, cap_seconds=3 * 3600)
    assert registry.get("add_tag").retry.max_attempts == 3
    assert registry.get("webhook").retry.max_attempts == 6
    assert registry.get("delay").retry == RetryPolicy()


def test_backoff_grows_exponentially_within_jitter_and_stops_at_the_cap():
    policy = RetryPolicy(max_attempts=10, base_seconds=60, cap_seconds=600)
    delays = [retry_delay(attempt=n, seed=7, node_id="n1", policy=policy) for n in range(6)]
    for attempt, delay in enumerate(delays):
        expected = min(60 * 2**attempt, 600)
        assert timedelta(seconds=expected * 0.8) <= delay <= timedelta(seconds=expected * 1.2)
    assert delays == [retry_delay(attempt=n, seed=7, node_id="n1", policy=policy) for n in range(6)]
    assert delays != [retry_delay(attempt=n, seed=8, node_id="n1", policy=policy) for n in range(6)]


def test_a_failing_port_retries_per_policy_then_fails_with_the_reason(start=datetime(2026, 11, 23, tzinfo=UTC)):
    from workflows.engine.fakes import FakeWorld, fake_ports
    from workflows.engine.graph import Graph, WorkflowSettings
    from workflows.engine.ports import PortError
    from workflows.engine.runner import run_enrollment
    from workflows.engine.state import Resume, new_enrollment

    graph = Graph.from_builder({
        "nodes": [{"id": "t", "type": "trigger_manual", "data": {"config": {}}},
                  {"id": "a", "type": "add_tag", "data": {"config": {"tag": "x"}}}],
        "edges": [{"id": "e", "source": "t", "target": "a", "sourceHandle": "default"}],
    })
    now = [start]
    world = FakeWorld(contact={"id": "c1", "tags": []}, clock=lambda: now[0])
    ports = fake_ports(world)

    class Down:
        def add_tag(self, **_):
            raise PortError("database busy", retryable=True)

    ports = type(ports)(**{**{f: getattr(ports, f) for f in ports.__slots__}, "contacts": Down()})
    state = new_enrollment(enrollment_id="e1", contact_id="c1", trigger_node="t", entered_at=start)
    outcomes = []
    result = run_enrollment(graph=graph, settings=WorkflowSettings(), state=state, contact={"id": "c1", "tags": []},
                            ports=ports, clock=lambda: now[0])
    for _ in range(5):
        outcomes.append(result.records[-1].outcome)
        if result.state.status != "waiting":
            break
        now[0] = result.state.next_run_at
        result = run_enrollment(graph=graph, settings=WorkflowSettings(), state=result.state,
                                contact={"id": "c1", "tags": []}, ports=ports, clock=lambda: now[0],
                                resume=Resume.timer(at=now[0]))
    assert outcomes == ["retry", "retry", "fail"]
    assert result.state.status == "failed"
    assert result.state.error == "Gave up after 3 attempts: database busy"
