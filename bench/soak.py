"""`manage.py bench soak [--minutes N] [--rate R] [--quick]`: the whole product under a steady load for minutes, with
workers killed on the way (issue 22).

What runs (all on 127.0.0.1, production settings, the scratch database BENCH_SOAK_DB, default
`penguinflow_bench_soak`, and Redis database BENCH_REDIS_DB, default 11):

- web: one uvicorn process serving the ASGI application (POST /api/v1/events and the history's websockets);
- 2 workers: `rqworker` with production's worker class (penguinflow.common.workers.Worker, which the soak's
  bench._soak_worker extends to add up each kind of job's CPU) on every queue (deliveries first); the scheduler:
  `run_scheduler`;
- the providers' stand-ins, each the channel bench's own: aiosmtpd (bench.email), the Twilio stand-in (bench.sms),
  the push service (bench.push: VAPID checked, payload decrypted), and bench._receiver for the webhook action;
- four workspaces (bench/_soak_tasks.py), one per channel, each with one active workflow "event soak.<channel> ->
  send_email / send_sms / send_push / webhook";
- a client process: RATE events/s, spread evenly over the four (batches of 10), and the live subscribers: 3
  websocket clients on each workflow's canvas route and one on each workspace's list route;
- at 1/3 and 2/3 of the load a worker is killed (SIGKILL) and a replacement started, as a supervisor would.

After the load the bench waits for the stragglers (until every accepted event's message arrived, nothing arrived
for DRAIN_QUIET_S, or DRAIN_MAX_S), then prints, one figure per line (nothing asserted): events offered/accepted,
lag p50/p99 from an event's receipt to its processing, its send step and its message at the receiver, peak RSS of
each process and its slope from 1/3 of the load to the end of the drain (a backlog keeps the workers busy then),
errors (failed steps, 5xx, failed jobs), lost and duplicated messages (counted at the receivers by message id and
mapped back to their events; what was still on its way when the drain ended, and the events the trigger skipped by
the workflow's rule as the product's counters say, are told apart), live messages received.
`--quick`: 1 minute at 200 events/s.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bench import email, push, sms
from bench import runtime as runtime_bench
from bench._receiver import Receiver
from bench._soak_report import Outcome, write_report
from bench._soak_tasks import CHANNELS, CONTACT_CYCLE_S, QUEUES
from bench._support import (
    bench_env,
    drop_database,
    free_port,
    machine_cpu,
    pg_params,
    postgres_backends_cpu,
    process_cpu,
    recreate_migrated,
    rss_mib,
)

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_SOAK_DB", "penguinflow_bench_soak")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "11"))
# A killed worker's work comes back when its lease ends (60 s for event batches and enrollments): the drain waits
# longer than that for the next arrival before it gives up.
DRAIN_QUIET_S, DRAIN_MAX_S = 75, 300


@dataclass
class Fleet:
    """The product's processes; `rss` holds each one's samples [(time, MiB)] by name (worker-3 replaced worker-1),
    `cpu` the CPU seconds each used, as last seen (a killed worker's are read just before the kill), and
    `backends_cpu` those of each PostgreSQL backend of the bench's database, as last seen."""

    env: dict[str, str]
    web: subprocess.Popen
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen]
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    kills: list[str] = field(default_factory=list)
    load_window: tuple[float, float] = (0.0, 0.0)
    cpu: dict[str, float] = field(default_factory=dict)
    backends_cpu: dict[int, float] = field(default_factory=dict)
    db_name: str = ""

    def named(self) -> dict[str, subprocess.Popen]:
        return {"web": self.web, "scheduler": self.scheduler, **self.workers}

    def sample(self) -> None:
        now = time.time()
        for name, process in self.named().items():
            if process.poll() is None:
                self.rss.setdefault(name, []).append((now, rss_mib(process.pid)))
                self.cpu[name] = process_cpu(process.pid, descendants=True)
        self.backends_cpu.update(postgres_backends_cpu(self.db_name))

    def kill_and_replace(self, name: str) -> None:
        """SIGKILL worker `name` (what an OOM kill or a lost machine does) and start a replacement."""
        self.cpu[name] = process_cpu(self.workers[name].pid, descendants=True)
        self.backends_cpu.update(postgres_backends_cpu(self.db_name))  # the victim's backends end with it
        victim = self.workers.pop(name)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        replacement = f"worker-{len(self.kills) + 3}"
        self.workers[replacement] = _worker(self.env)
        self.kills.append(f"{name} (pid {victim.pid}) at {time.strftime('%H:%M:%S')} -> {replacement}")

    def stop(self) -> None:
        runtime_bench._stop(list(self.named().values()))


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far: by the whole machine, by PenguinFlow's processes (web, scheduler, workers, the killed
    ones included) and by the PostgreSQL backends of the bench's database (sampled as often as memory: a backend
    that lived between two samples is missed, and the server's own processes are not counted). What is left of the
    machine's went to the providers' stand-ins, the client and its live subscribers (and to anything else
    running)."""

    machine: float
    penguinflow: float
    postgres: float
    by_role: dict[str, float]  # PenguinFlow's share by role: web, scheduler, workers (the killed ones included)

    @classmethod
    def take(cls, fleet: Fleet) -> CpuSnapshot:
        by_role: dict[str, float] = {"web": 0.0, "scheduler": 0.0, "workers": 0.0}
        for name, seconds in fleet.cpu.items():
            by_role["workers" if name.startswith("worker-") else name] += seconds
        return cls(machine_cpu()[0], sum(fleet.cpu.values()), sum(fleet.backends_cpu.values()), by_role)

    def minus(self, before: CpuSnapshot) -> dict[str, float]:
        return {"machine": self.machine - before.machine, "penguinflow": self.penguinflow - before.penguinflow,
                "postgres": self.postgres - before.postgres,
                **{role: seconds - before.by_role[role] for role, seconds in self.by_role.items()}}


def _log_to(name: str) -> dict[str, Any]:
    """Popen's output arguments: into BENCH_LOG_DIR/<name>.log when that is set (as bench.runtime's processes)."""
    if not (folder := os.environ.get("BENCH_LOG_DIR")):
        return {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    Path(folder).mkdir(parents=True, exist_ok=True)
    return {"stdout": open(Path(folder) / f"{name}.log", "ab"), "stderr": subprocess.STDOUT}


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return runtime_bench._spawn(env, "rqworker", *QUEUES, "--worker-class", "bench._soak_worker.MeasuredWorker")


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("bench soak: the web process did not start")


class Providers:
    """The stand-ins of the providers: the channel benches' receivers, each in a process of its own, and the
    webhook receiver in a thread of this one."""

    def __init__(self, browsers: list) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.folder = tempfile.mkdtemp(prefix="pf-bench-soak-")
        self.stop_event, self.results = self.context.Event(), self.context.Queue()
        self.counters: dict[str, Any] = {}
        self.processes: dict[str, Any] = {}
        self.ports: dict[str, int] = {}
        targets = {"email": (email.receiver, (True,)), "sms": (sms.receiver, ()),
                   "push": (push.receiver, (browsers, self.folder))}  # fmt: skip
        for channel, (target, extra) in targets.items():
            port_box, arrived, ready = self.context.Value("i", 0, lock=False), self.context.Value("i", 0, lock=False), \
                self.context.Event()  # fmt: skip
            queue = self.context.Queue()
            process = self.context.Process(target=target, daemon=True,
                                           args=(port_box, arrived, ready, self.stop_event, queue, *extra))
            process.start()
            if not ready.wait(60):
                raise RuntimeError(f"bench soak: the {channel} stand-in did not start")
            self.processes[channel], self.counters[channel], self.ports[channel] = (process, queue), arrived, \
                port_box.value  # fmt: skip
        self.webhook = Receiver(lambda body: body["enrollment"]).start()
        self.ports["webhook"] = self.webhook.port

    def arrived(self) -> int:
        return sum(counter.value for counter in self.counters.values()) + len(self.webhook.arrived)

    def worker_env(self) -> dict[str, str]:
        return {"EMAIL_URL": f"smtp://127.0.0.1:{self.ports['email']}", **sms.worker_env(self.ports["sms"]),
                "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32", "PUSH_CA_CERTS": os.path.join(self.folder, "ca.pem")}  # fmt: skip

    def stop(self) -> dict[str, list[tuple[str, float]]]:
        """Stop them all; return each channel's arrivals [(message id, time)] (the webhook's: enrollment ids;
        its repeated requests are listed again, as the others' duplicates are)."""
        self.stop_event.set()
        logs: dict[str, list[tuple[str, float]]] = {}
        for channel, (process, queue) in self.processes.items():
            try:
                logs[channel] = queue.get(timeout=60)[0]
            except Exception:  # queue.Empty: the stand-in died; what it counted is lost with it
                logs[channel] = []
            process.join(10)
        self.webhook.stop()
        arrived = dict(self.webhook.arrived)
        logs["webhook"] = list(arrived.items()) + [("", 0.0)] * (self.webhook.requests - len(arrived))
        return logs


