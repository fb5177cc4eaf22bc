"""Benchmark of SMS delivery: messages rendered, consent-checked and stored in the SMS outbox by the runtime's own
send_sms port, then handed to a local Twilio-compatible server, per second (issue 18: >= 500/s with 2 workers,
p99 from step to hand-off < 1 s).

The Twilio stand-in (bench/_twilio.py: the Messages API subset the backend speaks, HTTP/1.1 keep-alive) runs in
a process of its own, as a remote provider would. Two RQ SimpleWorker processes (non-forking, as in production)
do all the work: "produce" jobs (queue `bench-sms`: a batch of run_scheduler's default size, 100 contacts locked
in one transaction, each sent an SMS through `workflows.sms_port.LiveSms`, as a runtime batch does) and the
delivery jobs those enqueue after commit (queue "sms", listened to first). Before the clock starts, WARM_UP
messages go through the workers (in a workspace of their own). The figure is measured from the moment the produce
jobs are enqueued to the last message received; latency is from an outbox row's creation (the step) to its
arrival at the server (the hand-off). Quiet hours are set to none, so that the hour of the run does not decide
the figure. Uses dedicated workspaces, deleted afterwards. Prints figures, asserts nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import uuid
from typing import TextIO

from bench._support import machine_cpu, postgres_cpu, process_cpu, python_speed_ms

N_FULL, N_QUICK = 5000, 500
WARM_UP = 400
BATCH = 100  # run_scheduler's default --batch-size
WORKERS = 2
SLUG = "bench-sms"
PRODUCE_QUEUE = "bench-sms"
TEXT = "Hi {{ contact.first_name }}, your {{ contact.fields.plan | upcase }} order has shipped. Reply STOP to opt out."
NO_QUIET_HOURS = {"start": "00:00", "end": "00:00"}


def produce(workspace_id: str, contact_ids: list[str], first: int) -> int:
    """RQ job: what a runtime batch whose enrollments reach a `send_sms` step does, for 100 contacts in one
    transaction: lock the batch's contacts (`ContactBook`), send each an SMS through the runtime's SMS port
    (render, consent under the lock, quiet hours), write the batch's SMS rows in one statement; return how many."""
    from django.db import transaction

    from penguinflow.workspaces.models import Workspace
    from workflows.live_ports import ContactBook, Origin
    from workflows.sms_port import LiveSms

    workspace = Workspace.objects.get(pk=workspace_id)
    origin = Origin(workflow_id=str(uuid.UUID(int=1)), version_id=str(uuid.UUID(int=2)))
    with transaction.atomic():
        book = ContactBook.lock(contact_ids, batch_outbox=True)
        port = LiveSms(book, origin, workspace)
        for n, contact_id in enumerate(contact_ids):
            port.send(key=f"{uuid.UUID(int=first + n + 1)}:s1:1", node_id="s1", contact_id=contact_id, text=TEXT,
                      topic=None)  # fmt: skip
        book.flush_outbox()  # as the runtime does before it records the batch's steps
    return len(contact_ids)


def _provider(port_box, arrived, ready, stop, results) -> None:
    """Run the Twilio stand-in until `stop`; count arrivals; then put [(outbox id, arrival time)] on `results`."""
    from bench._twilio import TwilioServer

    server = TwilioServer().start()

    def count() -> None:
        while not stop.is_set():
            arrived.value = len(server.messages)
            time.sleep(0.01)

    import threading

    threading.Thread(target=count, daemon=True).start()
    port_box.value = server.port
    ready.set()
    stop.wait()
    arrived.value = len(server.messages)
    results.put([(message.callback.rpartition("m=")[2], message.at) for message in server.messages])
    server.stop()


def _worker(sms_url: str, settings_module: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["SMS_URL"] = sms_url
    os.environ["SMS_FROM"] = "+15005550006"
    import django

    django.setup()
    import django_rq
    from django.conf import settings
    from rq import Queue, SimpleWorker

    settings.DEBUG = False
    # The row id travels in the status callback URL (never called here: the stand-in posts no callbacks).
    settings.SMS_STATUS_CALLBACKS = True
    sms = django_rq.get_queue("sms")
    SimpleWorker([sms, Queue(PRODUCE_QUEUE, connection=sms.connection)], connection=sms.connection).work(
        logging_level="WARNING"
    )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _cleanup() -> None:
    from django.db import connection

    from contacts.models import ConsentRecord, Contact
    from events.models import Event
    from penguinflow.workspaces.models import Workspace
    from sms.models import SmsMessage

    for workspace in Workspace.objects.filter(slug__in=[SLUG, f"{SLUG}-warm-up"]):
        Event.objects.filter(workspace=workspace).delete()
        Contact.objects.filter(workspace=workspace).delete()
        workspace.delete()
    with connection.cursor() as cursor:
        for model in (SmsMessage, Contact, ConsentRecord, Event):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def _workspace(slug: str, count: int):
    """A workspace and `count` contacts with a number and SMS consent."""
    from django.utils import timezone

    from contacts.models import Contact
    from penguinflow.workspaces.models import Workspace

    workspace = Workspace.objects.create(
        slug=slug, name="Bench SMS", timezone="Europe/Paris", settings={"quiet_hours": NO_QUIET_HOURS}
    )
    consent = {"sms": {"status": "subscribed", "source": "bench", "at": timezone.now().isoformat()}}
    contacts = Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            email=f"sms{n}@example.com",
            first_name=f"Person{n}",
            fields={"plan": "pro"},
            phone=f"+3361{n:07d}",
            channels=consent,
        )
        for n in range(count)
    )
    return workspace, contacts


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    from django.conf import settings

    count = N_QUICK if quick else N_FULL
    debug, settings.DEBUG = settings.DEBUG, False
    try:
        _run(out=out, count=count)
    finally:
        settings.DEBUG = debug


