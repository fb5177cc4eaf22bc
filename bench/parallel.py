"""Benchmark of parallel branches in the durable runtime: a 3-branch parallel + merge workflow against the same
steps in a line, each run by the scheduler and 2 non-forking RQ workers from enrollment to completion.

Figures (one per line; nothing is asserted):

1. `line_steps_per_s`: t → six contact steps → a last tag, in a line (8 step runs per enrollment).
2. `parallel_steps_per_s`: t → parallel {a, b, c} (two of the same steps each) → merge (all) → the last tag:
   every step run counted (the parallel, the branches' steps, their arrivals at the merge and the merge: 13 per
   enrollment), and `parallel_same_steps_per_s` counting only the 8 steps the line has, which is the work done.
3. `parallel_over_line`: both ratios (the issue's goal: at least 0.5).

The bench (re)creates the database BENCH_PARALLEL_DB (default `penguinflow_bench_parallel`) and uses Redis
database BENCH_REDIS_DB (default 13); `--quick` runs fewer enrollments.
"""

from __future__ import annotations

import json
import os
import sys
import time
from itertools import pairwise
from typing import Any, TextIO

from bench._support import bench_env, drop_database, pg_params, recreate_migrated
from bench.runtime import ROOT, _contacts, _enroll, _setup_workspace, _spawn, _stop, _wait_done

DB_NAME = os.environ.get("BENCH_PARALLEL_DB", "penguinflow_bench_parallel")
# The six steps both workflows run, two per branch in the parallel one.
BRANCHES = {
    "a": [("a1", "add_tag", {"tag": "bench"}), ("a2", "update_score", {"delta": 1})],
    "b": [("b1", "update_field", {"field": "stage", "value": "engaged"}),
          ("b2", "condition", {"rule": {">=": [{"var": "contact.score"}, 0]}})],
    "c": [("c1", "add_tag", {"tag": "seen"}), ("c2", "remove_tag", {"tag": "bench-old"})],
}  # fmt: skip
LAST = ("z", "add_tag", {"tag": "done"})


def _node(node_id: str, type_: str, config: dict[str, Any], y: int) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "position": {"x": 0, "y": y}, "data": {"config": config}}


def _edge(source: str, target: str, branch: str = "default") -> dict[str, Any]:
    return {"id": f"{source}-{branch}-{target}", "source": source, "target": target, "sourceHandle": branch}


def _exit_branch(node_id: str) -> str:
    return "yes" if node_id == "b2" else "default"


def line_graph() -> dict[str, Any]:
    steps = [("t", "trigger_manual", {}), *(step for branch in BRANCHES.values() for step in branch), LAST]
    nodes = [_node(n, t, c, i * 100) for i, (n, t, c) in enumerate(steps)]
    edges = [_edge(a[0], b[0], _exit_branch(a[0])) for a, b in pairwise(steps)]
    return {"nodes": nodes, "edges": edges}


def parallel_graph() -> dict[str, Any]:
    nodes = [_node("t", "trigger_manual", {}, 0),
             _node("p", "parallel", {"branches": [{"id": key} for key in BRANCHES]}, 100),
             _node("m", "merge", {"mode": "all"}, 400), _node(*LAST, 500)]  # fmt: skip
    edges = [_edge("t", "p"), _edge("m", "z")]
    for key, steps in BRANCHES.items():
        nodes += [_node(n, t, c, 200 + 100 * i) for i, (n, t, c) in enumerate(steps)]
        edges += [_edge("p", steps[0][0], key), _edge(steps[0][0], steps[1][0], _exit_branch(steps[0][0])),
                  _edge(steps[1][0], "m", _exit_branch(steps[1][0]))]  # fmt: skip
    return {"nodes": nodes, "edges": edges}


# --- child entry points (Django set up against the bench database) -------------------------------------------------


def child_prepare(shape: str, enrollments: int) -> None:
    """Publish the workflow of ``shape`` (line or parallel) and enroll that many new contacts in it."""
    from workflows.services import workflow_create, workflow_publish

    workspace = _setup_workspace()
    graph = line_graph() if shape == "line" else parallel_graph()
    workflow = workflow_create(workspace=workspace, name=f"Bench {shape}", graph=graph, settings={})
    workflow_publish(workflow=workflow)
    workflow.refresh_from_db()
    ids = _contacts(workspace, enrollments, f"{shape}{int(time.time())}-")
    started = _enroll(workflow, ids)
    print(json.dumps({"workflow": str(workflow.pk), "enrolled": len(started)}))


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "bench.parallel", *args], env=env, cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the orchestration --------------------------------------------------------------------------------------------


def _rate(env: dict[str, str], shape: str, enrollments: int) -> tuple[float, int, float]:
    """Return (step runs per second, step runs, seconds) of ``enrollments`` enrollments of ``shape``, from the
    first step to the last, with a fresh fleet (2 workers and the scheduler)."""
    processes = [_spawn(env, "rqworker", "engine", "--worker-class", "penguinflow.common.workers.Worker") for _ in range(2)]
    processes.append(_spawn(env, "run_scheduler", "--interval", "0.05", "--batch-size", "200"))
    try:
        time.sleep(3)
        prepared = _child(env, "prepare", shape, str(enrollments))
        window, steps = _wait_done(env, prepared["workflow"], enrollments, timeout=900)
    finally:
        _stop(processes)
    return steps / max(window, 0.001), steps, window


def run(*, out: TextIO, quick: bool = False) -> None:
    import redis

    enrollments = 2_000 if quick else 10_000
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "13"))
    params = pg_params()
    env = bench_env(params, db_name=DB_NAME, redis_db=redis_db)

    def say(name: str, value: Any) -> None:
        out.write(f"{name}  {value}\n")
        out.flush()

    recreate_migrated(params, DB_NAME, env)
    redis.Redis(db=redis_db).flushdb()
    say("database", f"{DB_NAME} (recreated), redis db {redis_db}, cpus {os.cpu_count()}, load {os.getloadavg()}")
    line, line_steps, line_window = _rate(env, "line", enrollments)
    say("line_steps_per_s", f"{line:.0f}  ({line_steps} steps in {line_window:.1f} s, {enrollments} enrollments)")
    fork, fork_steps, fork_window = _rate(env, "parallel", enrollments)
    same = 8 * enrollments / max(fork_window, 0.001)
    say("parallel_steps_per_s", f"{fork:.0f}  ({fork_steps} step runs in {fork_window:.1f} s)")
    say("parallel_same_steps_per_s", f"{same:.0f}  (the line's 8 steps per enrollment)")
    say("parallel_over_line", f"{fork / line:.2f} (all step runs), {same / line:.2f} (same steps); "
        f"load {os.getloadavg()}")  # fmt: skip
    drop_database(params, DB_NAME)


if __name__ == "__main__":
    import django

    django.setup()
    _CHILDREN = {"prepare": lambda a: child_prepare(a[0], int(a[1]))}
    _CHILDREN[sys.argv[1]](sys.argv[2:])
