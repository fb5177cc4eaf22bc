"""Moving contacts in flight to a new version (CONTRACT §17), against the real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from tests.engine.graphs import chain, edge, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from workflows.engine.state import EnrollmentState
from workflows.models import Enrollment, StepRun, VersionMigration, WorkflowCounter, WorkflowVersion
from workflows.services import workflow_draft_save
from workflows.version_migration import MigrateRequest, migration_apply, workflow_publish_migrating


@pytest.fixture(autouse=True)
def _empty_queue():
    import django_rq

    django_rq.get_queue("engine").empty()
    yield


V1_NODES = [
    node("t", "trigger_manual"),
    node("d1", "delay", {"duration": "P3D"}),
    node("a1", "add_tag", {"tag": "after-delay"}),
    node("w1", "wait_for_event", {"event": "email.opened", "timeout": "P5D"}),
    node("n7", "delay", {"duration": "P2D"}),
    node("a2", "add_tag", {"tag": "end"}),
]
TAIL = [edge("w1", "n7", "event"), edge("w1", "n7", "timeout"), *chain("n7", "a2")]
V1_EDGES = [*chain("t", "d1", "a1", "w1"), *TAIL]
WITHOUT_D1 = [*chain("t", "a1", "w1"), *TAIL]


def _workflow_with_waiting_contacts(workspace, api, count=3):
    workflow = publish(workspace, V1_NODES, V1_EDGES)
    contacts = [ContactFactory(workspace=workspace) for _ in range(count)]
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll",
        {"contacts": [{"id": str(c.pk)} for c in contacts]},
        format="json",
    )
    assert response.json()["enrolled"] == count
    run_due()
    assert set(Enrollment.objects.filter(workflow=workflow).values_list("status", "current_node_id")) == {
        ("waiting", "d1")
    }
    return workflow


def _save_draft(workflow, nodes, edges):
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    workflow_draft_save(
        workflow=workflow, graph={"nodes": nodes, "edges": edges}, settings={}, revision=draft.revision
    )


def _v2_nodes(**configs):
    return [node(n["id"], n["type"], configs.get(n["id"], n["data"]["config"])) for n in V1_NODES]


def _publish(api, workflow, migrate):
    return api.post(f"/api/v1/workflows/{workflow.pk}/publish", {"migrate": migrate}, format="json")


def _snapshot(workflow):
    return sorted(
        Enrollment.objects.filter(workflow=workflow).values_list(
            "pk", "version_id", "status", "current_node_id", "next_run_at", "context"
        )
    )


def test_dry_run_plans_each_node_and_changes_nothing(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api)
    _save_draft(workflow, _v2_nodes(d1={"duration": "P1D"}), V1_EDGES)
    before = _snapshot(workflow)
    response = _publish(api, workflow, {"from_versions": [1], "dry_run": True})
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["dry_run"] is True and plan["can_apply"] is True and "version" not in plan
    moves = {m["from_node"]: m for m in plan["moves"]}
    assert set(moves) == {"t", "d1", "a1", "w1", "n7", "a2"}
    assert (moves["d1"]["to_node"], moves["d1"]["contacts"], moves["d1"]["waiting"]) == ("d1", 3, 3)
    assert moves["d1"]["timers"] == {"kept": 0, "recomputed": 3, "fired": 0}
    assert "P3D → P1D" in moves["d1"]["timer_rule"]
    assert moves["a1"]["contacts"] == 0
    assert plan["unmigratable"] == [] and plan["totals"]["contacts"] == 3
    assert _snapshot(workflow) == before
    assert not WorkflowVersion.objects.filter(workflow=workflow, number=2).exists()
    assert not StepRun.objects.filter(type="migration").exists()


def test_apply_moves_waiting_contacts_keeps_entry_time_and_recomputes_due_time(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api)
    entered = {
        e.pk: EnrollmentState.from_dict(e.context).wait.since
        for e in Enrollment.objects.filter(workflow=workflow)
    }
    _save_draft(workflow, _v2_nodes(d1={"duration": "P1D"}), V1_EDGES)
    response = _publish(api, workflow, {"from_versions": [1], "dry_run": False})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2 and body["migration"]["status"] == "done"
    assert (body["migration"]["total"], body["migration"]["moved"]) == (3, 3)
    v2 = WorkflowVersion.objects.get(workflow=workflow, number=2)
    for enrollment in Enrollment.objects.filter(workflow=workflow):
        state = EnrollmentState.from_dict(enrollment.context)
        assert enrollment.version_id == v2.pk and enrollment.status == "waiting"
        assert state.wait.since == entered[enrollment.pk]
        assert enrollment.next_run_at == state.wait.until == entered[enrollment.pk] + timedelta(days=1)
    logs = list(StepRun.objects.filter(type="migration").values_list("enrollment_id", "node_id", "detail"))
    assert len(logs) == 3 and {log[0] for log in logs} == set(entered)
    assert {log[2]["message"] for log in logs} == {"moved from v1 node d1 to v2 node d1"}
    assert {log[2]["timer"] for log in logs} == {"recomputed"}
    counters = dict(
        WorkflowCounter.objects.filter(version__workflow=workflow, value__gt=0)
        .values_list("version__number", "key")
        .values_list("key", "value")
        .filter(version=v2)
    )
    assert counters == {"enrollments.waiting": 3, "node.d1.waiting": 3}
    v1_waiting = WorkflowCounter.objects.get(
        version__number=1, version__workflow=workflow, key="enrollments.waiting"
    )
    assert v1_waiting.value == 0
    # The recomputed timer is what runs them: one day and a minute later, they are past the delay, in v2.
    run_due(now=max(entered.values()) + timedelta(days=1, minutes=1))
    assert set(Enrollment.objects.filter(workflow=workflow).values_list("current_node_id", "version_id")) == {
        ("w1", v2.pk)
    }


def test_a_recomputed_due_time_already_past_fires(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=2)
    _save_draft(workflow, _v2_nodes(d1={"duration": "PT1S"}), V1_EDGES)
    for enrollment in Enrollment.objects.filter(workflow=workflow):
        enrollment.context["wait"]["since"] = (timezone.now() - timedelta(hours=1)).isoformat()
        enrollment.save(update_fields=["context"])
    plan = _publish(api, workflow, {"from_versions": [1]}).json()  # dry_run is the default
    moves = {m["from_node"]: m for m in plan["moves"]}
    # Entered the wait an hour ago: the new one-second delay is over, the timer fires at once.
    assert moves["d1"]["timers"] == {"kept": 0, "recomputed": 0, "fired": 2}


def test_a_removed_node_with_contacts_and_no_mapping_is_refused_and_nothing_changes(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api)
    nodes = [n for n in _v2_nodes() if n["id"] != "d1"]
    _save_draft(workflow, nodes, WITHOUT_D1)
    before = _snapshot(workflow)
    response = _publish(api, workflow, {"from_versions": [1], "dry_run": False})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "migration_refused"
    refusal = error["details"]["plan"]["refusals"][0]
    assert (refusal["from_node"], refusal["contacts"], refusal["code"]) == ("d1", 3, "unmapped")
    assert "map it to a node of the new version or to 'exit'" in refusal["reason"]
    assert _snapshot(workflow) == before
    assert not WorkflowVersion.objects.filter(workflow=workflow, number=2).exists()
    assert not VersionMigration.objects.exists()


def test_a_removed_node_mapped_to_another_node_moves_its_contacts_there(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=2)
    nodes = [n for n in _v2_nodes() if n["id"] != "d1"] + [node("d9", "delay", {"duration": "P3D"})]
    _save_draft(workflow, nodes, [*chain("t", "d9", "a1", "w1"), *TAIL])
    body = _publish(api, workflow, {"from_versions": [1], "mapping": {"d1": "d9"}, "dry_run": False}).json()
    moves = {m["from_node"]: m for m in body["moves"]}
    assert (moves["d1"]["to_node"], moves["d1"]["mapped"], moves["d1"]["timers"]["kept"]) == ("d9", True, 2)
    for enrollment in Enrollment.objects.filter(workflow=workflow):
        state = EnrollmentState.from_dict(enrollment.context)
        assert (enrollment.current_node_id, state.current_node, state.wait.node_id) == ("d9", "d9", "d9")
        assert state.visits["d9"] == 1
    assert set(StepRun.objects.filter(type="migration").values_list("detail__message", flat=True)) == {
        "moved from v1 node d1 to v2 node d9"
    }


def test_a_node_mapped_to_exit_ends_its_contacts_on_their_version(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=2)
    _save_draft(workflow, _v2_nodes(), V1_EDGES)
    body = _publish(api, workflow, {"from_versions": [1], "mapping": {"d1": "exit"}, "dry_run": False}).json()
    assert body["migration"]["exited"] == 2
    v1 = WorkflowVersion.objects.get(workflow=workflow, number=1)
    assert set(
        Enrollment.objects.filter(workflow=workflow).values_list("status", "version_id", "next_run_at")
    ) == {("exited", v1.pk, None)}
    assert WorkflowCounter.objects.get(version=v1, key="enrollments.exited").value == 2
    assert set(StepRun.objects.filter(type="migration").values_list("detail__message", flat=True)) == {
        "exited from v1 node d1: moved out by the migration to v2"
    }


def test_a_waiting_contact_mapped_to_another_type_fires_its_timer_and_runs_the_new_node(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=1)
    nodes = [n for n in _v2_nodes() if n["id"] != "d1"]
    _save_draft(workflow, nodes, WITHOUT_D1)
    body = _publish(api, workflow, {"from_versions": [1], "mapping": {"d1": "a1"}, "dry_run": False}).json()
    assert {m["from_node"]: m["timers"] for m in body["moves"]}["d1"] == {
        "kept": 0,
        "recomputed": 0,
        "fired": 1,
    }
    enrollment = Enrollment.objects.get(workflow=workflow)
    assert (enrollment.status, enrollment.current_node_id, enrollment.waiting_for) == ("active", "a1", "")
    run_due()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.current_node_id, enrollment.waiting_for) == (
        "waiting",
        "w1",
        "email.opened",
    )
    assert "after-delay" in enrollment.contact.tags


def test_a_changed_event_wait_waits_for_the_new_event_with_the_timeout_from_its_start(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=1)
    Enrollment.objects.filter(workflow=workflow).update(next_run_at=timezone.now() - timedelta(seconds=1))
    run_due(now=timezone.now() + timedelta(days=3, minutes=1))
    enrollment = Enrollment.objects.get(workflow=workflow)
    assert (enrollment.current_node_id, enrollment.waiting_for) == ("w1", "email.opened")
    since = EnrollmentState.from_dict(enrollment.context).wait.since
    _save_draft(workflow, _v2_nodes(w1={"event": "email.clicked", "timeout": "P7D"}), V1_EDGES)
    _publish(api, workflow, {"from_versions": [1], "dry_run": False})
    enrollment.refresh_from_db()
    wait = EnrollmentState.from_dict(enrollment.context).wait
    assert (enrollment.waiting_for, wait.event) == ("email.clicked", "email.clicked")
    assert enrollment.next_run_at == wait.timeout_at == since + timedelta(days=7)


def test_an_enrollment_a_worker_holds_is_not_moved_until_its_step_is_over(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=2)
    held, free = Enrollment.objects.filter(workflow=workflow).order_by("pk")
    Enrollment.objects.filter(pk=held.pk).update(
        lease_owner="worker-1", lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    _save_draft(workflow, _v2_nodes(), V1_EDGES)
    plan = _publish(api, workflow, {"from_versions": [1]}).json()
    assert {m["from_node"]: m["mid_step"] for m in plan["moves"]}["d1"] == 1
    outcome = workflow_publish_migrating(
        workflow=workflow, request=MigrateRequest((1,), {}, dry_run=False), apply_now=False
    )
    job = outcome.migration
    report = migration_apply(migration_id=job.pk, max_wait=0)
    assert (report.moved, report.done, report.waiting_for_steps) == (1, False, 1)
    assert Enrollment.objects.get(pk=held.pk).version.number == 1
    assert Enrollment.objects.get(pk=free.pk).version.number == 2
    # The worker's step ends (its lease is released): the job, resumed, moves it, once.
    Enrollment.objects.filter(pk=held.pk).update(lease_owner="", lease_expires_at=None)
    report = migration_apply(migration_id=job.pk, max_wait=0)
    assert (report.moved, report.done) == (1, True)
    assert Enrollment.objects.get(pk=held.pk).version.number == 2
    assert StepRun.objects.filter(type="migration").count() == 2
    job.refresh_from_db()
    assert (job.status, job.moved, job.total) == ("done", 2, 2)


def test_applying_a_job_again_moves_nobody_twice(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=3)
    _save_draft(workflow, _v2_nodes(), V1_EDGES)
    outcome = workflow_publish_migrating(workflow=workflow, request=MigrateRequest((1,), {}, dry_run=False))
    assert outcome.report.moved == 3
    VersionMigration.objects.filter(pk=outcome.migration.pk).update(status="running")
    again = migration_apply(migration_id=outcome.migration.pk)
    assert (again.moved, again.done) == (0, True)
    assert StepRun.objects.filter(type="migration").count() == 3


@pytest.mark.parametrize(
    ("migrate", "field"),
    [
        ({"from_versions": []}, "migrate.from_versions"),
        ({"from_versions": [7]}, "migrate.from_versions"),
        ({"from_versions": [1], "mapping": {"nope": "a1"}}, "migrate.mapping.nope"),
        ({"from_versions": ["one"]}, "migrate.from_versions[0]"),
        ({"from_versions": [1], "dry_run": "maybe"}, "migrate.dry_run"),
    ],
)
def test_a_malformed_migration_is_refused_with_400_and_nothing_changes(api, workspace, migrate, field):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=1)
    _save_draft(workflow, _v2_nodes(), V1_EDGES)
    before = _snapshot(workflow)
    response = _publish(api, workflow, {**migrate, "dry_run": migrate.get("dry_run", False)})
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert _snapshot(workflow) == before
    assert not WorkflowVersion.objects.filter(workflow=workflow, number=2).exists()


def test_a_mapping_to_a_node_the_new_version_lacks_is_refused(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=1)
    _save_draft(workflow, _v2_nodes(), V1_EDGES)
    response = _publish(api, workflow, {"from_versions": [1], "mapping": {"d1": "zz"}, "dry_run": False})
    assert response.status_code == 422
    refusal = response.json()["error"]["details"]["plan"]["refusals"][0]
    assert (refusal["code"], refusal["from_node"]) == ("bad_target", "d1")
    assert not WorkflowVersion.objects.filter(workflow=workflow, number=2).exists()


def test_publish_without_migrate_answers_as_before(api, workspace):
    workflow = _workflow_with_waiting_contacts(workspace, api, count=1)
    assert api.post(f"/api/v1/workflows/{workflow.pk}/publish").json() == {"version": 2}
    assert Enrollment.objects.get(workflow=workflow).version.number == 1


def test_the_scheduler_hands_a_migration_whose_applier_died_to_a_worker(api, workspace):
    import django_rq
    from rq.worker import SimpleWorker

    from workflows.migration_jobs import stale_migrations_enqueue

    workflow = _workflow_with_waiting_contacts(workspace, api, count=2)
    _save_draft(workflow, _v2_nodes(), V1_EDGES)
    outcome = workflow_publish_migrating(
        workflow=workflow, request=MigrateRequest((1,), {}, dry_run=False), apply_now=False
    )
    VersionMigration.objects.filter(pk=outcome.migration.pk).update(
        lease_owner="dead-host:1", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with TestCase.captureOnCommitCallbacks(execute=True):  # django-rq enqueues on commit
        assert stale_migrations_enqueue() == 1
    queue = django_rq.get_queue("engine")
    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
    job = VersionMigration.objects.get(pk=outcome.migration.pk)
    assert (job.status, job.moved) == ("done", 2)
    assert stale_migrations_enqueue() == 0
