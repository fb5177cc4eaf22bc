"""Parallel branches and their merge in the durable runtime (real PostgreSQL and Redis): the branches' steps in
the step log and the history, their waits in the counters, events and timers resuming each branch, and an exit
ending them all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.engine.graphs import edge, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from tests.workflows.test_runtime import enroll, event_record
from workflows.models import Enrollment, StepRun
from workflows.runtime_gateway import RuntimeGateway
from workflows.selectors import workflow_analytics


@pytest.fixture(autouse=True)
def _empty_queue():
    import django_rq

    django_rq.get_queue("engine").empty()
    yield


def family(workspace, *, settings=None, c_event="email.opened"):
    """manual → p {a: tag, b: delay 1 day → tag, c: wait for ``c_event`` → tag} → merge m (all) → tag done."""
    return publish(workspace, [
        node("t", "trigger_manual"),
        node("p", "parallel", {"branches": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}),
        node("ta", "add_tag", {"tag": "a"}),
        node("d", "delay", {"duration": "P1D"}),
        node("tb", "add_tag", {"tag": "b"}),
        node("w", "wait_for_event", {"event": c_event, "timeout": "P2D"}),
        node("tc", "add_tag", {"tag": "c"}),
        node("m", "merge", {"mode": "all"}),
        node("done", "add_tag", {"tag": "done"}),
    ], [edge("t", "p"), edge("p", "ta", "a"), edge("p", "d", "b"), edge("p", "w", "c"), edge("ta", "m"),
        edge("d", "tb"), edge("tb", "m"), edge("w", "tc", "event"), edge("tc", "m"), edge("w", "m", "timeout"),
        edge("m", "done")], settings=settings)  # fmt: skip


def waiting_now(workflow):
    nodes = workflow_analytics(workflow=workflow)["nodes"]
    return {node_id: counts["waiting_now"] for node_id, counts in nodes.items() if counts["waiting_now"]}


def test_branches_wait_resume_and_merge_with_their_steps_logged_and_counted(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = family(workspace)
    enroll(api, workflow, contact)
    start = timezone.now()
    run_due(now=start)
    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.status, enrollment.current_node_id, enrollment.waiting_for) == ("waiting", "m", "email.opened")
    assert abs((enrollment.next_run_at - (start + timedelta(days=1))).total_seconds()) < 1
    assert waiting_now(workflow) == {"m": 1, "d": 1, "w": 1}
    logged = list(StepRun.objects.filter(enrollment=enrollment).order_by("sequence")
                  .values_list("node_id", "status", "detail__path"))  # fmt: skip
    assert logged == [("t", "succeeded", None), ("p", "succeeded", None), ("ta", "succeeded", "p.a"),
                      ("m", "waiting", "p.a"), ("d", "waiting", "p.b"), ("w", "waiting", "p.c")]

    RuntimeGateway().process(events=[event_record(contact, "email.opened")])
    enrollment.refresh_from_db()
    assert enrollment.status == "waiting" and enrollment.waiting_for == ""
    assert waiting_now(workflow) == {"m": 1, "d": 1}

    run_due(now=start + timedelta(days=1, seconds=1))
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    contact.refresh_from_db()
    assert sorted(contact.tags) == ["a", "b", "c", "done"]
    analytics = workflow_analytics(workflow=workflow)
    assert waiting_now(workflow) == {}
    assert analytics["enrollments"]["completed"] == 1 and analytics["enrollments"]["waiting"] == 0
    assert analytics["nodes"]["m"] == {"entered": 1, "succeeded": 1, "failed": 0, "waiting_now": 0,
                                       "goal_reached": 0}  # fmt: skip
    for node_id in ("p", "ta", "d", "tb", "w", "tc", "done"):
        assert (analytics["nodes"][node_id]["entered"], analytics["nodes"][node_id]["succeeded"]) == (1, 1), node_id

    detail = api.get(f"/api/v1/executions/{enrollment.pk}").json()
    by_branch = {}
    for step in detail["steps"]:
        by_branch.setdefault(step["detail"].get("path"), []).append(step["node_id"])
    assert by_branch == {None: ["t", "p", "m", "done"], "p.a": ["ta", "m"], "p.b": ["d", "d", "tb", "m"],
                         "p.c": ["w", "w", "tc", "m"]}  # fmt: skip


def test_a_goal_reached_while_branches_wait_ends_them_all(api, workspace):
    settings = {"exit_conditions": [{"event": "order.placed", "goal": "bought"}]}
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = family(workspace, settings=settings)
    enroll(api, workflow, contact)
    run_due()
    RuntimeGateway().process(events=[event_record(contact, "order.placed")])
    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.status, enrollment.goal) == ("exited", "bought")
    assert "branches" not in enrollment.context
    cancelled = StepRun.objects.filter(enrollment=enrollment, status="skipped")
    assert sorted(cancelled.values_list("node_id", flat=True)) == ["d", "w"]
    assert waiting_now(workflow) == {}
    assert workflow_analytics(workflow=workflow)["goals"]["reached"] == 1
    assert run_due(now=timezone.now() + timedelta(days=3)) == 0


def test_cancelling_an_enrollment_inside_a_parallel_releases_every_branch_wait(api, workspace):
    from workflows.services import enrollment_cancel

    contact = ContactFactory(workspace=workspace)
    workflow = family(workspace)
    enroll(api, workflow, contact)
    run_due()
    assert waiting_now(workflow) == {"m": 1, "d": 1, "w": 1}
    enrollment_cancel(enrollment=Enrollment.objects.get(contact=contact))
    assert waiting_now(workflow) == {}


def test_publish_refuses_a_merge_one_branch_never_reaches(api, workspace):
    graph = {"nodes": [node("t", "trigger_manual"),
                       node("p", "parallel", {"branches": [{"id": "a"}, {"id": "b"}]}),
                       node("ta", "add_tag", {"tag": "a"}), node("tb", "add_tag", {"tag": "b"}),
                       node("m", "merge", {"mode": "count", "count": 3})],
             "edges": [edge("t", "p"), edge("p", "ta", "a"), edge("p", "tb", "b"), edge("ta", "m")]}  # fmt: skip
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert response.status_code == 422
    codes = {(e["code"], e.get("node_id")) for e in response.json()["error"]["details"]["errors"]}
    assert codes == {("merge_unreachable", "p"), ("merge_count_too_large", "m")}


def test_for_each_runs_once_per_item_of_a_contact_field_and_goes_on_with_the_result(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=[], fields={"cart": [{"sku": "a"}, {"sku": "vip"}, {"sku": "c"}]})
    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("fe", "for_each", {"items": "contact.fields.cart", "limit": 10}),
        node("d", "delay", {"duration": "PT1H"}),
        node("c", "condition", {"rule": {"==": [{"var": "enrollment.vars.item.sku"}, "vip"]}}),
        node("hit", "add_tag", {"tag": "has-vip"}),
        node("after", "add_tag", {"tag": "after"}),
    ], [edge("t", "fe"), edge("fe", "d", "item"), edge("d", "c"), edge("c", "hit", "yes"),
        edge("fe", "after", "done")])  # fmt: skip
    enroll(api, workflow, contact)
    start = timezone.now()
    run_due(now=start)
    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.status, enrollment.current_node_id) == ("waiting", "fe")
    assert waiting_now(workflow) == {"fe": 1, "d": 3}
    run_due(now=start + timedelta(hours=1, seconds=1))
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    assert enrollment.context["vars"]["for_each"] == {"count": 3, "completed": 3, "results": [{}, {}, {}]}
    contact.refresh_from_db()
    assert sorted(contact.tags) == ["after", "has-vip"]
    paths = list(StepRun.objects.filter(enrollment=enrollment, node_id="c").order_by("sequence")
                 .values_list("detail__path", "branch"))  # fmt: skip
    assert paths == [("fe.0", "no"), ("fe.1", "yes"), ("fe.2", "no")]
    nodes = workflow_analytics(workflow=workflow)["nodes"]
    assert (nodes["fe"]["entered"], nodes["fe"]["succeeded"], nodes["c"]["entered"]) == (1, 1, 3)
    assert waiting_now(workflow) == {}


def test_a_migration_leaves_an_enrollment_running_branches_on_its_version_and_says_so(api, workspace):
    from workflows.version_migration import MigrateRequest, migration_apply, workflow_publish_migrating

    forked, plain = ContactFactory(workspace=workspace, tags=[]), ContactFactory(workspace=workspace, tags=[])
    workflow = family(workspace)
    enroll(api, workflow, forked)
    run_due()
    enroll(api, workflow, plain)  # not run yet: it stands before the fork, and can move
    before = Enrollment.objects.get(contact=forked)
    assert "branches" in before.context

    plan = api.post(f"/api/v1/workflows/{workflow.pk}/publish",
                    {"migrate": {"from_versions": [1], "dry_run": True}}, format="json").json()
    assert plan["can_apply"] is True
    assert [(u["code"], u["contacts"]) for u in plan["unmigratable"]] == [("branches_in_flight", 1)]
    outcome = workflow_publish_migrating(workflow=workflow, request=MigrateRequest((1,), {}, dry_run=False),
                                         apply_now=False)
    report = migration_apply(migration_id=outcome.migration.pk, max_wait=0)
    assert report.done
    after = Enrollment.objects.get(contact=forked)
    assert (after.version.number, after.current_node_id, after.context) == (1, "m", before.context)
    assert Enrollment.objects.get(contact=plain).version.number == 2
    assert not StepRun.objects.filter(enrollment=after, type="migration").exists()
