"""Benchmark of email delivery: messages rendered, stored in the outbox and handed to a local SMTP server, per second.

A local aiosmtpd server runs in its own process, offering PIPELINING as real mail servers do
(BENCH_EMAIL_PIPELINING=0: without; the envelope then takes three round trips instead of one). Two RQ
SimpleWorker processes (non-forking, as in production) do all the work, as the runtime's workers do: they run
"produce" jobs (queue `bench-email`: a batch of run_scheduler's default size, 100 contacts locked in one
transaction, each sent an email through the runtime's send_email port) and the delivery jobs that those enqueue
after commit (queue "email", listened to first). Before the clock starts, WARM_UP messages go through the
workers (in a workspace of their own). The figure is measured from the moment the produce jobs are enqueued to
the last message received by the SMTP server; latency is from an outbox row's creation to its arrival. Uses
dedicated workspaces, deleted afterwards. Target: at least 500 messages per second with 2 workers on a 2-core
machine. Prints figures, asserts nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import time
import uuid
from typing import TextIO

from bench._support import machine_cpu, postgres_cpu, process_cpu, python_speed_ms

# Django, the apps and RQ are imported inside the functions that use them: the spawned worker and SMTP server
# processes import this module before Django is set up (and the SMTP server never sets it up).

N_FULL, N_QUICK = 5000, 500
WARM_UP = 400  # messages sent before the clock starts
BATCH = 100  # run_scheduler's default --batch-size
WORKERS = 2
SLUG = "bench-email"
PRODUCE_QUEUE = "bench-email"
PIPELINING = os.environ.get("BENCH_EMAIL_PIPELINING", "1") != "0"  # does the stand-in server offer PIPELINING


def produce(workspace_id: str, template_id: str, contact_ids: list[str], first: int) -> int:
    """RQ job: what a runtime batch whose enrollments reach a `send_email` step does, for 100 contacts in one
    transaction: lock the batch's contacts (`ContactBook`), render each email through the runtime's own
    send_email port, write the batch's outbox rows in one statement; return how many."""
    from django.db import transaction

    from penguinflow.workspaces.models import Workspace
    from workflows.email_port import send_through_outbox
    from workflows.live_ports import ContactBook, Origin

    workspace = Workspace.objects.get(pk=workspace_id)
    origin = Origin(workflow_id=str(uuid.UUID(int=1)), version_id=str(uuid.UUID(int=2)))
    with transaction.atomic():
        book = ContactBook.lock(contact_ids, batch_outbox=True)
        for n, contact_id in enumerate(contact_ids):
            enrollment_id = uuid.UUID(int=first + n + 1)
            send_through_outbox(
                key=f"{enrollment_id}:n1:1", workspace=workspace, contact=book.get(contact_id),
                template_id=template_id, origin=origin, node_id="n1", from_email=None, reply_to=None,
                track_opens=True, track_clicks=True, book=book, context={"event": {"type": "contact.created"}},
            )  # fmt: skip
        book.flush_outbox()  # as the runtime does before it records the batch's steps
    return len(contact_ids)


def _smtp_server(port: int, arrived, ready, stop, results, pipelining: bool = True) -> None:
    """Run aiosmtpd until `stop` is set, counting arrivals in `arrived`; then put [(outbox id, time)] on `results`.

    The handler only appends to a list: the bench's own bookkeeping should cost the machine as little as a
    remote mail server would. With `pipelining` it offers PIPELINING (RFC 2920), as Postfix, Exim and the ESPs'
    relays do (aiosmtpd reads pipelined commands in order but does not say so by itself).
    """
    from aiosmtpd.controller import Controller

    log: list[tuple[str, float]] = []

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]] if pipelining else responses

        async def handle_DATA(self, server, session, envelope):
            content = envelope.original_content
            start = content.find(b"X-PenguinFlow-Message: ")
            log.append((content[start + 23 : start + 59].decode() if start >= 0 else "", time.time()))
            arrived.value = len(log)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    results.put(log)


