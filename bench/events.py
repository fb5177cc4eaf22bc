"""Benchmark of event ingestion and processing against the real PostgreSQL, Redis and an HTTP server process.

What it does (all traffic to 127.0.0.1 only):

1. (Re)creates the dedicated database `penguinflow_bench` (migrated; dropped again at the end unless
   BENCH_KEEP_DB=1) and uses Redis database BENCH_REDIS_DB (default 12) for the throttle, the trigger index token
   and the `events` queue. The configured development database is never touched.
2. Starts `uvicorn penguinflow.asgi:application --workers 2` with production settings (DEBUG off): POST
   /api/v1/events is served by the ASGI fast path (events.fastpath), database connections are pooled.
3. Drives POST /api/v1/events from a separate client process (raw asyncio HTTP/1.1, keep-alive) with concurrent
   connections: batches of 500 events, then one event per request. Every event carries a client id (dedupe on)
   and names an existing contact by email.
4. COPYs the very same rows straight into events_event with psycopg, in the same run, for the ratio.
5. Starts the dispatcher (`manage.py dispatch_events`) and two RQ SimpleWorkers, drains the backlog, then sends a
   steady 1,000 events/s and reports the processing lag (processed_at - received_at) p50/p99.
6. Times the activity selector (one query for 500 contacts), the figure behind "no Redis cache in front of it".

Figures are printed one per line (`name  value`); nothing is asserted. `--quick` makes a smoke run of a few
seconds per phase; BENCH_SECONDS (ingestion phases) and BENCH_LAG_SECONDS (the steady phase; 600 for the
10-minute memory check) size a full run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bench._support import (
    drop_database,
    free_port,
    machine_cpu,
    pg_params,
    postgres_cpu,
    process_cpu,
    python_speed_ms,
    recreate_database,
    rss_mib,
)

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "penguinflow_bench"
HOST = "127.0.0.1"
CONTACTS = 20_000
EVENT_TYPE = "bench.order"
LAG_TYPE = "bench.lag"


# --- helpers ------------------------------------------------------------------------------------------------



def _pg_url(params: dict[str, Any]) -> str:
    auth = params["user"] + (f":{params['password']}" if params["password"] else "")
    return f"postgres://{auth}@{params['host']}:{params['port']}/{DB_NAME}"


def _env(params: dict[str, Any], redis_db: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "penguinflow.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        # The production defaults: Django's connection pool (settings DATABASE_POOL*), and POST /api/v1/events
        # served by the ASGI fast path (events.fastpath) with its own small async pool.
        "DATABASE_URL": _pg_url(params),
        "REDIS_URL": f"redis://{HOST}:6379/{redis_db}",
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    try:
        import workflows.runtime_gateway  # noqa: F401

        env.setdefault("ENGINE_GATEWAY", "workflows.runtime_gateway.RuntimeGateway")
    except ImportError:
        env["ENGINE_GATEWAY"] = "events.gateway.NullGateway"
    return env


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _manage(env: dict[str, str], *args: str, capture: bool = True) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                            capture_output=capture, text=True, check=True)
    return result.stdout if capture else ""


# --- subprocess entry points (run with the bench database's settings) --------------------------------------------


def _setup(contacts: int) -> None:
    """Create the bench workspace, its API key, contacts and one active workflow; print the key."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from penguinflow.workspaces.services import api_key_create, workspace_get_or_create
    from workflows.models import Step, Workflow, WorkflowVersion

    workspace, _ = workspace_get_or_create(slug="bench", name="Bench")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, workspace_id, created_at, updated_at, email, first_name, last_name,
                timezone, status, score, fields, tags, external_id)
            SELECT gen_random_uuid(), %s, %s, %s, 'c' || n || '@bench.test', '', '', '', 'subscribed', n %% 100,
                '{}'::jsonb, CASE WHEN n %% 3 = 0 THEN '{vip}'::varchar[] ELSE '{}'::varchar[] END, NULL
            FROM generate_series(0, %s - 1) AS n
            """,
            [workspace.id, now, now, contacts],
        )
    for event_type in (EVENT_TYPE, LAG_TYPE):
        workflow = Workflow.objects.create(workspace=workspace, name=f"On {event_type}", status="active",
                                           published_version=1)
        version = WorkflowVersion.objects.create(workflow=workflow, number=1, published_at=now)
        Step.objects.create(version=version, node_id="trigger", type="trigger_event", config={
            "event": event_type,
            "filter": {"and": [{">": [{"var": "event.properties.total"}, 50]},
                               {"in": ["vip", {"var": "contact.tags"}]}]},
        })
    _, key = api_key_create(workspace=workspace, name="bench")
    print(json.dumps({"key": key, "workspace_id": str(workspace.id)}))


def _activity(contacts: int) -> None:
    """Time the activity selector for 500 contacts (one query) on the loaded database; print JSON."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from contacts.activity import ActivityReader
    from events.selectors import contact_activity
    from penguinflow.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug="bench")
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT contact_id FROM events_event WHERE workspace_id = %s LIMIT 500",
                       [workspace.id])
        ids = [row[0] for row in cursor.fetchall()]
    since = timezone.now() - __import__("datetime").timedelta(days=30)
    def median_ms() -> tuple[float, int]:
        timings, rows = [], 0
        for _ in range(7):
            start = time.perf_counter()
            found = contact_activity(workspace_id=workspace.id, contact_ids=ids, since=since, types=[EVENT_TYPE])
            timings.append(time.perf_counter() - start)
            rows = sum(len(items) for items in found.values())
        timings.sort()
        return timings[len(timings) // 2] * 1000, rows

    # As loaded (this machine may run without autovacuum: no statistics on the partitions yet), then after the
    # ANALYZE that autovacuum would have run by now in a default PostgreSQL.
    cold_ms, rows = median_ms()
    reader = ActivityReader(contacts=[(workspace.id, i) for i in ids])
    start = time.perf_counter()
    for contact_id in ids:
        reader.event_count(contact_id=str(contact_id), type=EVENT_TYPE, since=since)
    port_seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event")
    analyzed_ms, _ = median_ms()
    print(json.dumps({"contacts": len(ids), "rows": rows, "median_ms": cold_ms, "analyzed_median_ms": analyzed_ms,
                      "port_500_calls_ms": port_seconds * 1000}))


# --- the load generator (a separate process; no Django) ------------------------------------------------------


async def _request(reader, writer, head: bytes, body: bytes) -> tuple[int, bytes]:
    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    payload = b""
    while True:
        size = int((await reader.readline()).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, payload
        payload += chunk[:-2]


def _events_json(prefix: str, count: int, event_type: str, contacts: int, rng: random.Random) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    items = [
        f'{{"id":"{prefix}-{n}","type":"{event_type}","contact":{{"email":"c{rng.randrange(contacts)}@bench.test"}},'
        f'"occurred_at":"{now}","properties":{{"total":{rng.randrange(100)},"sku":"SKU-{rng.randrange(1000)}",'
        f'"url":"https://shop.example/p/{n}"}}}}'
        for n in range(count)
    ]
    if count == 1:
        return items[0].encode()
    return ('{"events":[' + ",".join(items) + "]}").encode()


async def post_batches(port: int, head: bytes, *, seconds: float, concurrency: int,
                       body: Callable[[int, int, random.Random], bytes], seed: Callable[[int], object] = lambda slot: slot,
                       rate: float = 0.0) -> dict[str, Any]:
    """POST ``body(slot, n, rng)`` again and again on ``concurrency`` kept-alive connections for ``seconds`` (at
    ``rate`` requests/s in all, or as fast as answered), counting what the 202s say was accepted and duplicated.
    Raw asyncio streams, not an HTTP client: the client must cost far less CPU than the server it measures."""
    stats: dict[str, Any] = {"requests": 0, "accepted": 0, "duplicates": 0, "errors": 0, "statuses": {}}
    stop_at = time.monotonic() + seconds
    per_connection_interval = concurrency / rate if rate else 0.0

    async def connection(slot: int) -> None:
        rng = random.Random(seed(slot))
        reader, writer = await asyncio.open_connection(HOST, port)
        sent = 0
        next_at = time.monotonic() + slot * per_connection_interval / concurrency
        while time.monotonic() < stop_at:
            if per_connection_interval:
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += per_connection_interval
            payload_out = body(slot, sent, rng)
            sent += 1
            try:
                status, payload = await _request(reader, writer, head, payload_out)
            except (ConnectionError, asyncio.IncompleteReadError):
                stats["errors"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            stats["requests"] += 1
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
            if status == 202:
                answer = json.loads(payload)
                stats["accepted"] += answer["accepted"]
                stats["duplicates"] += answer["duplicates"]
            else:
                stats["errors"] += 1
        writer.close()

    started, cpu_started = time.monotonic(), time.process_time()
    await asyncio.gather(*(connection(slot) for slot in range(concurrency)))
    stats["seconds"] = time.monotonic() - started
    stats["cpu_seconds"] = time.process_time() - cpu_started
    return stats


async def _load(mode: str, port: int, key: str, seconds: float, concurrency: int, batch: int, rate: float,
                contacts: int) -> dict[str, Any]:
    head = (f"POST /api/v1/events HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\n").encode()
    run_id = f"{mode}{os.getpid()}x{int(time.time() * 1000)}"
    event_type = LAG_TYPE if mode == "steady" else EVENT_TYPE
    return await post_batches(
        port, head, seconds=seconds, concurrency=concurrency, rate=rate,
        body=lambda slot, n, rng: _events_json(f"{run_id}-{slot}-{n}", batch, event_type, contacts, rng),
    )


def _run_load(port: int, key: str, *, mode: str, seconds: float, concurrency: int, batch: int, rate: float = 0.0,
              contacts: int = CONTACTS) -> subprocess.Popen:
    argv = [sys.executable, "-m", "bench.events", "load", mode, str(port), key, str(seconds), str(concurrency),
            str(batch), str(rate), str(contacts)]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _load_result(process: subprocess.Popen) -> dict[str, Any]:
    out, _ = process.communicate()
    return json.loads(out.strip().splitlines()[-1])


# --- the scenario -------------------------------------------------------------------------------------------


def run(*, out: TextIO, quick: bool = False) -> None:
    import psycopg

    seconds = float(os.environ.get("BENCH_SECONDS", "4" if quick else "20"))
    lag_seconds = float(os.environ.get("BENCH_LAG_SECONDS", "5" if quick else "60"))
    contacts = 2_000 if quick else CONTACTS
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "12"))
    params = pg_params()
    env = _env(params, redis_db)

    def say(name: str, value: Any) -> None:
        out.write(f"{name}  {value}\n")
        out.flush()

    recreate_database(params, DB_NAME)
    _manage(env, "migrate", "--no-input")
    setup = json.loads(subprocess.run(
        [sys.executable, "-m", "bench.events", "setup", str(contacts)], env=env, cwd=ROOT, capture_output=True,
        text=True, check=True).stdout.strip().splitlines()[-1])
    key = setup["key"]
    import redis

    redis.Redis(host=HOST, port=6379, db=redis_db).delete("rq:queue:events")
    say("database", f"{DB_NAME} (recreated; {contacts} contacts), redis db {redis_db}, gateway {env['ENGINE_GATEWAY']}")
    say("cpus", os.cpu_count())
    say("python_speed_ms", f"{python_speed_ms():.0f} (fixed pure-Python work; lower is a faster machine)")

    port = free_port(HOST)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "penguinflow.asgi:application", "--host", HOST, "--port", str(port),
         "--workers", "2", "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
        env=env, cwd=ROOT,
    )
    processes: list[subprocess.Popen] = [server]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        _load_result(_run_load(port, key, mode="warm", seconds=2, concurrency=8, batch=50, contacts=contacts))
        server_rss_start = rss_mib(server.pid)
        say("server_rss_mib_start", f"{server_rss_start:.0f}")

        def cpu_split(phase: str, run) -> dict[str, Any]:
            """Run one load phase; say where the machine's CPU went during it, in ms per 1,000 events."""
            before = (process_cpu(server.pid, descendants=True), postgres_cpu(), machine_cpu())
            result = run()
            after = (process_cpu(server.pid, descendants=True), postgres_cpu(), machine_cpu())
            per = 1e6 / max(result["accepted"], 1)
            busy, total = (a - b for a, b in zip(after[2], before[2], strict=True))
            say(f"{phase}_cpu_ms_per_1000_events",
                f"server={(after[0] - before[0]) * per:.0f} postgres={(after[1] - before[1]) * per:.0f} "
                f"client={result['cpu_seconds'] * per:.0f} machine_busy={busy / max(total, 1e-9):.0%}")
            return result

        batch = cpu_split("batch", lambda: _load_result(_run_load(
            port, key, mode="batch", seconds=seconds, concurrency=8, batch=500, contacts=contacts)))
        say("accepted_events_per_s_batches_of_500", f"{batch['accepted'] / batch['seconds']:.0f}")
        say("batch_requests", f"{batch['requests']} (errors {batch['errors']}, statuses {batch['statuses']})")

        single = cpu_split("single", lambda: _load_result(_run_load(
            port, key, mode="single", seconds=seconds, concurrency=48, batch=1, contacts=contacts)))
        say("single_event_requests_per_s", f"{single['requests'] / single['seconds']:.0f}")
        say("single_requests", f"{single['requests']} (errors {single['errors']}, statuses {single['statuses']})")

        # Raw COPY of the very same rows (as PostgreSQL has them), written as already processed.
        with psycopg.connect(**params, dbname=DB_NAME) as conn:
            columns = "workspace_id, contact_id, type, occurred_at, received_at, properties, source, client_id, flags"
            buffer = bytearray()
            with conn.cursor().copy(
                f"COPY (SELECT {columns}, now() FROM events_event WHERE type = '{EVENT_TYPE}' ORDER BY id "
                f"LIMIT {max(batch['accepted'], 1)}) TO STDOUT"
            ) as copy:
                for data in copy:
                    buffer += data
            rows = buffer.count(b"\n")
            start = time.perf_counter()
            with conn.cursor().copy(f"COPY events_event ({columns}, processed_at) FROM STDIN") as copy:
                for offset in range(0, len(buffer), 1 << 20):
                    copy.write(bytes(buffer[offset:offset + (1 << 20)]))
            conn.commit()
            copy_rate = rows / (time.perf_counter() - start)
        accepted_rate = batch["accepted"] / batch["seconds"]
        say("postgres_raw_copy_rows_per_s", f"{copy_rate:.0f} ({rows} rows)")
        say("ingest_to_copy_ratio", f"{accepted_rate / copy_rate:.2f}")

        def unprocessed(conn) -> int:
            return conn.execute("SELECT count(*) FROM events_event WHERE processed_at IS NULL").fetchone()[0]

        dispatcher = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "dispatch_events"], env=env,
                                      cwd=ROOT)
        workers = [subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "rqworker", "events",
                                     "--worker-class", "penguinflow.common.workers.Worker"], env=env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        processes += [dispatcher, *workers]
        with psycopg.connect(**params, dbname=DB_NAME, autocommit=True) as conn:
            backlog = unprocessed(conn)
            start = time.monotonic()
            drain_limit = 20 if quick else 90
            while unprocessed(conn) and time.monotonic() - start < drain_limit:
                time.sleep(0.25)
            left = unprocessed(conn)
            drained = backlog - left
            say("processing_drain_events_per_s", f"{drained / (time.monotonic() - start):.0f} "
                f"({drained} of {backlog} backlog events; 2 rq SimpleWorkers + dispatcher)")
            if left:
                conn.execute("UPDATE events_event SET processed_at = now() WHERE processed_at IS NULL")

            rss_before = {"server": rss_mib(server.pid), "worker": rss_mib(workers[0].pid),
                          "dispatcher": rss_mib(dispatcher.pid)}
            steady = _load_result(_run_load(port, key, mode="steady", seconds=lag_seconds, concurrency=10,
                                            batch=10, rate=100, contacts=contacts))
            say("steady_events_per_s_sent", f"{steady['accepted'] / steady['seconds']:.0f} "
                f"for {steady['seconds']:.0f} s (errors {steady['errors']})")
            wait_until = time.monotonic() + 30
            while unprocessed(conn) and time.monotonic() < wait_until:
                time.sleep(0.2)
            p50, p99, pmax, count = conn.execute(
                """
                SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.99) WITHIN GROUP
                (ORDER BY lag), max(lag), count(*) FROM (
                    SELECT extract(epoch FROM processed_at - received_at) AS lag FROM events_event
                    WHERE type = %s AND processed_at IS NOT NULL) AS lags
                """,
                [LAG_TYPE],
            ).fetchone()
            say("processing_lag_p50_ms", f"{p50 * 1000:.0f}")
            say("processing_lag_p99_ms", f"{p99 * 1000:.0f}")
            say("processing_lag_max_ms", f"{pmax * 1000:.0f} ({count} events; {unprocessed(conn)} unprocessed)")
            rss_after = {"server": rss_mib(server.pid), "worker": rss_mib(workers[0].pid),
                         "dispatcher": rss_mib(dispatcher.pid)}
            for name in rss_before:
                say(f"{name}_rss_mib_steady_start_end", f"{rss_before[name]:.0f} -> {rss_after[name]:.0f}")
        say("server_rss_mib_start_end", f"{server_rss_start:.0f} -> {rss_mib(server.pid):.0f}")

        activity = json.loads(subprocess.run(
            [sys.executable, "-m", "bench.events", "activity", str(contacts)], env=env, cwd=ROOT,
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        say("activity_one_query_500_contacts_ms", f"{activity['median_ms']:.1f} ({activity['rows']} rows; "
                                                  f"{activity['analyzed_median_ms']:.1f} after ANALYZE)")
        say("activity_port_500_event_count_calls_ms", f"{activity['port_500_calls_ms']:.1f}")
    finally:
        for process in reversed(processes):
            _stop(process)
        drop_database(params, DB_NAME)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "setup":
        _setup(int(arguments[0]))
    elif command == "activity":
        _activity(int(arguments[0]))
    elif command == "load":
        mode, port, key, seconds, concurrency, batch, rate, contacts = arguments
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        result = asyncio.run(_load(mode, int(port), key, float(seconds), int(concurrency), int(batch),
                                   float(rate), int(contacts)))
        result["statuses"] = {str(k): v for k, v in result["statuses"].items()}
        print(json.dumps(result))
    else:
        raise SystemExit(f"unknown command {command!r}")
