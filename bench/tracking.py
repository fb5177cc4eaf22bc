"""Benchmark of the website tracking endpoint, `POST /api/v1/track` (issue 23: >= 5,000 browser events/s in
batches), against the real PostgreSQL, Redis and an HTTP server process.

What it does (all traffic to 127.0.0.1 only):

1. (Re)creates the scratch database `penguinflow_bench_tracking` (migrated; dropped at the end unless
   BENCH_KEEP_DB=1) and uses Redis database BENCH_REDIS_DB (default 12) for the rate counter.
2. Creates a workspace with a write key, a declared site and 2,000 contacts.
3. Starts `uvicorn penguinflow.asgi:application --workers 2` with production settings (DEBUG off), as
   bench/events.py does.
4. Drives `POST /api/v1/track` as the script does (the `X-Write-Key` header, the page's `Origin`, batches of
   BENCH_TRACK_BATCH events, default 20) from BENCH_TRACK_CLIENTS client processes (default 2) with keep-alive
   connections: 70 % anonymous page views, 30 % events of identified visitors (a contact by email), each with its
   own id, as a browser sends them. Then the same batches are sent again: all duplicates (a retry storm).

Figures are printed one per line (`name  value`); nothing is asserted. `--quick` runs a few seconds per phase;
BENCH_SECONDS sizes a full run (default 20).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from typing import Any, TextIO

from bench._support import drop_database, free_port, machine_cpu, pg_params, process_cpu, recreate_database
from bench.events import HOST, ROOT, _env, _manage, _stop, post_batches

DB_NAME = "penguinflow_bench_tracking"
SITE = "https://www.shop.test"
CONTACTS = 2_000


def _setup(contacts: int) -> None:
    """Create the bench workspace, its write key, declared site and contacts; print the key."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from penguinflow.workspaces.services import (
        workspace_get_or_create,
        workspace_settings_change,
        write_key_rotate,
    )

    workspace, _ = workspace_get_or_create(slug="bench-tracking", name="Bench tracking")
    workspace_settings_change(workspace=workspace, changes={"tracking_origins": [SITE]})
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, workspace_id, created_at, updated_at, email, first_name, last_name,
                timezone, status, score, fields, tags, external_id)
            SELECT gen_random_uuid(), %s, %s, %s, 'v' || n || '@bench.test', '', '', '', 'subscribed', 0,
                '{}'::jsonb, '{}'::varchar[], NULL
            FROM generate_series(0, %s - 1) AS n
            """,
            [workspace.id, now, now, contacts],
        )
    print(json.dumps({"key": write_key_rotate(workspace=workspace).write_key}))


def _batch_json(prefix: str, count: int, contacts: int, rng: random.Random) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    items = []
    for n in range(count):
        visitor = rng.randrange(contacts * 5)
        common = (f'"id":"{prefix}-{n}","occurred_at":"{now}","anonymous_id":"a-{visitor}"')
        if rng.random() < 0.7:
            items.append(f'{{{common},"type":"page.viewed","properties":{{"url":"{SITE}/p/{rng.randrange(500)}",'
                         f'"path":"/p/{n}","title":"Product {n}","referrer":"{SITE}/"}}}}')
        else:
            items.append(f'{{{common},"type":"cart.updated","contact":{{"email":"v{visitor % contacts}@bench.test"}},'
                         f'"properties":{{"items":{rng.randrange(1, 9)},"total":{rng.randrange(5000)}}}}}')
    return ('{"events":[' + ",".join(items) + "]}").encode()


async def _load(port: int, key: str, seconds: float, concurrency: int, batch: int, contacts: int, run_id: str
                ) -> dict[str, Any]:
    head = (f"POST /api/v1/track HTTP/1.1\r\nHost: {HOST}\r\nX-Write-Key: {key}\r\nOrigin: {SITE}\r\n"
            "Content-Type: application/json\r\n").encode()
    return await post_batches(
        port, head, seconds=seconds, concurrency=concurrency,
        # The same seed replays the same ids: the duplicates phase.
        seed=lambda slot: f"{run_id}-{slot}",
        body=lambda slot, n, rng: _batch_json(f"{run_id}-{slot}-{n}", batch, contacts, rng),
    )


def _phase(port: int, key: str, *, seconds: float, clients: int, concurrency: int, batch: int, contacts: int,
           run_id: str) -> dict[str, Any]:
    """Run the load from `clients` processes at once; return their stats summed (seconds: the longest)."""
    argv = [sys.executable, "-m", "bench.tracking", "load", str(port), key, str(seconds), str(concurrency),
            str(batch), str(contacts)]
    processes = [subprocess.Popen([*argv, f"{run_id}c{n}"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}) for n in range(clients)]
    total: dict[str, Any] = {"requests": 0, "accepted": 0, "duplicates": 0, "errors": 0, "statuses": {},
                             "seconds": 0.0, "cpu_seconds": 0.0}
    for process in processes:
        out, _ = process.communicate()
        result = json.loads(out.strip().splitlines()[-1])
        for name in ("requests", "accepted", "duplicates", "errors", "cpu_seconds"):
            total[name] += result[name]
        total["seconds"] = max(total["seconds"], result["seconds"])
        for status, count in result["statuses"].items():
            total["statuses"][status] = total["statuses"].get(status, 0) + count
    return total


def _backends_cpu(params: dict[str, Any]) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to the bench database (the server's pooled
    connections live through the phase): PostgreSQL's work for this bench alone, whatever else the shared
    server runs. Its WAL writer and checkpointer are not in it."""
    import psycopg

    with psycopg.connect(**params, dbname=DB_NAME, autocommit=True) as conn:
        pids = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB_NAME])]
    return sum(process_cpu(pid) for pid in pids)