def _worker(smtp_port: int, settings_module: str) -> None:
    """An RQ SimpleWorker on queue "email" that delivers to the bench's SMTP server."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    import django

    django.setup()
    import django_rq
    from django.conf import settings
    from rq import Queue, SimpleWorker

    settings.DEBUG = False  # measure as production runs: no per-query debug logging

    email = django_rq.get_queue("email")
    queues = [email, Queue(PRODUCE_QUEUE, connection=email.connection)]
    SimpleWorker(queues, connection=email.connection).work(logging_level="WARNING")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _uuid(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _cleanup() -> None:
    """Delete the bench's workspace and what it wrote, then VACUUM the tables it wrote to, as autovacuum would
    have done by the next run (a PostgreSQL running without autovacuum, like this project's CI machine, would
    otherwise slow every later run down with the dead rows of the earlier ones)."""
    from django.db import connection

    from contacts.models import Contact
    from events.models import Event
    from penguinflow.workspaces.models import Workspace
    from templates.models import OutboxMessage

    for workspace in Workspace.objects.filter(slug__in=[SLUG, f"{SLUG}-warm-up"]):
        Event.objects.filter(workspace=workspace).delete()
        Contact.objects.filter(workspace=workspace).delete()
        workspace.delete()
    with connection.cursor() as cursor:
        for model in (OutboxMessage, Contact, Event):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def _workspace(slug: str, count: int):
    """A workspace with the bench's template and `count` subscribed contacts."""
    from contacts.models import Contact
    from penguinflow.workspaces.models import Workspace
    from templates.models import EmailTemplate

    workspace = Workspace.objects.create(slug=slug, name="Bench email", from_email="Bench <bench@penguinmails.test>",
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
    return workspace, template, contacts


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    from django.conf import settings

    count = N_QUICK if quick else N_FULL
    debug, settings.DEBUG = settings.DEBUG, False  # as in production: no per-query debug logging
    try:
        _run(out=out, count=count)
    finally:
        settings.DEBUG = debug


def _run(*, out: TextIO, count: int) -> None:
    import django_rq
    from django.db.models import Count

    from templates.models import OutboxMessage

    _cleanup()
    workspace, template, contacts = _workspace(SLUG, count)
    # Before the clock: a few batches through the workers, so that what a long-running worker has done long
    # ago (first imports, lazily compiled patterns, database and SMTP connections) is not counted.
    warm_workspace, warm_template, warm_contacts = _workspace(f"{SLUG}-warm-up", WARM_UP)
    from rq import Queue

    produce_queue = Queue(PRODUCE_QUEUE, connection=django_rq.get_connection("email"))
    produce_queue.empty()

    context = multiprocessing.get_context("spawn")
    arrived, ready, stop, results = context.Value("i", 0, lock=False), context.Event(), context.Event(), context.Queue()
    port = _free_port()
    smtp = context.Process(target=_smtp_server, args=(port, arrived, ready, stop, results, PIPELINING), daemon=True)
    smtp.start()
    ready.wait(30)
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "penguinflow.settings.base")
    workers = [context.Process(target=_worker, args=(port, settings_module), daemon=True) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    for first in range(0, WARM_UP, BATCH):
        ids = [str(contact.pk) for contact in warm_contacts[first : first + BATCH]]
        produce_queue.enqueue(produce, str(warm_workspace.pk), str(warm_template.pk), ids, count + first, result_ttl=60)
    deadline = time.time() + 60
    while arrived.value < WARM_UP and time.time() < deadline:
        time.sleep(0.05)
    warmed = arrived.value
    if warmed != WARM_UP:  # late warm-up messages would be counted as measured ones
        for process in (*workers, smtp):
            process.terminate()
        produce_queue.empty()
        raise RuntimeError(f"bench email: the warm-up delivered {warmed} of {WARM_UP} messages in 60 s")

    cpu_before = {"workers": sum(process_cpu(w.pid) for w in workers), "smtp": process_cpu(smtp.pid),
                  "postgres": postgres_cpu()}  # fmt: skip
    machine_before = machine_cpu()
    started = time.time()
    log: list[tuple[str, float]] = []
    try:
        for first in range(0, count, BATCH):
            ids = [str(contact.pk) for contact in contacts[first : first + BATCH]]
            produce_queue.enqueue(produce, str(workspace.pk), str(template.pk), ids, first, result_ttl=60)
        deadline = time.time() + 180
        while arrived.value < warmed + count and time.time() < deadline:
            time.sleep(0.05)
        cpu = {"workers": sum(process_cpu(w.pid) for w in workers) - cpu_before["workers"],
               "smtp": process_cpu(smtp.pid) - cpu_before["smtp"],
               "postgres": postgres_cpu() - cpu_before["postgres"]}  # fmt: skip
        machine = [after - before for after, before in zip(machine_cpu(), machine_before, strict=True)]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(10)
        stop.set()
        try:
            log = results.get(timeout=10)
        except Exception:  # queue.Empty: the server died; report what the counter saw
            log = []
        smtp.join(10)
        produce_queue.empty()

    created = dict(OutboxMessage.objects.filter(workspace=workspace).values_list("id", "created_at"))
    arrivals = {outbox_id: at for outbox_id, at in log if _uuid(outbox_id) in created}  # not the warm-up's
    finished = max(arrivals.values()) if arrivals else time.time()
    latencies = [(at - created[_uuid(key)].timestamp()) * 1000 for key, at in arrivals.items()]
    produced = max(created.values()).timestamp() if created else started
    elapsed = finished - started
    statuses = dict(
        OutboxMessage.objects.filter(workspace=workspace).values("status").annotate(n=Count("id"))
        .values_list("status", "n")
    )
    out.write(f"email.messages                 {count}\n")
    out.write(f"email.python_speed_ms          {python_speed_ms():.0f}   (fixed pure-Python work; lower is a faster machine)\n")
    out.write(f"email.received                 {len(arrivals)}\n")
    out.write(f"email.workers                  {WORKERS} (rq SimpleWorker; rendering and delivery)\n")
    out.write(f"email.smtp_server              aiosmtpd, {'offering' if PIPELINING else 'without'} PIPELINING"
              "   (BENCH_EMAIL_PIPELINING=0: without)\n")
    out.write(f"email.rendered_per_s           {count / max(produced - started, 1e-9):.0f}   (email_send into the outbox)\n")
    out.write(f"email.delivered_per_s          {len(arrivals) / max(elapsed, 1e-9):.0f}   (target >= 500)\n")
    out.write(f"email.elapsed_s                {elapsed:.2f}\n")
    out.write(f"email.latency_ms_p50           {_percentile(latencies, 0.50):.0f}\n")
    out.write(f"email.latency_ms_p95           {_percentile(latencies, 0.95):.0f}\n")
    out.write(f"email.latency_ms_p99           {_percentile(latencies, 0.99):.0f}\n")
    out.write(f"email.outbox_statuses          {statuses}\n")
    # CPU per message by process (the SMTP server stands in for a remote one): what the figure is on a busy machine.
    per = {name: seconds * 1000 / max(count, 1) for name, seconds in cpu.items()}
    out.write("email.cpu_ms_per_message       " + " ".join(f"{k}={v:.2f}" for k, v in per.items()) + "\n")
    out.write(f"email.machine_busy             {machine[0] / max(machine[1], 1e-9):.0%} of all cores during the run\n")
    out.write(f"email.load_average             {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    out.flush()
    _cleanup()
