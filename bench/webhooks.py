"""`manage.py bench webhooks` (the scenario issue 17 names): outbound webhook subscriptions, fan-out from stored
events to many subscriptions, delivered by 2 worker processes to a local server, with one endpoint that hangs.

Set-up: W workspaces with 10 subscriptions each (1,000 subscriptions at full size), each subscription to one of
10 event types, so every event matches exactly one subscription. One of them points at an endpoint that reads the
request and answers only after 30 s; the others at a server that answers 200 at once (asyncio, HTTP/1.1
keep-alive, in a thread of this process). Events are written straight into the event log at RATE events/s (a
multi-row INSERT every 100 ms, as ingestion writes them), so the figures are the fan-out's and not the ingestion
API's. `run_scheduler` (the events and webhooks dispatchers) and 2 non-forking RQ workers on the `events` and
`webhooks` queues do the rest: event processing fans out in its batch transaction, the dispatcher claims
deliveries, the workers send them.

Figures (one per line; nothing is asserted):

1. `fanout.events_per_s`: events written per second (the offered load).
2. `fanout.deliveries_per_s`: deliveries received by the fast server, from its first to its last.
3. `fanout.event_to_delivery_p50_ms` / `_p99_ms`: from the event's `received_at` to its arrival at the fast
   server, over every event but the hanging endpoint's.
4. `fanout.cpu_ms_per_delivery`: CPU time the workers and the scheduler spent per delivery (PostgreSQL's not
   counted), and how busy the whole machine was: on a shared machine, what a delivery costs says more than the rate.
5. `fanout.hanging_endpoint`: requests the hanging endpoint received, and what its deliveries were left at:
   the proof that it costs only its own deliveries is figure 3 measured while it hangs.

The bench (re)creates the database BENCH_WEBHOOKS_DB (default `penguinflow_bench_webhooks`) and uses Redis database
BENCH_REDIS_DB (default 13). The webhook *action* of workflows has its own scenario, `webhook_action`.
`--quick`: 20 workspaces (200 subscriptions), 300 events/s for 10 s.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from typing import Any, TextIO

from bench import runtime as runtime_bench
from bench._receiver import Receiver
from bench._support import bench_env, drop_database, machine_cpu, pg_params, process_cpu, recreate_migrated

DB_NAME = os.environ.get("BENCH_WEBHOOKS_DB", "penguinflow_bench_webhooks")
TYPES = ("email.sent", "email.delivered", "email.opened", "email.clicked", "email.replied", "email.bounced",
         "email.complained", "email.unsubscribed", "form.submitted", "page.viewed")
CONTACTS_PER_WORKSPACE = 50
HANG_SECONDS = 30


# --- child entry point (Django set up against the bench database) ------------------------------------------------


def _event_id(body: dict) -> int:
    return body["data"]["id"]


def child_prepare(workspaces: int, fast_port: int, hanging_port: int) -> None:
    """Create the workspaces, their contacts and 10 subscriptions each (the very first to the hanging endpoint)."""
    from penguinflow.workspaces.services import workspace_get_or_create
    from webhooks.services import subscription_create

    made = []
    for w in range(workspaces):
        workspace, _ = workspace_get_or_create(slug=f"fan-{w}", name=f"Fan {w}")
        contacts = runtime_bench._contacts(workspace, CONTACTS_PER_WORKSPACE, f"w{w}-")
        subs = {}
        for i, event_type in enumerate(TYPES):
            port = hanging_port if (w, i) == (0, 0) else fast_port
            subs[event_type] = str(subscription_create(workspace=workspace, url=f"http://127.0.0.1:{port}/w{w}/{i}",
                                                       events=[event_type]).pk)
        made.append({"workspace": str(workspace.pk), "contacts": [str(c) for c in contacts], "subs": subs})
    print(json.dumps({"workspaces": made}))


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "bench.webhooks", *args], env=env, cwd=runtime_bench.ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the load ------------------------------------------------------------------------------------------------------


def _write_events(workspaces: list[dict], rate: int, seconds: float) -> tuple[int, float, int]:
    """Insert ``rate`` events/s for ``seconds`` (a multi-row INSERT each 100 ms); return (events, seconds taken,
    events of the hanging subscription's type in its workspace)."""
    import psycopg

    rng = random.Random(17)
    per_tick = max(1, rate // 10)
    written = hanging = 0
    started = time.monotonic()
    with psycopg.connect(**pg_params(), dbname=DB_NAME, autocommit=True) as conn:
        tick = 0
        while time.monotonic() - started < seconds:
            rows = []
            for _ in range(per_tick):
                workspace = rng.choice(workspaces)
                event_type = rng.choice(TYPES)
                hanging += workspace is workspaces[0] and event_type == TYPES[0]
                rows.append((workspace["workspace"], rng.choice(workspace["contacts"]), event_type))
            conn.execute(
                "INSERT INTO events_event (workspace_id, contact_id, type, occurred_at, received_at, properties) "
                "SELECT w, c, t, clock_timestamp(), clock_timestamp(), '{\"bench\": true}'::jsonb "
                "FROM unnest(%s::uuid[], %s::uuid[], %s::text[]) AS x(w, c, t)",
                [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]])
            written += len(rows)
            tick += 1
            pause = started + tick * 0.1 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    return written, time.monotonic() - started, hanging


def _received_at(event_ids: list[int]) -> dict[int, float]:
    import psycopg

    with psycopg.connect(**pg_params(), dbname=DB_NAME, autocommit=True) as conn:
        rows = conn.execute("SELECT id, received_at FROM events_event WHERE id = ANY(%s)", [event_ids]).fetchall()
    return {event_id: moment.timestamp() for event_id, moment in rows}


def _hanging_states(sub_id: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(**pg_params(), dbname=DB_NAME, autocommit=True) as conn:
        rows = conn.execute("SELECT status || CASE WHEN attempts > 0 THEN ' (tried)' ELSE '' END, count(*) "
                            "FROM webhooks_webhookdelivery WHERE subscription_id = %s GROUP BY 1", [sub_id]).fetchall()
    return dict(rows)


def _warm_up(prepared: list[dict], fast: Receiver, redis_db: int) -> None:
    """Wait for the 2 workers to register, then send a second of light load through and forget it, so the
    figures do not count start-up (imports, first connections) as delivery time."""
    import redis
    from rq import Worker

    connection = redis.Redis(db=redis_db)
    deadline = time.monotonic() + 120
    while Worker.count(connection=connection) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    written, _, for_hanging = _write_events(prepared, 50, 1.0)
    _wait_for(fast, written - for_hanging, timeout=120)
    fast.arrived.clear()


def _wait_for(server: Receiver, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(server.arrived) < expected and time.monotonic() < deadline:
        time.sleep(0.2)


def run(*, out: TextIO, quick: bool = False) -> None:
    import redis

    workspaces, rate, seconds = (20, 300, 10) if quick else (100, 1000, 30)
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "13"))
    params = pg_params()
    env = bench_env(params, db_name=DB_NAME, redis_db=redis_db)
    env["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"

    def say(name: str, value: Any) -> None:
        out.write(f"{name}  {value}\n")
        out.flush()

    recreate_migrated(params, DB_NAME, env)
    redis.Redis(db=redis_db).flushdb()
    say("database", f"{DB_NAME} (recreated), redis db {redis_db}, cpus {os.cpu_count()}, "
                    f"{workspaces * len(TYPES)} subscriptions in {workspaces} workspaces")
    fast = Receiver(_event_id).start()
    hanging = Receiver(_event_id, hang=HANG_SECONDS).start()
    prepared = _child(env, "prepare", str(workspaces), str(fast.port), str(hanging.port))["workspaces"]
    hanging_sub = prepared[0]["subs"][TYPES[0]]
    processes = [runtime_bench._spawn(env, "rqworker", "events", "webhooks", "--worker-class",
                                      "penguinflow.common.workers.Worker") for _ in range(2)]
    processes.append(runtime_bench._spawn(env, "run_scheduler", "--interval", "0.05"))
    try:
        _warm_up(prepared, fast, redis_db)
        cpu_before = sum(process_cpu(p.pid) for p in processes)
        machine_before = machine_cpu()
        written, took, for_hanging = _write_events(prepared, rate, seconds)
        say("fanout.events_per_s", f"{written / took:.0f}  ({written} events in {took:.1f} s)")
        _wait_for(fast, written - for_hanging, timeout=120 + seconds)
        cpu = sum(process_cpu(p.pid) for p in processes) - cpu_before
        machine = [after - before for after, before in zip(machine_cpu(), machine_before, strict=True)]
        hanging_requests = hanging.requests
        states = _hanging_states(hanging_sub)
    finally:
        runtime_bench._stop(processes)
        fast.stop()
        hanging.stop()

    arrivals = dict(fast.arrived)
    times = sorted(arrivals.values())
    window = times[-1] - times[0] if len(times) > 1 else 0.0
    say("fanout.deliveries_per_s", f"{len(times) / max(window, 0.001):.0f}  ({len(times)} of "
                                   f"{written - for_hanging} expected in {window:.1f} s, 2 workers)")
    received = _received_at(list(arrivals))
    delays = sorted((arrivals[e] - received[e]) * 1000 for e in arrivals if e in received)
    if delays:
        def at(q: float) -> float:
            return delays[min(len(delays) - 1, int(q * len(delays)))]

        say("fanout.event_to_delivery_p50_ms", f"{at(0.5):.0f}")
        say("fanout.event_to_delivery_p99_ms", f"{at(0.99):.0f}  (max {delays[-1]:.0f}; every endpoint but the "
                                               f"hanging one, while it hangs {HANG_SECONDS} s)")
    say("fanout.cpu_ms_per_delivery", f"{cpu * 1000 / max(len(times), 1):.2f}  (the 2 workers and the scheduler: "
                                      f"event processing and fan-out included; the machine was "
                                      f"{100 * machine[0] / max(machine[1], 0.001):.0f}% busy meanwhile)")
    say("fanout.hanging_endpoint", f"{hanging_requests} requests received for {for_hanging} events; its deliveries: "
                                   f"{json.dumps(states)}")
    drop_database(params, DB_NAME)


if __name__ == "__main__":
    import django

    django.setup()
    if sys.argv[1] == "prepare":
        child_prepare(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
