"""The child process of `bench migration` (Django set up against the bench database; figures as JSON lines)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WAITS = [f"d{k}" for k in range(1, 48)]  # 47 delays; with the trigger and two actions, 50 nodes


def say(name: str, value: Any, note: str = "") -> None:
    print(json.dumps({"name": name, "value": value, "note": note}), flush=True)


def _graph(waits: list[str], *, changed: str | None = None) -> dict:
    nodes = [{"id": "t", "type": "trigger_manual", "data": {"config": {}}}]
    nodes += [
        {"id": d, "type": "delay", "data": {"config": {"duration": "P1D" if d == changed else "P3D"}}}
        for d in waits
    ]
    nodes += [
        {"id": "a", "type": "add_tag", "data": {"config": {"tag": "moved"}}},
        {"id": "z", "type": "add_tag", "data": {"config": {"tag": "end"}}},
    ]
    ids = [n["id"] for n in nodes]
    return {
        "nodes": nodes,
        "edges": [
            {"id": f"e{k}", "source": s, "target": t} for k, (s, t) in enumerate(itertools.pairwise(ids))
        ],
    }


def _fleet() -> list[subprocess.Popen]:
    def spawn(*args: str) -> subprocess.Popen:
        log = subprocess.DEVNULL
        if folder := os.environ.get("BENCH_LOG_DIR"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            log = open(Path(folder) / f"migration-{args[0]}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    return [spawn("rqworker", "engine", "--worker-class", "penguinflow.common.workers.Worker") for _ in range(2)] + [
        spawn("run_scheduler", "--interval", "0.05", "--batch-size", "200", "--no-events")
    ]


class ApplierCpu:
    """The CPU seconds of the PostgreSQL backends that applied the chunks (same machine), read after each chunk.

    A figure the machine's other load does not change: the apply's wall time on a shared machine depends on who
    else runs, its database work per enrollment does not."""

    def __init__(self) -> None:
        self.by_backend: dict[int, float] = {}
        self.lock = threading.Lock()
        # A small job (or the last pass of a large one) runs on this thread's connection, which seeded and
        # planned: only what it uses from now on counts. The appliers' threads open connections of their own.
        pid = self._backend_pid()
        self.before = {pid: self._cpu(pid)}

    @staticmethod
    def _backend_pid() -> int:
        from django.db import connection

        connection.ensure_connection()
        return connection.connection.info.backend_pid

    @staticmethod
    def _cpu(pid: int) -> float:
        from bench._support import process_cpu

        return process_cpu(pid)

    def after_chunk(self) -> None:
        pid = self._backend_pid()  # the calling applier thread's own connection
        seconds = self._cpu(pid)
        with self.lock:
            self.by_backend[pid] = max(seconds, self.by_backend.get(pid, 0.0))

    @property
    def seconds(self) -> float:
        return sum(used - self.before.get(pid, 0.0) for pid, used in self.by_backend.items())


def main(count: int) -> None:
    from django.conf import settings
    from django.db.models import Sum

    from bench._migration_seed import seed_live_enrollments
    from bench._support import machine_cpu
    from penguinflow.workspaces.services import workspace_get_or_create
    from workflows.models import StepRun, WorkflowVersion
    from workflows.services import workflow_create, workflow_draft_save, workflow_publish
    from workflows.version_migration import (
        CHUNK,
        MigrateRequest,
        migration_apply,
        workflow_publish_migrating,
    )

    appliers = settings.WORKFLOW_MIGRATION_APPLIERS
    workspace, _ = workspace_get_or_create(slug="bench", name="Bench")
    workflow = workflow_create(workspace=workspace, name="Fifty", graph=_graph(WAITS))
    v1 = workflow_publish(workflow=workflow)
    started = time.perf_counter()
    seed_live_enrollments(
        workspace=workspace,
        workflow_id=workflow.pk,
        version_id=v1.pk,
        count=count,
        wait_nodes=WAITS,
        active_node="a",
    )
    say("seed_s", round(time.perf_counter() - started, 1), f"{count:,} contacts and enrollments, in SQL")
    # v2: d1's delay is one day (recomputed timers), d2 is gone (its contacts go on at d3), d47 goes out.
    waits = [d for d in WAITS if d != "d2"]
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    workflow_draft_save(
        workflow=workflow, graph=_graph(waits, changed="d1"), settings={}, revision=draft.revision
    )
    request = MigrateRequest((1,), {"d2": "d3", "d47": "exit"}, dry_run=True)
    started = time.perf_counter()
    plan = workflow_publish_migrating(workflow=workflow, request=request).plan
    say(
        "plan_s",
        round(time.perf_counter() - started, 2),
        f"{plan.contacts:,} contacts in {len([m for m in plan.moves if m['contacts']])} moves (target < 10 s)",
    )

    steps_before = StepRun.objects.exclude(type="migration").count()
    fleet = _fleet()
    try:
        # The runtime is running once it has run a first step (its processes take seconds to start).
        deadline = time.monotonic() + 120
        while (
            StepRun.objects.exclude(type="migration").count() == steps_before and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        outcome = workflow_publish_migrating(
            workflow=workflow, request=MigrateRequest((1,), request.mapping, False), apply_now=False
        )
        started, busy_before = time.perf_counter(), machine_cpu()
        chunks: list[float] = []
        applier_cpu = ApplierCpu()

        def on_chunk() -> None:
            chunks.append(time.perf_counter())
            applier_cpu.after_chunk()

        report = migration_apply(migration_id=outcome.migration.pk, max_wait=120, on_chunk=on_chunk)
        elapsed, busy_after = time.perf_counter() - started, machine_cpu()
        steps = StepRun.objects.exclude(type="migration").count() - steps_before
    finally:
        for process in fleet:
            process.kill()
            process.wait()
    moved = report.moved + report.exited
    if len(chunks) > 1:
        say(
            "chunk_ms_median",
            round(sorted(b - a for a, b in itertools.pairwise([started, *chunks]))[len(chunks) // 2] * 1000),
            f"between chunk commits ({CHUNK:,} enrollments each, {appliers} connections at once (WORKFLOW_MIGRATION_APPLIERS))",
        )
        say(
            "waiting_for_steps_s",
            round(elapsed - (chunks[-1] - started), 1),
            "the end: leases of enrollments mid-step",
        )
    say("apply_s", round(elapsed, 1), f"{moved:,} moved or exited, done={report.done}")
    say(
        "apply_enrollments_per_s",
        round(moved / elapsed),
        "with the scheduler and 2 workers running (target ≥ 20,000)",
    )
    if moved:
        per_enrollment = applier_cpu.seconds / moved
        say(
            "apply_db_cpu_us_per_enrollment",
            round(per_enrollment * 1e6),
            f"the appliers' PostgreSQL backends; {round(appliers / per_enrollment):,}/s if they had "
            f"{appliers} cores to themselves",
        )
    busy, total = busy_after[0] - busy_before[0], busy_after[1] - busy_before[1]
    if total:
        say(
            "machine_busy_during_apply",
            f"{busy / total:.0%}",
            "of all cores, by every process on the machine",
        )
    say("runtime_steps_during_apply", steps,
        f"steps the runtime ran meanwhile (the due tenth), {steps / elapsed:,.0f}/s")
    logged = StepRun.objects.filter(type="migration").count()
    waiting = outcome.version.counters.filter(key="enrollments.waiting").aggregate(n=Sum("value"))["n"] or 0
    say(
        "check_step_log_rows", logged, f"one per moved enrollment; v2 enrollments.waiting counter {waiting:,}"
    )


if __name__ == "__main__":
    import django

    django.setup()
    main(int(sys.argv[1]))