def _child(env: dict[str, str], task: str, spec: dict[str, Any]) -> subprocess.Popen:
    spec_file = Path(tempfile.mkstemp(prefix=f"pf-soak-{task}-", suffix=".pickle")[1])
    spec_file.write_bytes(pickle.dumps(spec))
    return subprocess.Popen([sys.executable, "-m", "bench._soak_tasks", task, str(spec_file)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _json_of(process: subprocess.Popen, what: str) -> dict[str, Any]:
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bench soak: {what} failed:\n{err[-4000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _load(fleet: Fleet, client: subprocess.Popen, seconds: float, interval: float) -> None:
    """While the client offers the load: sample RSS every `interval` s, kill a worker at 1/3 and at 2/3."""
    assert client.stdout is not None
    if client.stdout.readline().strip() != "started":  # the subscribers are connected, the load begins
        raise RuntimeError(f"bench soak: the client did not start:\n{client.stderr.read()[-4000:]}")
    started = time.time()
    kills = [(started + seconds / 3, "worker-1"), (started + 2 * seconds / 3, "worker-2")]
    while client.poll() is None:
        fleet.sample()
        if kills and time.time() >= kills[0][0]:
            fleet.kill_and_replace(kills.pop(0)[1])
        time.sleep(min(interval, max(0.1, kills[0][0] - time.time())) if kills else interval)
    fleet.load_window = (started, time.time())


def _drain(fleet: Fleet, providers: Providers, expected: int, interval: float) -> float:
    """Wait for the stragglers; return how long it took."""
    started = last_change = time.time()
    seen = providers.arrived()
    while seen < expected and time.time() - last_change < DRAIN_QUIET_S and time.time() - started < DRAIN_MAX_S:
        time.sleep(min(interval, 1.0))
        fleet.sample()
        if (now := providers.arrived()) != seen:
            seen, last_change = now, time.time()
    return time.time() - started


def run(*, out: TextIO, quick: bool = False, minutes: float | None = None, rate: int | None = None,
        db_name: str = DB_NAME, redis_db: int = REDIS_DB) -> Outcome:
    import redis

    minutes = minutes if minutes is not None else (1 if quick else 10)
    rate = rate if rate is not None else (200 if quick else 1000)
    seconds = minutes * 60
    contacts = max(100, int(rate / len(CHANNELS) * CONTACT_CYCLE_S))
    interval = 5.0 if seconds >= 300 else 2.0
    params = pg_params()
    env = bench_env(params, db_name=db_name, redis_db=redis_db)
    env.update({"SECURE_SSL_REDIRECT": "0", "LIVE_UPDATES_PUBLISH": "thread"})
    recreate_migrated(params, db_name, env)
    redis.Redis(db=redis_db).flushdb()
    out.write(f"soak.database                  {db_name} (recreated), redis db {redis_db}, cpus {os.cpu_count()}\n")
    out.write(f"soak.load                      {rate} events/s for {minutes:g} min over {', '.join(CHANNELS)}; "
              f"{contacts} contacts per channel\n")
    out.flush()
    browsers = push.make_browsers(contacts)
    providers = Providers(browsers)
    fleet: Fleet | None = None
    try:
        env.update(providers.worker_env())
        prepared = _json_of(_child(env, "prepare", {"contacts": contacts, "ports": providers.ports,
                                                    "browsers": browsers}), "prepare")
        port = free_port()
        web = subprocess.Popen([sys.executable, "-m", "uvicorn", "penguinflow.asgi:application", "--host",
                                "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
                                # At a low rate a client connection idles longer than uvicorn's default 5 s, and
                                # bench.events' client does not resend a batch whose connection was closed.
                                "--timeout-keep-alive", "60"],
                               env=env, cwd=ROOT, **_log_to("web"))  # fmt: skip
        fleet = Fleet(env, web, runtime_bench._spawn(env, "run_scheduler", "--interval", "0.05"),
                      {"worker-1": _worker(env), "worker-2": _worker(env)}, db_name=db_name)
        _wait_for_port(port, web)
        client = _child(env, "client", {"port": port, "seconds": seconds, "rate": rate, "contacts": contacts,
                                        "prepared": prepared})
        fleet.sample()
        cpu_before = CpuSnapshot.take(fleet)
        _load(fleet, client, seconds, interval)
        offered = _json_of(client, "the client")
        accepted = sum(result["accepted"] for result in offered["channels"].values())
        drained = _drain(fleet, providers, accepted, interval)
        fleet.sample()
        cpu = CpuSnapshot.take(fleet).minus(cpu_before)
    finally:
        if fleet is not None:
            fleet.stop()
        logs = providers.stop()
    outcome = Outcome(offered=offered, arrivals=logs, rss=fleet.rss, load_window=fleet.load_window,
                      kills=fleet.kills, drained_s=drained, workflows={c: m["workflow"] for c, m in prepared.items()},
                      cpu=cpu)
    write_report(out, outcome, params=params, db_name=db_name, redis_db=redis_db)
    drop_database(params, db_name)
    return outcome
