"""Benchmark of the durable runtime with the real PostgreSQL, Redis and 2 worker processes.

Figures (one per line; nothing is asserted):

1. `steps_per_s_batched`: a 10-step workflow without waits (logic and contact actions), N enrollments, run by the
   scheduler and 2 non-forking RQ workers (batches, one job per batch) from enrollment to completion.
2. `steps_per_s_naive`: the same workflow the naive way, one RQ job per step on RQ's forking worker (2 of them),
   each step loading and saving its enrollment: the ratio is what batching buys.
3. `claim_ms_with_10k_waiting` / `claim_ms_with_1m_waiting`: the time of one due-claim (100 enrollments) while
   10,000 or 1,000,000 enrollments wait for later (quick mode: 100,000 for the second).
4. `steps_per_s_with_100k_active_over_1000_workflows`: figure 1 again while 100,000 live enrollments spread over
   1,000 active workflows wait (the "held without degradation" check).
5. `overshoot_ms_p50/p99`: from each enrollment's due time (a 5-second delay) to the step that ran it.

The bench (re)creates the database `penguinflow_bench_runtime` and uses Redis database BENCH_REDIS_DB (default
13); the configured development database is never touched. `--quick` shrinks every size for a smoke run.
BENCH_LOG_DIR keeps the output of the scheduler and worker processes there.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any, TextIO

from bench._support import bench_env, drop_database, pg_params, recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "penguinflow_bench_runtime"
# The naive comparison runs on the "default" queue (nothing else uses it in the bench's Redis database).
NAIVE_QUEUE = "default"



def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "bench.runtime", *args], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen:
    """Start `manage.py *args`; its output goes to BENCH_LOG_DIR/<command>-<n>.log when that is set."""
    output: Any = subprocess.DEVNULL
    if log_dir := os.environ.get("BENCH_LOG_DIR"):
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        output = open(Path(log_dir) / f"{args[0]}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, "manage.py", *args], env=env, cwd=ROOT, stdout=output,
                            stderr=subprocess.STDOUT if output is not subprocess.DEVNULL else subprocess.DEVNULL)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# --- child entry points (Django set up against the bench database) -------------------------------------------------

TEN_STEPS = [
    ("t", "trigger_manual", {}),
    ("a1", "add_tag", {"tag": "bench"}),
    ("c1", "condition", {"rule": {">=": [{"var": "contact.score"}, 0]}}),
    ("s1", "update_score", {"delta": 1}),
    ("w1", "switch", {"cases": [{"id": "vip", "label": "VIP", "rule": {"in": ["vip", {"var": "contact.tags"}]}}]}),
    ("f1", "update_field", {"field": "stage", "value": "engaged"}),
    ("p1", "split", {"variants": [{"id": "A", "weight": 1}, {"id": "B", "weight": 1}]}),
    ("r1", "remove_tag", {"tag": "bench"}),
    ("c2", "condition", {"rule": {"in": ["bench", {"var": "contact.tags"}]}}),
    ("a2", "add_tag", {"tag": "done"}),
]


def _graph(steps) -> dict:
    nodes = [{"id": n, "type": t, "position": {"x": 0, "y": i * 100}, "data": {"config": c}}
             for i, (n, t, c) in enumerate(steps)]
    edges = []
    branches = {"c1": "yes", "w1": "default", "p1": None, "c2": "no"}
    for (source, _, _), (target, _, _) in pairwise(steps):
        if source == "p1":
            edges += [{"id": f"{source}-{v}", "source": source, "target": target, "sourceHandle": v} for v in "AB"]
        elif source == "w1":
            edges += [{"id": f"{source}-{v}", "source": source, "target": target, "sourceHandle": v}
                      for v in ("vip", "default")]
        else:
            edges.append({"id": f"{source}-{target}", "source": source, "target": target,
                          "sourceHandle": branches.get(source) or "default"})
    return {"nodes": nodes, "edges": edges}


def _setup_workspace():
    from penguinflow.workspaces.services import workspace_get_or_create

    workspace, _ = workspace_get_or_create(slug="bench", name="Bench")
    return workspace


def _contacts(workspace, count: int, prefix: str) -> list:
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, workspace_id, created_at, updated_at, email, first_name, last_name,
                timezone, status, score, fields, tags, external_id)
            SELECT gen_random_uuid(), %s, %s, %s, %s || n || '@bench.test', '', '', '', 'subscribed', n %% 100,
                '{}'::jsonb, CASE WHEN n %% 4 = 0 THEN '{vip}'::varchar[] ELSE '{}'::varchar[] END, NULL
            FROM generate_series(1, %s) AS n RETURNING id
            """,
            [workspace.id, now, now, prefix, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _publish(workspace, name: str, steps) -> Any:
    from workflows.services import workflow_create, workflow_publish

    workflow = workflow_create(workspace=workspace, name=name, graph=_graph(steps),
                               settings={"reenrollment": {"mode": "always"}})
    workflow_publish(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def _enroll(workflow, contact_ids) -> list:
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    version = published_version_of(workflow)
    started = []
    for start in range(0, len(contact_ids), 2000):
        started += enrollments_start(version=version, entries=[
            Entry(contact_id=c, trigger_node_id="t") for c in contact_ids[start:start + 2000]
        ]).started
    return started


def child_prepare(enrollments: int) -> None:
    """Create the throughput workflow and its contacts (not yet enrolled)."""
    workspace = _setup_workspace()
    workflow = _publish(workspace, "Ten steps", TEN_STEPS)
    ids = _contacts(workspace, enrollments, f"t{int(time.time())}-")
    Path("/tmp/pf-bench-contacts.json").write_text(json.dumps([str(i) for i in ids]))
    print(json.dumps({"workflow": str(workflow.pk)}))


def child_enroll(workflow_id: str) -> None:
    from workflows.models import Workflow

    ids = json.loads(Path("/tmp/pf-bench-contacts.json").read_text())
    started = _enroll(Workflow.objects.get(pk=workflow_id), ids)
    print(json.dumps({"enrolled": len(started)}))


def child_waiting(total: int, workflows: int) -> None:
    """Add `total` waiting enrollments (due in a day) spread over `workflows` new active workflows, in SQL."""
    from django.db import connection
    from django.utils import timezone

    workspace = _setup_workspace()
    made = [_publish(workspace, f"Background {n}", [("t", "trigger_manual", {}),
                                                    ("d", "delay", {"duration": "P1D"})]) for n in range(workflows)]
    versions = [(str(w.pk), str(w.versions.get(number=1).pk)) for w in made]
    now = timezone.now()
    contacts = _contacts(workspace, min(total, 100_000), f"w{int(time.time())}-")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_versions (n int, workflow_id uuid, version_id uuid)")
        cursor.executemany("INSERT INTO bench_versions VALUES (%s, %s, %s)",
                           [(n, w, v) for n, (w, v) in enumerate(versions)])
        cursor.execute("CREATE TEMP TABLE bench_contacts (n int, id uuid)")
        cursor.executemany("INSERT INTO bench_contacts VALUES (%s, %s)", list(enumerate(contacts)))
        cursor.execute(
            """
            INSERT INTO workflows_enrollment (id, workspace_id, created_at, updated_at, workflow_id, version_id,
                contact_id, status, current_node_id, entered_at, next_run_at, lease_owner, step_count, context,
                trigger_node_id, waiting_for, entry_key, goal)
            SELECT gen_random_uuid(), %s, %s, %s, v.workflow_id, v.version_id, c.id, 'waiting', 'd', %s,
                   %s + (s.n %% 86400) * interval '1 second', '', 1, '{}'::jsonb, 't', '', 'bench-' || s.n, ''
            FROM generate_series(0, %s - 1) AS s(n)
            JOIN bench_versions v ON v.n = s.n %% %s
            JOIN bench_contacts c ON c.n = (s.n / %s) %% %s
            """,
            [workspace.id, now, now, now, now + __import__("datetime").timedelta(days=1), total, len(versions),
             len(versions), len(contacts)],
        )
        cursor.execute("ANALYZE workflows_enrollment")
    print(json.dumps({"waiting": total, "workflows": workflows}))


def child_claim_timing(rounds: int) -> None:
    """Time the due-claim (100 due enrollments among the waiting ones); each claim is rolled back."""
    from django.db import transaction

    from workflows.scheduler import enrollments_claim_due

    workspace = _setup_workspace()
    workflow = _publish(workspace, f"Due {time.time()}", [("t", "trigger_manual", {}), ("a", "add_tag", {"tag": "x"})])
    _enroll(workflow, _contacts(workspace, 200, f"d{int(time.time())}-"))
    timings = []
    for _ in range(rounds):
        with transaction.atomic():
            start = time.perf_counter()
            claimed = enrollments_claim_due(limit=100, owner="bench")
            timings.append(time.perf_counter() - start)
            assert len(claimed) == 100
            transaction.set_rollback(True)
    timings.sort()
    print(json.dumps({"median_ms": statistics.median(timings) * 1000}))


def child_overshoot_prepare(count: int) -> None:
    workspace = _setup_workspace()
    workflow = _publish(workspace, "Overshoot", [("t", "trigger_manual", {}), ("d", "delay", {"duration": "PT5S"}),
                                                 ("a", "add_tag", {"tag": "woke"})])
    ids = _contacts(workspace, count, f"o{int(time.time())}-")
    _enroll(workflow, ids)
    print(json.dumps({"workflow": str(workflow.pk)}))


def child_overshoot_measure(workflow_id: str) -> None:
    from workflows.models import StepRun

    waits = dict(StepRun.objects.filter(enrollment__workflow_id=workflow_id, node_id="d", status="waiting")
                 .values_list("enrollment_id", "started_at"))
    resumed = dict(StepRun.objects.filter(enrollment__workflow_id=workflow_id, node_id="d", status="succeeded")
                   .values_list("enrollment_id", "started_at"))
    overshoot = sorted((resumed[e] - waits[e]).total_seconds() - 5 for e in resumed if e in waits)
    if not overshoot:
        print(json.dumps({"count": 0}))
        return
    p = lambda q: overshoot[min(len(overshoot) - 1, int(q * len(overshoot)))] * 1000  # noqa: E731
    print(json.dumps({"count": len(overshoot), "p50_ms": p(0.5), "p99_ms": p(0.99), "max_ms": overshoot[-1] * 1000}))


# --- the naive way: one RQ job per step, forking worker ------------------------------------------------------------


def naive_step(enrollment_id: str) -> None:
    """Run ONE step of an enrollment (load, step, save, enqueue the next): the design the runtime avoids."""
    import django_rq
    from django.db import transaction
    from django.utils import timezone

    from contacts.selectors import contact_as_data
    from workflows.engine.state import EnrollmentState
    from workflows.live_ports import ContactBook, live_ports
    from workflows.live_versions import versions_load
    from workflows.models import Enrollment
    from workflows.step_log import step_runs_insert

    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().select_related("workflow__workspace").get(pk=enrollment_id)
        version = versions_load([enrollment.version_id])[enrollment.version_id]
        book = ContactBook.lock([enrollment.contact_id])
        state = EnrollmentState.from_dict(enrollment.context)
        from workflows.engine.runner import run_enrollment

        result = run_enrollment(
            graph=version.graph, settings=version.settings, state=state,
            contact=contact_as_data(book.contacts[str(enrollment.contact_id)]),
            ports=live_ports(book=book, origin=version.origin, workspace=enrollment.workflow.workspace, pending=[],
                             activity=None),
            clock=timezone.now, max_steps=state.step_count + 1,
        )
        record = result.records[:1]
        step_runs_insert([(enrollment.pk, r) for r in record])
        done = result.state.step_count >= len(TEN_STEPS) or result.state.status == "completed"
        enrollment.status = "completed" if done else "active"
        state.step_count += 1
        state.current_node = result.state.current_node if not done else state.current_node
        enrollment.context = state.to_dict()
        enrollment.save(update_fields=["status", "context", "updated_at"])
        book.flush()
    if not done:
        django_rq.get_queue(NAIVE_QUEUE).enqueue("bench.runtime.naive_step", enrollment_id, result_ttl=0)


def child_naive(workflow_id: str) -> None:
    import django_rq

    from workflows.models import Enrollment

    queue = django_rq.get_queue(NAIVE_QUEUE)
    ids = list(Enrollment.objects.filter(workflow_id=workflow_id).values_list("pk", flat=True))
    for enrollment_id in ids:
        queue.enqueue("bench.runtime.naive_step", str(enrollment_id), result_ttl=0)
    print(json.dumps({"enqueued": len(ids)}))


# --- the orchestration --------------------------------------------------------------------------------------------


def _progress(env: dict[str, str], workflow_id: str) -> tuple[int, int, float]:
    """Return (completed enrollments, step runs, seconds from the first step to the last) of a workflow.

    Read with plain psycopg: polling through a Django child process per look would itself load the CPU.
    """
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        completed = conn.execute(
            "SELECT count(*) FROM workflows_enrollment WHERE workflow_id = %s AND status = 'completed'",
            [workflow_id]).fetchone()[0]
        steps, first, last = conn.execute(
            "SELECT count(*), min(s.started_at), max(s.started_at) FROM workflows_steprun s "
            "JOIN workflows_enrollment e ON e.id = s.enrollment_id WHERE e.workflow_id = %s", [workflow_id]
        ).fetchone()
    return completed, steps, (last - first).total_seconds() if first and last else 0.0


def _wait_done(env, workflow_id: str, expected: int, timeout: float) -> tuple[float, int]:
    """Wait until `expected` enrollments completed; return (seconds from first to last step, step runs)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        completed, steps, window = _progress(env, workflow_id)
        if completed >= expected:
            return window, steps
        time.sleep(1)
    raise RuntimeError(f"not done after {timeout}s: {completed} of {expected} completed")


def _throughput(env, enrollments: int) -> tuple[float, int]:
    """Return steps/s over the execution window (first step to last step) of `enrollments` enrollments."""
    prepared = _child(env, "prepare", str(enrollments))
    _child(env, "enroll", prepared["workflow"])
    window, steps = _wait_done(env, prepared["workflow"], enrollments, timeout=900)
    return steps / max(window, 0.001), steps


def run(*, out: TextIO, quick: bool = False) -> None:
    import redis

    enrollments = 2_000 if quick else 20_000
    naive_enrollments = 100 if quick else 400
    big_waiting = 100_000 if quick else 1_000_000
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "13"))
    params = pg_params()
    env = bench_env(params, db_name=DB_NAME, redis_db=redis_db)

    def say(name: str, value: Any) -> None:
        out.write(f"{name}  {value}\n")
        out.flush()

    recreate_migrated(params, DB_NAME, env)
    redis.Redis(db=redis_db).flushdb()
    say("database", f"{DB_NAME} (recreated), redis db {redis_db}, cpus {os.cpu_count()}")

    def fleet() -> list[subprocess.Popen]:
        started = [_spawn(env, "rqworker", "engine", "--worker-class", "penguinflow.common.workers.Worker") for _ in range(2)]
        started.append(_spawn(env, "run_scheduler", "--interval", "0.05", "--batch-size", "200"))
        time.sleep(3)
        return started

    processes = fleet()
    try:
        rate, steps = _throughput(env, enrollments)
        say("steps_per_s_batched", f"{rate:.0f}  ({steps} steps, {enrollments} enrollments x 10 steps, 2 workers)")
    finally:
        _stop(processes)

    # The due-claim alone (no scheduler running, so the due rows stay due), with few and with many waiting.
    for waiting in (10_000, big_waiting):
        extra = waiting - (0 if waiting == 10_000 else 10_000)
        # One live enrollment per (workflow, contact): spread over enough workflows for 100,000 contacts.
        _child(env, "waiting", str(extra), str(max(1, -(-extra // 100_000))))
        timing = _child(env, "claim", "15")
        say(f"claim_ms_with_{waiting // 1000}k_waiting", f"{timing['median_ms']:.2f}")

    processes = fleet()
    try:
        # Live enrollments across many active workflows, then the throughput again.
        active, spread = (20_000, 200) if quick else (100_000, 1_000)
        _child(env, "waiting", str(active), str(spread))
        rate_loaded, _ = _throughput(env, enrollments)
        say(f"steps_per_s_with_{active // 1000}k_more_waiting_over_{spread}_workflows",
            f"{rate_loaded:.0f}  ({rate_loaded / rate:.2f} of steps_per_s_batched; the claim phase's "
            f"{big_waiting // 1000}k waiting are still in the table)")

        count = 1000 if quick else 5000
        prepared = _child(env, "overshoot_prepare", str(count))
        time.sleep(8)
        _wait_done(env, prepared["workflow"], count, timeout=300)
        overshoot = _child(env, "overshoot_measure", prepared["workflow"])
        say("overshoot_ms_p50", f"{overshoot.get('p50_ms', 0):.0f}  ({count} enrollments due over ~1 s)")
        say("overshoot_ms_p99", f"{overshoot.get('p99_ms', 0):.0f}  (max {overshoot.get('max_ms', 0):.0f})")
    finally:
        _stop(processes)

    # The naive way: forking workers, one job per step.
    prepared = _child(env, "prepare", str(naive_enrollments))
    naive_workers = [_spawn(env, "rqworker", NAIVE_QUEUE) for _ in range(2)]
    try:
        _child(env, "enroll_idle", prepared["workflow"])
        began = time.monotonic()
        _child(env, "naive", prepared["workflow"])
        # Measured over a fixed window (the naive way may not finish a large run in reasonable time).
        window = 20 if quick else 60
        time.sleep(window)
        steps = _progress(env, prepared["workflow"])[1]
        naive_rate = steps / (time.monotonic() - began)
        say("steps_per_s_naive", f"{naive_rate:.0f}  ({steps} steps in {window} s; one job per step, forking x2)")
        say("batched_over_naive", f"{rate / naive_rate:.1f}x")
    finally:
        _stop(naive_workers)
    drop_database(params, DB_NAME)


def child_enroll_idle(workflow_id: str) -> None:
    """Enroll for the naive run without leaving the rows due for a scheduler (none runs then anyway)."""
    child_enroll(workflow_id)


_CHILDREN = {
    "prepare": lambda a: child_prepare(int(a[0])),
    "enroll": lambda a: child_enroll(a[0]),
    "enroll_idle": lambda a: child_enroll_idle(a[0]),
    "waiting": lambda a: child_waiting(int(a[0]), int(a[1])),
    "claim": lambda a: child_claim_timing(int(a[0])),
    "overshoot_prepare": lambda a: child_overshoot_prepare(int(a[0])),
    "overshoot_measure": lambda a: child_overshoot_measure(a[0]),
    "naive": lambda a: child_naive(a[0]),
}

if __name__ == "__main__":
    import django

    django.setup()
    _CHILDREN[sys.argv[1]](sys.argv[2:])