def _run(*, out: TextIO, count: int) -> None:
    import django_rq
    from django.db.models import Count
    from rq import Queue

    from sms.models import SmsMessage

    _cleanup()
    workspace, contacts = _workspace(SLUG, count)
    warm_workspace, warm_contacts = _workspace(f"{SLUG}-warm-up", WARM_UP)
    produce_queue = Queue(PRODUCE_QUEUE, connection=django_rq.get_connection("sms"))
    produce_queue.empty()
    django_rq.get_queue("sms").empty()

    context = multiprocessing.get_context("spawn")
    port_box, arrived = context.Value("i", 0, lock=False), context.Value("i", 0, lock=False)
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    provider = context.Process(target=_provider, args=(port_box, arrived, ready, stop, results), daemon=True)
    provider.start()
    ready.wait(30)
    sms_url = f"twilio+http://AC{'0' * 32}:test-auth-token@127.0.0.1:{port_box.value}"
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "penguinflow.settings.base")
    workers = [
        context.Process(target=_worker, args=(sms_url, settings_module), daemon=True) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for first in range(0, WARM_UP, BATCH):
        ids = [str(c.pk) for c in warm_contacts[first : first + BATCH]]
        produce_queue.enqueue(produce, str(warm_workspace.pk), ids, count + first, result_ttl=60)
    deadline = time.time() + 90
    while arrived.value < WARM_UP and time.time() < deadline:
        time.sleep(0.05)
    warmed = arrived.value
    if warmed != WARM_UP:
        for process in (*workers, provider):
            process.terminate()
        produce_queue.empty()
        raise RuntimeError(f"bench sms: the warm-up delivered {warmed} of {WARM_UP} messages in 90 s")

    cpu_before = {"workers": sum(process_cpu(w.pid) for w in workers), "provider": process_cpu(provider.pid),
                  "postgres": postgres_cpu()}  # fmt: skip
    machine_before = machine_cpu()
    started = time.time()
    log: list[tuple[str, float]] = []
    try:
        for first in range(0, count, BATCH):
            ids = [str(c.pk) for c in contacts[first : first + BATCH]]
            produce_queue.enqueue(produce, str(workspace.pk), ids, first, result_ttl=60)
        deadline = time.time() + 180
        while arrived.value < warmed + count and time.time() < deadline:
            time.sleep(0.05)
        cpu = {"workers": sum(process_cpu(w.pid) for w in workers) - cpu_before["workers"],
               "provider": process_cpu(provider.pid) - cpu_before["provider"],
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
        except Exception:
            log = []
        provider.join(10)
        produce_queue.empty()

    created = {
        str(pk): at
        for pk, at in SmsMessage.objects.filter(workspace=workspace).values_list("id", "created_at")
    }
    arrivals = {row_id: at for row_id, at in log if row_id in created}
    finished = max(arrivals.values()) if arrivals else time.time()
    latencies = [(at - created[row_id].timestamp()) * 1000 for row_id, at in arrivals.items()]
    produced = max(created.values()).timestamp() if created else started
    elapsed = finished - started
    statuses = dict(SmsMessage.objects.filter(workspace=workspace).values("status").annotate(n=Count("id"))
                    .values_list("status", "n"))  # fmt: skip
    out.write(f"sms.messages                   {count}\n")
    out.write(
        f"sms.python_speed_ms            {python_speed_ms():.0f}   (fixed pure-Python work; lower is a faster machine)\n"
    )
    out.write(f"sms.received                   {len(arrivals)}\n")
    out.write(f"sms.workers                    {WORKERS} (rq SimpleWorker; rendering and delivery)\n")
    out.write(
        "sms.provider                   bench/_twilio.py (Twilio Messages API subset, HTTP/1.1 keep-alive)\n"
    )
    out.write(
        f"sms.stored_per_s               {count / max(produced - started, 1e-9):.0f}   (LiveSms into the outbox)\n"
    )
    out.write(f"sms.delivered_per_s            {len(arrivals) / max(elapsed, 1e-9):.0f}   (target >= 500)\n")
    out.write(f"sms.elapsed_s                  {elapsed:.2f}\n")
    out.write(f"sms.latency_ms_p50             {_percentile(latencies, 0.50):.0f}   (step to hand-off)\n")
    out.write(f"sms.latency_ms_p95             {_percentile(latencies, 0.95):.0f}\n")
    out.write(f"sms.latency_ms_p99             {_percentile(latencies, 0.99):.0f}   (target < 1000)\n")
    out.write(f"sms.outbox_statuses            {statuses}\n")
    per = {name: seconds * 1000 / max(count, 1) for name, seconds in cpu.items()}
    out.write("sms.cpu_ms_per_message         " + " ".join(f"{k}={v:.2f}" for k, v in per.items()) + "\n")
    out.write(
        f"sms.machine_busy               {machine[0] / max(machine[1], 1e-9):.0%} of all cores during the run\n"
    )
    out.write(f"sms.load_average               {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    out.flush()
    _cleanup()
