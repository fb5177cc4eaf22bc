"""The runner the channel benches share (email, SMS, push, and `bench channels`): a local receiver in a process
of its own, two RQ SimpleWorker processes (non-forking, as in production) that run "produce" jobs and the
delivery jobs those enqueue after commit, a warm-up, the measured run, and the figures.

A produce job is what a runtime batch whose enrollments reach a send step does: BATCH contacts (run_scheduler's
default) locked in one transaction, each sent a message through the runtime's own port, the batch's rows
written at its end. Workers listen to the channel's delivery queue first, then to the produce queue. Before the
clock starts, WARM_UP messages go through (in a workspace of their own), so that what a long-running worker did
long ago (imports, connections, compiled patterns) is not counted. The figure runs from the moment the produce
jobs are enqueued to the last message received; latency is from a row's creation (the step) to its arrival at
the receiver (the hand-off).

Django, the apps and RQ are imported inside functions: spawned processes import the scenario modules before
Django is set up (and receivers never set it up).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from bench._support import machine_cpu, postgres_cpu, process_cpu, python_speed_ms

BATCH = 100  # run_scheduler's default --batch-size
WORKERS = 2
WARM_UP = 400


@dataclass
class Seeded:
    """A bench workspace: its contacts, and the produce job's arguments that come before (ids, first)."""

    workspace: Any
    contacts: list
    args: tuple = ()


@dataclass
class Scenario:
    """What a channel's bench plugs into the runner (the functions are module-level: they cross processes).

    receiver(port_box, arrived, ready, stop, results, *receiver_args): serve on a port it writes in `port_box`,
    count arrivals in `arrived`, set `ready`; once `stop` is set put (log, extra) on `results`, where log is
    [(row id, arrival time)]. worker_env(port) -> environment of the worker processes. seed(slug, count, port)
    -> Seeded. rows(workspace) -> {str(row id): created_at}; statuses(workspace) -> {status: count}."""

    name: str
    delivery_queue: str
    produce: Callable[..., int]
    receiver: Callable[..., None]
    worker_env: Callable[[int], dict[str, str]]
    seed: Callable[[str, int, int], Seeded]
    rows: Callable[[Any], dict[str, Any]]
    statuses: Callable[[Any], dict[str, int]]
    cleanup: Callable[[], None]
    receiver_args: tuple = ()
    receiver_label: str = "receiver"
    timeout_s: float = 180


@dataclass
class Figures:
    count: int
    received: int
    duplicates: int
    stored_per_s: float
    delivered_per_s: float
    elapsed_s: float
    latency_ms: dict[str, float]
    statuses: dict[str, int]
    cpu_ms_per_message: dict[str, float]
    machine_busy: float
    receiver_extra: Any = None
    notes: list[str] = field(default_factory=list)

    def meets(self, *, per_s: float = 500, p99_ms: float = 1000) -> bool:
        return (self.received == self.count and self.duplicates == 0 and self.delivered_per_s >= per_s
                and self.latency_ms["p99"] < p99_ms)  # fmt: skip


