"""Benchmark of the webhook action through the durable runtime, with the real PostgreSQL, Redis, 2 worker processes
and a local receiver.

Figures (one per line; nothing is asserted):

1. `webhook_action.delivered_per_s`: N enrollments through a workflow whose one action is a signed webhook (Liquid in
   the body), run by the scheduler and 2 non-forking RQ workers, counted at the receiver from its first request
   to its last.
2. `webhook_action.step_to_request_p50_ms` / `_p99_ms`: from the step's start (its batch's clock, as the step log
   records it) to the request arriving at the receiver. A batch sends its webhooks one after the other, so the
   last of a batch waits for the others.

The receiver is an asyncio server in a thread of this process (HTTP/1.1 with keep-alive, as a batch's calls
share a connection); it answers 200 at once. The bench (re)creates the database `penguinflow_bench_webhook_action` and
uses Redis database BENCH_REDIS_DB (default 13). `--quick` shrinks N for a smoke run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from bench import runtime as runtime_bench
from bench._receiver import Receiver
from bench._support import bench_env, drop_database, pg_params, recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "penguinflow_bench_webhook_action"
CONTACTS_FILE = Path("/tmp/pf-bench-webhook-contacts.json")
# The scheduler's default: a batch sends its webhooks one after another, so its size bounds the last one's wait.
BATCH_SIZE = 100


# --- child entry points (Django set up against the bench database) -------------------------------------------------


def child_prepare(enrollments: int, port: int) -> None:
    """Create the workspace's signing secret, the webhook workflow and its contacts (not yet enrolled); port 0:
    the same workflow with add_tag in the webhook's place (the runtime's own cost, for comparison)."""
    from penguinflow.workspaces.services import signing_secret_rotate

    workspace = runtime_bench._setup_workspace()
    signing_secret_rotate(workspace=workspace)
    action = ("h", "webhook", {"url": f"http://127.0.0.1:{port}/hook?c={{{{ contact.email | url_encode }}}}",
                               "headers": {"X-Bench": "1"},
                               "body": {"enrollment": "{{ enrollment.id }}", "email": "{{ contact.email }}",
                                        "score": "{{ contact.score }}"}})
    if not port:
        action = ("h", "add_tag", {"tag": "baseline"})
    workflow = runtime_bench._publish(workspace, f"Webhook {port}", [("t", "trigger_manual", {}), action])
    ids = runtime_bench._contacts(workspace, enrollments, f"h{int(time.time())}-")
    CONTACTS_FILE.write_text(json.dumps([str(i) for i in ids]))
    print(json.dumps({"workflow": str(workflow.pk)}))


def child_enroll(workflow_id: str) -> None:
    from workflows.models import Workflow

    started = runtime_bench._enroll(Workflow.objects.get(pk=workflow_id), json.loads(CONTACTS_FILE.read_text()))
    print(json.dumps({"enrolled": len(started)}))


def _step_starts(workflow_id: str) -> dict[str, float]:
    """Each enrollment's webhook step start (epoch seconds), read with plain psycopg."""
    import psycopg

    with psycopg.connect(**pg_params(), dbname=DB_NAME, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT s.enrollment_id, s.started_at FROM workflows_steprun s JOIN workflows_enrollment e "
            "ON e.id = s.enrollment_id WHERE e.workflow_id = %s AND s.node_id = 'h' AND s.attempt = 1",
            [workflow_id]).fetchall()
    return {str(enrollment): started.timestamp() for enrollment, started in rows}


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "bench.webhook_action", *args], env=env, cwd=ROOT, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(*, out: TextIO, quick: bool = False) -> None:
    import redis

    enrollments = 1_000 if quick else 10_000
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "13"))
    params = pg_params()
    env = bench_env(params, db_name=DB_NAME, redis_db=redis_db)
    env["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"

    def say(name: str, value: Any) -> None:
        out.write(f"{name}  {value}\n")
        out.flush()

    recreate_migrated(params, DB_NAME, env)
    redis.Redis(db=redis_db).flushdb()
    say("database", f"{DB_NAME} (recreated), redis db {redis_db}, cpus {os.cpu_count()}, batch size {BATCH_SIZE}")

    receiver = Receiver(lambda body: body["enrollment"])
    receiver.start()
    processes = [runtime_bench._spawn(env, "rqworker", "engine", "--worker-class", "penguinflow.common.workers.Worker")
                 for _ in range(2)]
    processes.append(runtime_bench._spawn(env, "run_scheduler", "--interval", "0.05", "--batch-size", str(BATCH_SIZE)))
    try:
        prepared = _child(env, "prepare", str(enrollments), str(receiver.port))
        time.sleep(3)  # the workers and the scheduler start
        _child(env, "enroll", prepared["workflow"])
        runtime_bench._wait_done(env, prepared["workflow"], enrollments, timeout=900)
    finally:
        runtime_bench._stop(processes)
        receiver.stop()

    processes = [runtime_bench._spawn(env, "rqworker", "engine", "--worker-class", "penguinflow.common.workers.Worker")
                 for _ in range(2)]
    processes.append(runtime_bench._spawn(env, "run_scheduler", "--interval", "0.05", "--batch-size", str(BATCH_SIZE)))
    try:
        baseline = _child(env, "prepare", str(enrollments), "0")
        time.sleep(3)
        _child(env, "enroll", baseline["workflow"])
        window, _ = runtime_bench._wait_done(env, baseline["workflow"], enrollments, timeout=900)
    finally:
        runtime_bench._stop(processes)
    say("webhook_action.baseline_add_tag_enrollments_per_s", f"{enrollments / max(window, 0.001):.0f}  (the same "
        "workflow with add_tag in the webhook's place: what the runtime costs without the call)")

    arrivals = dict(receiver.arrived)
    times = sorted(arrivals.values())
    window = times[-1] - times[0] if len(times) > 1 else 0.0
    say("webhook_action.delivered_per_s", f"{len(times) / max(window, 0.001):.0f}  ({len(times)} webhooks in "
                                    f"{window:.1f} s, 2 workers)")
    starts = _step_starts(prepared["workflow"])
    delays = sorted((arrivals[e] - starts[e]) * 1000 for e in arrivals if e in starts)
    if delays:
        def at(q: float) -> float:
            return delays[min(len(delays) - 1, int(q * len(delays)))]

        say("webhook_action.step_to_request_p50_ms", f"{at(0.5):.0f}")
        say("webhook_action.step_to_request_p99_ms", f"{at(0.99):.0f}  (max {delays[-1]:.0f})")
    drop_database(params, DB_NAME)


_CHILDREN = {
    "prepare": lambda a: child_prepare(int(a[0]), int(a[1])),
    "enroll": lambda a: child_enroll(a[0]),
}

if __name__ == "__main__":
    import django

    django.setup()
    _CHILDREN[sys.argv[1]](sys.argv[2:])