def _wait_for_port(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.2)


def run(*, out: TextIO, quick: bool = False) -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "4" if quick else "20"))
    clients = int(os.environ.get("BENCH_TRACK_CLIENTS", "2"))
    concurrency = int(os.environ.get("BENCH_TRACK_CONNECTIONS", "8"))  # per client process
    batch = int(os.environ.get("BENCH_TRACK_BATCH", "20"))
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "12"))
    params = pg_params()
    env = {**_env(params, redis_db), "DATABASE_URL": _env(params, redis_db)["DATABASE_URL"].rsplit("/", 1)[0]
           + f"/{DB_NAME}"}

    def say(name: str, value: Any) -> None:
        out.write(f"{name}  {value}\n")
        out.flush()

    recreate_database(params, DB_NAME)
    _manage(env, "migrate", "--no-input")
    setup = json.loads(subprocess.run([sys.executable, "-m", "bench.tracking", "setup", str(CONTACTS)], env=env,
                                      cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    key = setup["key"]
    say("database", f"{DB_NAME} (recreated; {CONTACTS} contacts), redis db {redis_db}")
    say("load", f"{clients} client processes x {concurrency} keep-alive connections, batches of {batch}, "
                f"{seconds:.0f} s per phase")
    port = free_port(HOST)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "penguinflow.asgi:application", "--host", HOST, "--port", str(port),
         "--workers", "2", "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
        env=env, cwd=ROOT,
    )
    try:
        _wait_for_port(server, port)
        _phase(port, key, seconds=2, clients=1, concurrency=4, batch=batch, contacts=CONTACTS, run_id="warm")
        run_id = f"r{int(time.time())}"
        before = (process_cpu(server.pid, descendants=True), 0.0, machine_cpu(), _backends_cpu(params))
        fresh = _phase(port, key, seconds=seconds, clients=clients, concurrency=concurrency, batch=batch,
                       contacts=CONTACTS, run_id=run_id)
        after = (process_cpu(server.pid, descendants=True), 0.0, machine_cpu(), _backends_cpu(params))
        per = 1e6 / max(fresh["accepted"], 1)
        busy, total = (a - b for a, b in zip(after[2], before[2], strict=True))
        server_ms, backends_ms = (after[0] - before[0]) * per, (after[3] - before[3]) * per
        say("accepted_browser_events_per_s", f"{fresh['accepted'] / fresh['seconds']:.0f}")
        say("requests_per_s", f"{fresh['requests'] / fresh['seconds']:.0f} (errors {fresh['errors']}, "
                              f"statuses {fresh['statuses']})")
        say("cpu_ms_per_1000_events", f"server={server_ms:.0f} bench_db_backends={backends_ms:.0f} "
                                      f"client={fresh['cpu_seconds'] * per:.0f} machine_busy={busy / max(total, 1e-9):.0%}")
        # What the machine's CPUs could carry if the server and its PostgreSQL backends had them to themselves (the
        # figure above is what they got beside everything else this machine runs: see machine_busy).
        cores = os.cpu_count() or 1
        say("cpu_bound_events_per_s_if_alone", f"{cores * 1e6 / max(server_ms + backends_ms, 1e-9):.0f} "
                                               f"({cores} cores / (server + bench db backends) CPU per event)")
        # The same batches again (same seeds, same ids), as a page's retries would send them: stored once.
        again = _phase(port, key, seconds=min(seconds, 4), clients=clients, concurrency=concurrency, batch=batch,
                       contacts=CONTACTS, run_id=run_id)
        say("retried_events_per_s", f"{(again['accepted'] + again['duplicates']) / again['seconds']:.0f} "
                                    f"(duplicates {again['duplicates']}, stored again {again['accepted']})")
    finally:
        _stop(server)
        drop_database(params, DB_NAME)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "setup":
        _setup(int(arguments[0]))
    elif command == "load":
        port, key, seconds, concurrency, batch, contacts, run_id = arguments
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        result = asyncio.run(_load(int(port), key, float(seconds), int(concurrency), int(batch), int(contacts),
                                   run_id))
        result["statuses"] = {str(k): v for k, v in result["statuses"].items()}
        print(json.dumps(result))
    else:
        raise SystemExit(f"unknown command {command!r}")
