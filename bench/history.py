"""Benchmark of the execution history at scale, with the real PostgreSQL and Redis.

`manage.py bench history [--executions N] [--quick]` seeds N executions and 10 x N step runs in SQL
(bench._history_seed) into the scratch database `penguinflow_bench_history`, then prints (nothing asserted):

1. `list_<filter>_p95_ms`: GET /api/v1/executions with each filter alone (through the API, serializers included);
   `search_email_p95_ms`, `search_error_p95_ms`: `q` on part of an email and a word of the error messages.
2. `detail_p95_ms`: GET /api/v1/executions/{id} (ten steps each).
3. `bulk_retry_10k_s`: the bulk retry service on 10,000 failed executions.
4. `export_rows_per_s`, `export_peak_rss_mb`: the CSV export of every execution, in a process of its own (peak RSS of
   that process, interpreter included).
5. `live_p99_ms`: 50 websocket subscribers (uvicorn + channels-redis) on one workflow while 1,000 step changes a
   second commit in batches of 10: from each commit to the message that carries it (coalescing included).
6. `runtime_steps_per_s_live_off` / `_live_on`: the runtime advancing 2,000 enrollments of a 10-step workflow,
   without live updates, then with them and the 50 subscribers connected; `runtime_cpu_ms_per_step_live_off` /
   `_on`: the CPU the runtime's process spent per step in those runs, its publisher thread included. On a small
   machine the wall-clock rate also counts the subscribers and their server taking CPU from the runtime; the CPU
   per step is the runtime's own cost of publishing. `runtime_publisher_cpu_ms_per_step`: the publisher thread's
   share of it, measured alone (two runs' whole-process CPU differ by 10-20 % on a busy machine; this does not).

Environment: BENCH_HISTORY_DB (scratch database name), BENCH_REDIS_DB, BENCH_HISTORY_PORT (the live part's
server), BENCH_HISTORY_TASKS (e.g. `seed_and_query,live` to skip the export; the seed is always needed).

Targets (issue 16, at 1,000,000): list p95 < 100 ms, search p95 < 300 ms, detail < 50 ms, bulk retry 10k < 10 s,
export ≥ 50,000 rows/s and < 200 MB, live p99 < 1 s, runtime within 10 %.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from bench._support import bench_env, drop_database, pg_params, recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_HISTORY_DB", "penguinflow_bench_history")
# The children to run, in order; the live part alone needs the seed before it (`seed_and_query,live`).
TASKS = ("seed_and_query", "export", "live")


def run(*, out: TextIO, quick: bool = False, executions: int | None = None) -> None:
    executions = executions or (20_000 if quick else 1_000_000)
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "12"))
    params = pg_params()
    env = bench_env(params, db_name=DB_NAME, redis_db=redis_db)
    env["LIVE_UPDATES_PUBLISH"] = "thread"
    recreate_migrated(params, DB_NAME, env)
    out.write(f"database  {DB_NAME} (recreated), redis db {redis_db}, cpus {os.cpu_count()}, "
              f"executions {executions:,}\n")
    out.flush()
    try:
        for task in _tasks():
            _child(env, out, task, str(executions))
    finally:
        drop_database(params, DB_NAME)


def _tasks() -> list[str]:
    tasks = os.environ.get("BENCH_HISTORY_TASKS", ",".join(TASKS)).split(",")
    if unknown := set(tasks) - set(TASKS):
        raise ValueError(f"BENCH_HISTORY_TASKS: unknown {sorted(unknown)}; known: {', '.join(TASKS)}")
    return tasks


def _child(env: dict[str, str], out: TextIO, *args: str) -> None:
    process = subprocess.Popen([sys.executable, "-m", "bench._history_tasks", *args], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        figure = json.loads(line)
        out.write(f"{figure['name']}  {figure['value']}{'  ' + figure['note'] if figure.get('note') else ''}\n")
        out.flush()
    if process.wait() != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{process.stderr.read()[-4000:]}")

