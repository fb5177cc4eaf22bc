"""Benchmark of email delivery: messages rendered, stored in the outbox and handed to a local SMTP server, per second.

A local aiosmtpd server runs in its own process; two RQ SimpleWorker processes (non-forking, as in production)
drain queue "email"; the producer calls `email_send` in transactions of 50 (as the runtime's batches do), which
enqueue one delivery job per transaction after commit. The figure is measured from the first `email_send` to the
last message received by the SMTP server. Uses a dedicated workspace, deleted afterwards.
Target: at least 500 messages per second with 2 workers on a 2-core machine. Prints figures, asserts nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import time
from typing import TextIO

N_FULL, N_QUICK = 5000, 500
BATCH = 50
WORKERS = 2
SLUG = "bench-email"


def _smtp_server(port: int, received, ready, stop) -> None:
    """Run aiosmtpd until `stop` is set; put (outbox id, arrival time) on `received` for each message."""
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            content = envelope.original_content
            start = content.find(b"X-PenguinFlow-Message: ")
            outbox_id = content[start + 23 : start + 59].decode() if start >= 0 else ""
            received.put((outbox_id, time.time()))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def _worker(smtp_port: int, settings_module: str) -> None:
    """An RQ SimpleWorker on queue "email" that delivers to the bench's SMTP server."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    import django

    django.setup()
    import django_rq
    from django.conf import settings
    from rq import SimpleWorker

    settings.DEBUG = False  # measure as production runs: no per-query debug logging

    queue = django_rq.get_queue("email")
    SimpleWorker([queue], connection=queue.connection).work(logging_level="WARNING")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds used so far by a process (Linux /proc), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _cleanup() -> None:
    from contacts.models import Contact
    from events.models import Event
    from penguinflow.workspaces.models import Workspace

    for workspace in Workspace.objects.filter(slug=SLUG):
        Event.objects.filter(workspace=workspace).delete()
        Contact.objects.filter(workspace=workspace).delete()
        workspace.delete()


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    from django.conf import settings

    count = N_QUICK if quick else N_FULL
    debug, settings.DEBUG = settings.DEBUG, False  # as in production: no per-query debug logging
    try:
        _run(out=out, count=count)
    finally:
        settings.DEBUG = debug


def _run(*, out: TextIO, count: int) -> None:
    from django.db import transaction
    from django.db.models import Count

    from contacts.models import Contact
    from penguinflow.workspaces.models import Workspace
    from templates.models import EmailTemplate, OutboxMessage
    from templates.services import email_send

    _cleanup()
    workspace = Workspace.objects.create(slug=SLUG, name="Bench email", from_email="Bench <bench@penguinmails.test>",
                                         send_rate_per_minute=10_000_000)  # fmt: skip
    template = EmailTemplate.objects.create(
        workspace=workspace, name="Bench", subject="Hello {{ contact.first_name | default: 'there' }}",
        html=(
            "<html><body><h1>Hi {{ contact.first_name }}</h1><p>Your plan: {{ contact.fields.plan | upcase }}.</p>"
            '<p><a href="https://example.com/pricing">Pricing</a> · <a href="https://example.com/docs">Docs</a> · '
            '<a href="https://example.com/book-demo?utm_source=email">Book a demo</a></p>'
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
        ),
    )  # fmt: skip
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"bench{n}@example.com", first_name=f"Person{n}", fields={"plan": "pro"})
        for n in range(count)
    )

    context = multiprocessing.get_context("spawn")
    received, ready, stop = context.Queue(), context.Event(), context.Event()
    port = _free_port()
    smtp = context.Process(target=_smtp_server, args=(port, received, ready, stop), daemon=True)
    smtp.start()
    ready.wait(30)
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "penguinflow.settings.dev")
    workers = [context.Process(target=_worker, args=(port, settings_module), daemon=True) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    time.sleep(3)  # let the workers import Django and connect before the clock starts

    sent_at: dict[str, float] = {}
    arrived: dict[str, float] = {}
    cpu_before = {"workers": sum(_cpu_seconds(w.pid) for w in workers), "smtp": _cpu_seconds(smtp.pid)}
    producer_cpu = time.process_time()
    started = time.time()
    try:
        for start in range(0, count, BATCH):
            with transaction.atomic():
                for n in range(start, min(start + BATCH, count)):
                    result = email_send(
                        key=f"bench:{n}", workspace=workspace, contact=contacts[n], template=template,
                        context={"event": {"type": "contact.created"}}, node_id="n1",
                    )  # fmt: skip
                    sent_at[result.message_id] = time.time()
        produced = time.time()
        producer_cpu = time.process_time() - producer_cpu
        deadline = time.time() + 120
        while len(arrived) < count and time.time() < deadline:
            try:
                outbox_id, at = received.get(timeout=1)
            except Exception:  # queue.Empty: keep waiting until the deadline
                continue
            arrived[outbox_id] = at
        finished = max(arrived.values()) if arrived else time.time()
        cpu = {"workers": sum(_cpu_seconds(w.pid) for w in workers) - cpu_before["workers"],
               "smtp": _cpu_seconds(smtp.pid) - cpu_before["smtp"], "producer": producer_cpu}  # fmt: skip
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(10)
        stop.set()
        smtp.join(10)

    elapsed = finished - started
    latencies = [(arrived[k] - sent_at[k]) * 1000 for k in arrived if k in sent_at]
    statuses = dict(
        OutboxMessage.objects.filter(workspace=workspace).values("status").annotate(n=Count("id"))
        .values_list("status", "n")
    )
    out.write(f"email.messages                 {count}\n")
    out.write(f"email.received                 {len(arrived)}\n")
    out.write(f"email.workers                  {WORKERS} (rq SimpleWorker)\n")
    out.write(f"email.enqueue_rate_per_s       {count / max(produced - started, 1e-9):.0f}\n")
    out.write(f"email.delivered_per_s          {len(arrived) / max(elapsed, 1e-9):.0f}   (target >= 500)\n")
    out.write(f"email.elapsed_s                {elapsed:.2f}\n")
    out.write(f"email.latency_ms_p50           {_percentile(latencies, 0.50):.0f}\n")
    out.write(f"email.latency_ms_p95           {_percentile(latencies, 0.95):.0f}\n")
    out.write(f"email.latency_ms_p99           {_percentile(latencies, 0.99):.0f}\n")
    out.write(f"email.outbox_statuses          {statuses}\n")
    # CPU per message of our processes (PostgreSQL and Redis excluded): what the figure is on a busy machine.
    per = {name: seconds * 1000 / max(count, 1) for name, seconds in cpu.items()}
    out.write("email.cpu_ms_per_message       " + " ".join(f"{k}={v:.2f}" for k, v in per.items()) + "\n")
    out.write(f"email.load_average             {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    out.flush()
    _cleanup()