def _worker(settings_module: str, env: dict[str, str], queues: list[str]) -> None:
    """An RQ SimpleWorker on `queues` (delivery first) with the scenario's environment."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.update(env)
    import django

    django.setup()
    import django_rq
    from django.conf import settings
    from rq import Queue, SimpleWorker

    settings.DEBUG = False  # as in production: no per-query debug logging
    first = django_rq.get_queue(queues[0])
    rest = [Queue(name, connection=first.connection) for name in queues[1:]]
    SimpleWorker([first, *rest], connection=first.connection).work(logging_level="WARNING")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def run_channel(scenario: Scenario, *, count: int) -> Figures:
    """Seed, start the receiver and the workers, warm up, send `count` messages, measure; clean up after."""
    from django.conf import settings

    debug, settings.DEBUG = settings.DEBUG, False
    try:
        return _run(scenario, count=count)
    finally:
        settings.DEBUG = debug
        scenario.cleanup()


def _run(scenario: Scenario, *, count: int) -> Figures:
    import django_rq
    from rq import Queue

    scenario.cleanup()
    produce_name = f"bench-{scenario.name}"
    context = multiprocessing.get_context("spawn")
    port_box, arrived = context.Value("i", 0, lock=False), context.Value("i", 0, lock=False)
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    receiver = context.Process(target=scenario.receiver, daemon=True,
                               args=(port_box, arrived, ready, stop, results, *scenario.receiver_args))  # fmt: skip
    receiver.start()
    if not ready.wait(60):
        receiver.terminate()
        raise RuntimeError(f"bench {scenario.name}: the local {scenario.receiver_label} did not start")
    port = port_box.value
    seeded = scenario.seed(f"bench-{scenario.name}", count, port)
    warm = scenario.seed(f"bench-{scenario.name}-warm-up", WARM_UP, port)
    produce_queue = Queue(produce_name, connection=django_rq.get_connection(scenario.delivery_queue))
    produce_queue.empty()
    django_rq.get_queue(scenario.delivery_queue).empty()
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "penguinflow.settings.base")
    workers = [context.Process(target=_worker, daemon=True, args=(settings_module, scenario.worker_env(port),
                                                                  [scenario.delivery_queue, produce_name]))
               for _ in range(WORKERS)]  # fmt: skip
    for worker in workers:
        worker.start()

    def enqueue(target: Seeded, total: int, offset: int) -> None:
        for first in range(0, total, BATCH):
            ids = [str(contact.pk) for contact in target.contacts[first : first + BATCH]]
            produce_queue.enqueue(scenario.produce, *target.args, ids, offset + first, result_ttl=60)

    def wait_for(total: int, seconds: float) -> int:
        deadline = time.time() + seconds
        while arrived.value < total and time.time() < deadline:
            time.sleep(0.02)
        return arrived.value

    enqueue(warm, WARM_UP, count)
    warmed = wait_for(WARM_UP, 120)
    if warmed != WARM_UP:  # late warm-up messages would be counted as measured ones
        for process in (*workers, receiver):
            process.terminate()
        produce_queue.empty()
        raise RuntimeError(f"bench {scenario.name}: the warm-up delivered {warmed} of {WARM_UP} messages in 120 s")

    cpu_before = {"workers": sum(process_cpu(w.pid) for w in workers), scenario.receiver_label:
                  process_cpu(receiver.pid), "postgres": postgres_cpu()}  # fmt: skip
    machine_before = machine_cpu()
    started = time.time()
    log: list[tuple[str, float]] = []
    extra: Any = None
    try:
        enqueue(seeded, count, 0)
        wait_for(warmed + count, scenario.timeout_s)
        cpu_after = {"workers": sum(process_cpu(w.pid) for w in workers), scenario.receiver_label:
                     process_cpu(receiver.pid), "postgres": postgres_cpu()}  # fmt: skip
        machine = [after - before for after, before in zip(machine_cpu(), machine_before, strict=True)]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(10)
        stop.set()
        try:
            log, extra = results.get(timeout=30)
        except Exception:  # queue.Empty: the receiver died; report what it counted
            log = []
        receiver.join(10)
        produce_queue.empty()

    created = {key: at.timestamp() for key, at in scenario.rows(seeded.workspace).items()}
    measured = [(key, at) for key, at in log if key in created]  # not the warm-up's
    arrivals = dict(measured)
    finished = max(arrivals.values()) if arrivals else time.time()
    latencies = [(at - created[key]) * 1000 for key, at in arrivals.items()]
    stored = max(created.values()) if created else started
    elapsed = finished - started
    return Figures(
        count=count, received=len(arrivals), duplicates=len(measured) - len(arrivals),
        stored_per_s=count / max(stored - started, 1e-9), delivered_per_s=len(arrivals) / max(elapsed, 1e-9),
        elapsed_s=elapsed,
        latency_ms={name: percentile(latencies, fraction) for name, fraction in
                    (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))},
        statuses=scenario.statuses(seeded.workspace),
        cpu_ms_per_message={name: (cpu_after[name] - cpu_before[name]) * 1000 / max(count, 1) for name in cpu_before},
        machine_busy=machine[0] / max(machine[1], 1e-9), receiver_extra=extra,
    )  # fmt: skip


def write_figures(out: TextIO, prefix: str, figures: Figures, *, lines: list[tuple[str, str]] = (),
                  stored_label: str = "into the outbox") -> None:
    """Print a channel's figures, one `prefix.name  value  (note)` per line; `lines` are the scenario's own,
    printed after `received`."""
    def line(name: str, value: Any, note: str = "") -> None:
        out.write(f"{prefix}.{name}".ljust(31) + " " + f"{value}" + (f"   ({note})" if note else "") + "\n")

    line("messages", figures.count)
    line("python_speed_ms", f"{python_speed_ms():.0f}", "fixed pure-Python work; lower is a faster machine")
    line("received", figures.received)
    line("duplicates", figures.duplicates)
    for name, value in lines:
        line(name, value)
    line("workers", f"{WORKERS} (rq SimpleWorker; steps and delivery)")
    line("stored_per_s", f"{figures.stored_per_s:.0f}", stored_label)
    line("delivered_per_s", f"{figures.delivered_per_s:.0f}", "target >= 500")
    line("elapsed_s", f"{figures.elapsed_s:.2f}")
    line("latency_ms_p50", f"{figures.latency_ms['p50']:.0f}", "step to hand-off")
    line("latency_ms_p95", f"{figures.latency_ms['p95']:.0f}")
    line("latency_ms_p99", f"{figures.latency_ms['p99']:.0f}", "target < 1000")
    line("outbox_statuses", figures.statuses)
    line("cpu_ms_per_message", " ".join(f"{k}={v:.2f}" for k, v in figures.cpu_ms_per_message.items()))
    line("machine_busy", f"{figures.machine_busy:.0%} of all cores during the run")
    line("load_average", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    out.flush()
