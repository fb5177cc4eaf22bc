"""A migration's applier killed with SIGKILL mid-apply: another one resumes it, with no enrollment lost or moved
twice (real processes, the real PostgreSQL)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Sum

from bench._migration_seed import seed_live_enrollments
from tests.chaos import process_env, wait_for
from tests.engine.graphs import chain, node
from tests.workflows.builders import publish
from workflows.models import Enrollment, StepRun, VersionMigration, WorkflowCounter, WorkflowVersion
from workflows.services import workflow_draft_save
from workflows.version_migration import MigrateRequest, migrations_resume, workflow_publish_migrating

ROOT = Path(__file__).resolve().parents[2]
ENROLLMENTS = 20_000
WAITS = ["d0", "d1", "d2", "d3", "d4"]




def _workflow_with_live_contacts(workspace):
    nodes = [
        node("t", "trigger_manual"),
        *(node(d, "delay", {"duration": "P3D"}) for d in WAITS),
        node("a", "add_tag", {"tag": "done"}),
    ]
    workflow = publish(workspace, nodes, chain("t", *WAITS, "a"), name="Crash")
    v1 = WorkflowVersion.objects.get(workflow=workflow, number=1)
    seed_live_enrollments(
        workspace=workspace,
        workflow_id=workflow.pk,
        version_id=v1.pk,
        count=ENROLLMENTS,
        wait_nodes=WAITS,
        active_node="a",
    )
    # v2: d0 waits one day (recomputed timers), d1 is gone (its contacts go on at d2), a is gone (they exit).
    v2_nodes = [
        node("t", "trigger_manual"),
        node("d0", "delay", {"duration": "P1D"}),
        *(node(d, "delay", {"duration": "P3D"}) for d in WAITS[2:]),
    ]
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    workflow_draft_save(
        workflow=workflow,
        graph={"nodes": v2_nodes, "edges": chain("t", "d0", *WAITS[2:])},
        settings={},
        revision=draft.revision,
    )
    return workflow, v1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_applier_killed_mid_apply_is_resumed_without_loss_or_duplication(workspace, tmp_path):
    workflow, v1 = _workflow_with_live_contacts(workspace)
    outcome = workflow_publish_migrating(
        workflow=workflow,
        request=MigrateRequest((1,), {"d1": "d2", "a": "exit"}, dry_run=False),
        apply_now=False,
    )
    job = outcome.migration
    before = dict(
        Enrollment.objects.filter(workflow=workflow).values_list("current_node_id").annotate(n=Count("id"))
    )
    assert job.total == ENROLLMENTS and outcome.plan.contacts == ENROLLMENTS

    log = (tmp_path / "applier.log").open("wb")
    applier = subprocess.Popen(
        [sys.executable, "manage.py", "workflows", "resume", "--chunk", "100", "--lease", "2"],
        cwd=ROOT,
        env=process_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: VersionMigration.objects.get(pk=job.pk).moved >= 1000,
            timeout=120,
            what="the applier to move a first thousand",
        )
        applier.send_signal(signal.SIGKILL)
        applier.wait()
    finally:
        if applier.poll() is None:
            applier.kill()
            applier.wait()
    job.refresh_from_db()
    assert job.status == "running" and 0 < job.moved + job.exited < ENROLLMENTS, (
        tmp_path / "applier.log"
    ).read_text()

    # The dead applier's lease runs out; the next one takes the job over where the last committed chunk ended.
    def resumed() -> bool:
        migrations_resume(lease_seconds=2, max_wait=0)
        return VersionMigration.objects.get(pk=job.pk).status == "done"

    wait_for(resumed, timeout=120, what="the migration to be resumed and finished")
    job.refresh_from_db()
    exiting = before["a"]
    assert (job.moved, job.exited, job.left) == (ENROLLMENTS - exiting, exiting, 0)

    logs = StepRun.objects.filter(type="migration", enrollment__workflow=workflow)
    assert logs.count() == ENROLLMENTS
    assert not logs.values("enrollment_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    v2 = outcome.version
    by_place = dict(
        Enrollment.objects.filter(workflow=workflow)
        .values_list("version__number", "current_node_id")
        .annotate(n=Count("id"))
        .values_list("current_node_id", "n")
        .filter(version=v2)
    )
    assert by_place == {
        "d0": before["d0"],
        "d2": before["d1"] + before["d2"],
        "d3": before["d3"],
        "d4": before["d4"],
    }
    assert Enrollment.objects.filter(workflow=workflow, version=v1, status="exited").count() == exiting
    assert not Enrollment.objects.filter(
        workflow=workflow, version=v1, status__in=["active", "waiting"]
    ).exists()
    # The counters moved with them, each chunk once.
    counters = dict(
        WorkflowCounter.objects.filter(version__workflow=workflow)
        .values_list("version__number", "key")
        .annotate(total=Sum("value"))
        .values_list("key", "total")
        .filter(version=v2)
    )
    assert counters["enrollments.waiting"] == ENROLLMENTS - exiting
    assert counters["node.d2.waiting"] == before["d1"] + before["d2"]
    assert counters["node.d0.waiting"] == before["d0"]
    # d0's timers were recomputed from each contact's entry into the wait: one day, not three.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE next_run_at = (context->'wait'->>'since')::timestamptz + interval '1 day'"
            " AND (context->'wait'->>'until')::timestamptz = next_run_at), count(*) "
            "FROM workflows_enrollment WHERE version_id = %s AND current_node_id = 'd0'",
            [v2.pk],
        )
        assert cursor.fetchone() == (before["d0"], before["d0"])
