"""The child processes of `bench history` (Django set up against the bench database; figures as JSON lines)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from bench._support import session_cookie

# The child processes of `bench history` (python -m bench._history_tasks <task> <executions>): each prints its
# figures as JSON lines, which the parent (bench/history.py) reads and reports.
PORT = int(os.environ.get("BENCH_HISTORY_PORT", "8765"))


def say(name: str, value: Any, note: str = "") -> None:
    print(json.dumps({"name": name, "value": value, "note": note}), flush=True)


ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 40  # requests per figure
PUBLISH_GRACE = 0.5


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=100)[94], 1) if len(samples) > 1 else round(samples[0], 1)


def _workspace():
    from penguinflow.workspaces.models import Workspace

    return Workspace.objects.get(slug="bench")


def _api(workspace):
    from rest_framework.test import APIClient

    from penguinflow.workspaces.services import api_key_create

    _, secret = api_key_create(workspace=workspace, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _timed(client, path: str, make_params) -> list[float]:
    """ROUNDS timings of GET path, after 3 untimed ones: a route's first answer in a process builds serializers
    and plans (100+ ms once), which is not what a user waits for in steady state."""
    for _ in range(3):
        _timed_get(client, path, make_params())
    return [_timed_get(client, path, make_params()) for _ in range(ROUNDS)]


def _timed_get(client, path: str, params: dict) -> float:
    started = time.perf_counter()
    response = client.get(path, params, secure=True)  # production settings redirect plain HTTP
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, params, response.content[:300])
    return elapsed


def seed_and_query(executions: int) -> None:
    from django.contrib.auth import get_user_model

    from bench._history_seed import CONTACT_PREFIX, ENROLLMENT_PREFIX, WORDS, history_uuid, seed_history
    from penguinflow.workspaces.models import Membership, Workspace

    workspace = Workspace.objects.create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench")
    Membership.objects.create(user=user, workspace=workspace)
    started = time.perf_counter()
    pairs = seed_history(workspace=workspace, executions=executions)
    say("seed_s", round(time.perf_counter() - started, 1), f"{executions:,} executions, {10 * executions:,} steps")
    api = _api(workspace)
    contacts = max(1, executions // 2)  # a lower bound of the seeded contacts' numbers
    rng = random.Random(7)
    day = 86400
    span = 90 * day
    cases = {
        "none": lambda: {},
        "workflow": lambda: {"workflow": str(rng.choice(pairs)[0])},
        "version": lambda: {"version": str(rng.choice(pairs)[1])},
        "status": lambda: {"status": rng.choice(["failed", "waiting", "completed", "exited", "active"])},
        "contact": lambda: {"contact": history_uuid(CONTACT_PREFIX, rng.randint(1, contacts))},
        "node": lambda: {"node": f"n{rng.randint(1, 9)}"},
        "error_type": lambda: {"error_type": rng.choice(["PortError", "TimeoutError", "WebhookError"])},
        "since_until": lambda: _window(rng, span, day),
    }
    for _ in range(5):  # warm-up: the first request of a process builds URL resolvers, schemas, connections
        _timed_get(api, "/api/v1/executions", {})
    for name, params in cases.items():
        samples = _timed(api, "/api/v1/executions", params)
        say(f"list_{name}_p95_ms", _p95(samples))
    emails = _timed(api, "/api/v1/executions", lambda: {"q": f"person{rng.randint(1, contacts)}@"})
    say("search_email_p95_ms", _p95(emails), "q = 'person<n>@' (part of an email)")
    errors = _timed(api, "/api/v1/executions", lambda: {"q": rng.choice(WORDS)})
    say("search_error_p95_ms", _p95(errors), "q = a word of the error messages (each word is in 1 failure message in 8)")
    for _ in range(3):
        _timed_get(api, f"/api/v1/executions/{history_uuid(ENROLLMENT_PREFIX, rng.randint(1, executions))}", {})
    details = [_timed_get(api, f"/api/v1/executions/{history_uuid(ENROLLMENT_PREFIX, rng.randint(1, executions))}",
                          {}) for _ in range(ROUNDS)]
    say("detail_p95_ms", _p95(details), "ten steps each")
    _bulk_retry(workspace)


def _window(rng, span, day) -> dict:
    from datetime import UTC, datetime, timedelta

    end = datetime.now(UTC) - timedelta(seconds=rng.randint(day, span))
    return {"since": (end - timedelta(days=1)).isoformat(), "until": end.isoformat()}


def _bulk_retry(workspace) -> None:
    from workflows.execution_actions import executions_retry
    from workflows.execution_query import ExecutionQuery, executions_matching
    from workflows.models import Enrollment

    failed = Enrollment.objects.filter(workspace=workspace, status="failed")
    # The newest 10,000 failures, chosen as the API chooses: by filters (status and an entry-time window).
    since = failed.order_by("-entered_at").values_list("entered_at", flat=True)[9_999:10_000].first()
    query = ExecutionQuery(status="failed", since=since)
    started = time.perf_counter()
    report = executions_retry(enrollments=executions_matching(workspace=workspace, query=query))
    elapsed = time.perf_counter() - started
    say("bulk_retry_10k_s", round(elapsed, 2), f"matched {report.matched:,}, retried {report.done:,}, "
                                                f"refused {len(report.refused):,}")


def export(executions: int) -> None:
    from workflows.execution_export import csv_chunks
    from workflows.execution_query import ExecutionQuery, executions_matching

    rows = executions_matching(workspace=_workspace(), query=ExecutionQuery())
    started = time.perf_counter()
    written = 0
    with open(os.devnull, "w") as sink:
        for chunk in csv_chunks(rows):
            sink.write(chunk)
            written += len(chunk)
    elapsed = time.perf_counter() - started
    say("export_rows_per_s", round(executions / elapsed), f"{executions:,} rows, {written / 1e6:.0f} MB of CSV in "
                                                          f"{elapsed:.1f} s")
    say("export_peak_rss_mb", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak resident memory of the exporting process")


# --- live --------------------------------------------------------------------------------------------------------

SUBSCRIBERS = 50


def live(executions: int) -> None:
    from workflows.models import Workflow

    workspace = _workspace()
    workflow = Workflow.objects.filter(workspace=workspace).order_by("name").first()
    cookie = session_cookie("bench")
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "penguinflow.asgi:application", "--port", str(PORT),
                               "--log-level", "warning"], cwd=ROOT, env=dict(os.environ),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(PORT)
        asyncio.run(_live(workspace, workflow, workflow.versions.get(number=1).pk, cookie))
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("uvicorn did not start")


async def _subscriber(url: str, cookie: str, latencies: list[float], ready: asyncio.Event, counter: list[int]):
    import websockets

    async with websockets.connect(url, additional_headers={"Cookie": cookie},
                                  origin=f"http://127.0.0.1:{PORT}") as socket_:
        await socket_.recv()  # hello
        counter[0] += 1
        if counter[0] == SUBSCRIBERS:
            ready.set()
        async for raw in socket_:
            now = time.monotonic_ns()
            message = json.loads(raw)
            for key in message.get("executions", {}):
                if key.startswith("lat-"):
                    latencies.append((now - int(key.split("-")[1])) / 1e6)


async def _live(workspace, workflow, version_id, cookie: str) -> None:
    latencies: list[float] = []
    ready, counter = asyncio.Event(), [0]
    url = f"ws://127.0.0.1:{PORT}/ws/workflows/{workflow.pk}/"
    tasks = [asyncio.create_task(_subscriber(url, cookie, latencies, ready, counter)) for _ in range(SUBSCRIBERS)]
    await asyncio.wait_for(ready.wait(), 120)
    commits = await asyncio.to_thread(_produce, workspace.pk, workflow.pk, version_id, 10.0)
    await asyncio.sleep(2)  # the last merged messages
    say("live_p99_ms", round(statistics.quantiles(latencies, n=100)[98]) if len(latencies) > 1 else None,
        f"{SUBSCRIBERS} subscribers, {commits:,} commits of 10 step changes in 10 s, {len(latencies):,} deliveries; "
        f"p50 {statistics.median(latencies):.0f} ms" if latencies else "no delivery")
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for live_on in (False, True, False, True):  # alternated: a warm-up or a neighbour's load hits both alike
        runs[live_on].append(await asyncio.to_thread(_runtime_rate_in_a_process, live_on))
    off, on = (statistics.mean(run["rate"] for run in runs[live]) for live in (False, True))
    cpu_off, cpu_on = (statistics.mean(run["cpu_ms_per_step"] for run in runs[live]) for live in (False, True))
    say("runtime_steps_per_s_live_off", round(off), "2,000 enrollments x 10 steps, batches of 100, in-process; mean of 2 runs")
    say("runtime_steps_per_s_live_on", round(on), f"the same with live updates and {SUBSCRIBERS} subscribers "
                                                  f"({(on - off) / off:+.1%}; on 2 cores the subscribers and their "
                                                  "server compete with the runtime for the CPU)")
    say("runtime_cpu_ms_per_step_live_off", round(cpu_off, 3), "the runtime process's own CPU per step")
    say("runtime_cpu_ms_per_step_live_on", round(cpu_on, 3), f"the same with live updates published "
                                                              f"({(cpu_on - cpu_off) / cpu_off:+.1%}: the runtime's own cost of them)")
    publisher = statistics.mean(run["publisher_cpu_ms_per_step"] for run in runs[True])
    say("runtime_publisher_cpu_ms_per_step", round(publisher, 4),
        f"of which the publisher thread ({publisher / cpu_on:.1%} of the live-on figure; the two figures above "
        "also differ by the runs' noise)")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _produce(workspace_id, workflow_id, version_id, seconds: float) -> int:
    """1,000 step changes a second: 100 commits of 10, each naming its commit time (monotonic ns)."""
    from workflows import live_updates

    commits, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        with transaction.atomic():
            live_updates.counters_changed([(version_id, "node.n1.entered", 10)])
            live_updates.executions_changed([(workspace_id, workflow_id, f"lat-{time.monotonic_ns()}", "active")])
        commits += 1
        time.sleep(max(0.0, started + commits * 0.01 - time.monotonic()))
    connection.close()
    return commits


def _runtime_rate_in_a_process(live_on: bool) -> float:
    """The runtime runs in a process of its own, as a worker does (the subscribers live in this one)."""
    env = {**os.environ, "LIVE_UPDATES": "1" if live_on else "0"}
    result = subprocess.run([sys.executable, "-m", "bench._history_tasks", "runtime_rate", "0"], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["value"]  # {"rate", "cpu_ms_per_step"}


def runtime_rate(_: int) -> None:
    from workflows.models import Workflow

    workspace = _workspace()
    workflow = Workflow.objects.filter(workspace=workspace).order_by("name").first()
    say("runtime_rate", _runtime_rate(workspace, workflow))


def _runtime_rate(workspace, workflow) -> dict[str, float]:
    """Steps a second by the wall clock, and the CPU this process spent per step (its publisher thread included:
    the runtime's own cost, which a busy neighbour on the machine does not change)."""
    from contacts.models import Contact
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of
    from workflows.models import Enrollment
    from workflows.runtime import enrollments_advance

    contacts = Contact.objects.bulk_create([
        Contact(workspace=workspace, email=f"runtime-{uuid.uuid4().hex}@example.com") for _ in range(2000)])
    version = published_version_of(workflow)
    enrollments_start(version=version, entries=[Entry(c.pk, "t") for c in contacts])
    ids = list(Enrollment.objects.filter(contact__in=contacts).values_list("pk", flat=True))
    started, cpu_started, steps = time.perf_counter(), time.process_time(), 0
    for offset in range(0, len(ids), 100):
        steps += enrollments_advance(enrollment_ids=ids[offset:offset + 100]).steps
    elapsed = time.perf_counter() - started
    time.sleep(PUBLISH_GRACE)  # let the publisher thread send its last round before the process ends
    return {"rate": steps / elapsed, "cpu_ms_per_step": (time.process_time() - cpu_started) * 1000 / steps,
            "publisher_cpu_ms_per_step": _publisher_thread_cpu() * 1000 / steps}


def _publisher_thread_cpu() -> float:
    """CPU seconds of this process's live-updates publisher thread (0 when live updates are off): the part of the
    publishing cost that a whole-process figure drowns in run-to-run noise."""
    import threading

    publisher = next((thread for thread in threading.enumerate() if thread.name == "live-updates"), None)
    if publisher is None or publisher.native_id is None:
        return 0.0
    with open(f"/proc/self/task/{publisher.native_id}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


if __name__ == "__main__":
    import django

    django.setup()
    globals()[sys.argv[1]](int(sys.argv[2]))
