"""Benchmark of moving contacts in flight to a new version (issue 21), with the real PostgreSQL and Redis.

`manage.py bench migration [--quick]` seeds N live enrollments (1,000,000; 20,000 with --quick) over a 50-node
workflow in SQL (bench._migration_seed) into the scratch database `penguinflow_bench_migration`, then prints
(nothing asserted):

1. `plan_s`: the migration plan of all N onto a new version in which one delay's duration changed (its timers are
   recomputed), one node was removed (mapped to another) and one is mapped to exit: one grouped count.
2. `apply_enrollments_per_s`: applying that plan to the end (set-based chunks of 20,000), while the runtime runs
   (a scheduler and two workers, which claim and run the tenth of the enrollments that are due now: the
   migration waits for those mid-step); `apply_s`, and `runtime_steps_during_apply`.
3. `apply_db_cpu_us_per_enrollment`: the CPU the appliers' PostgreSQL backends used per enrollment, and the rate
   that makes on as many cores of their own as there are appliers (WORKFLOW_MIGRATION_APPLIERS);
   `machine_busy_during_apply`. On a shared machine the wall-time rate
   follows the other load; this figure does not.

Targets (issue 21): plan < 10 s; apply ≥ 20,000 enrollments/s with the runtime running.
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
# A helper of its own may name another scratch database, so that two runs at once do not drop each other's.
DB_NAME = os.environ.get("BENCH_MIGRATION_DB", "penguinflow_bench_migration")


def run(*, out: TextIO, quick: bool = False) -> None:
    count = 20_000 if quick else 1_000_000
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "13"))
    params = pg_params()
    env = bench_env(params, db_name=DB_NAME, redis_db=redis_db)
    recreate_migrated(params, DB_NAME, env)
    out.write(
        f"database  {DB_NAME} (recreated), redis db {redis_db}, cpus {os.cpu_count()}, "
        f"live enrollments {count:,}, nodes 50\n"
    )
    out.flush()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench._migration_tasks", str(count)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            figure = json.loads(line)
            out.write(
                f"{figure['name']}  {figure['value']}{'  ' + figure['note'] if figure.get('note') else ''}\n"
            )
            out.flush()
        if process.wait() != 0:
            raise RuntimeError(f"bench migration failed:\n{process.stderr.read()[-4000:]}")
    finally:
        drop_database(params, DB_NAME)
