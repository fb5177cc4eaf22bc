"""Benchmark of web push: notifications stored by the runtime's send_push port and handed to a local push service,
per second, and the time from the step to the hand-off.

A local push service (bench/_push_service.py: TLS, it checks each VAPID JWT and decrypts each message with the
browser's keys, as a browser vendor's service and the browser do between them) runs in its own process. Two RQ
SimpleWorker processes (non-forking, as in production) do all the work, as the runtime's workers do: "produce" jobs
(queue `bench-push`: a batch of run_scheduler's default size, 100 contacts locked in one transaction, each sent a
notification through the runtime's `LivePush` port: Liquid, consent, outbox rows) and the delivery jobs those
enqueue after commit (queue "push", listened to first). WARM_UP messages go through first (a workspace of their
own). The figure runs from the moment the produce jobs are enqueued to the last message decrypted by the service;
latency is from the step (an outbox row's creation) to its arrival at the push service. Target: at least 500
messages per second with 2 workers, p99 step → hand-off under 1 s. Prints figures, asserts nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import shutil
import sys
import time
import uuid
from typing import TextIO

from bench._support import machine_cpu, postgres_cpu, process_cpu, python_speed_ms

N_FULL, N_QUICK = 5000, 500
WARM_UP = 400
BATCH = 100  # run_scheduler's default --batch-size
WORKERS = 2
SLUG = "bench-push"
PRODUCE_QUEUE = "bench-push"


def produce(workspace_id: str, contact_ids: list[str], first: int) -> int:
    """RQ job: what a runtime batch whose enrollments reach a `send_push` step does, for 100 contacts in one
    transaction: lock the batch's contacts (`ContactBook`), send each a notification through the runtime's port,
    write the batch's outbox rows in one statement."""
    from django.db import transaction

    from penguinflow.workspaces.models import Workspace
    from workflows.live_ports import ContactBook, Origin
    from workflows.push_port import LivePush

    workspace = Workspace.objects.get(pk=workspace_id)
    origin = Origin(workflow_id=str(uuid.UUID(int=1)), version_id=str(uuid.UUID(int=2)))
    with transaction.atomic():
        book = ContactBook.lock(contact_ids, batch_outbox=True)
        port = LivePush(book, origin, workspace)
        for n, contact_id in enumerate(contact_ids):
            port.send(key=f"{uuid.UUID(int=first + n + 1)}:n1:1", node_id="n1", contact_id=contact_id,
                      title="Hi {{ contact.first_name }}", body="Your {{ contact.fields.plan }} plan is ready.",
                      url="https://example.com/plan", icon=None, topic=None)  # fmt: skip
        book.flush_outbox()  # as the runtime does before it records the batch's steps
    return len(contact_ids)


def _push_service(browsers, arrived, ready, stop, results, port_value) -> None:
    """Run the local push service until `stop` is set; then put [(message id, arrival time)] on `results`."""
    import threading

    from bench._push_service import PushService

    service = PushService(record_payloads=False)
    service.add_browsers(browsers)
    service.start()
    port_value.value = service.port
    shutil.copy(service.ca_file, os.path.join(os.environ["BENCH_PUSH_DIR"], "ca.pem"))
    ready.set()

    def count() -> None:
        while not stop.is_set():
            arrived.value = service.arrivals
            time.sleep(0.02)

    threading.Thread(target=count, daemon=True).start()
    stop.wait()
    arrived.value = service.arrivals
    results.put(
        ([(m.payload.get("id"), m.at) for m in service.received], [r.reason for r in service.refused[:5]])
    )
    service.stop()


def _worker(settings_module: str, ca_file: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"
    os.environ["PUSH_CA_CERTS"] = ca_file
    import django

    django.setup()
    import django_rq
    from django.conf import settings
    from rq import Queue, SimpleWorker

    settings.DEBUG = False
    push = django_rq.get_queue("push")
    SimpleWorker([push, Queue(PRODUCE_QUEUE, connection=push.connection)], connection=push.connection).work(
        logging_level="WARNING"
    )


def _browsers(count: int) -> list[tuple[str, bytes, bytes]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    made = []
    for _ in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
        made.append((secrets.token_urlsafe(12), pem, secrets.token_bytes(16)))
    return made


def _workspace(slug: str, browsers, port: int):
    """A workspace whose contacts each have one browser on the local push service (and push consent)."""
    from cryptography.hazmat.primitives import serialization
    from django.utils import timezone

    from bench._push_service import b64url
    from contacts.models import Contact
    from penguinflow.workspaces.models import Workspace
    from push.models import PushSubscription
    from push.vapid import push_settings_get

    workspace = Workspace.objects.create(slug=slug, name="Bench push")
    push_settings_get(workspace=workspace)
    entry = {
        "status": "subscribed",
        "source": "push_subscription",
        "at": timezone.now().isoformat(),
        "devices": 1,
    }
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"bench{n}@example.com", first_name=f"Person{n}", fields={"plan": "pro"},
                channels={"push": entry})
        for n in range(len(browsers))
    )  # fmt: skip
    subscriptions = []
    for contact, (browser_id, pem, auth) in zip(contacts, browsers, strict=True):
        public = (
            serialization.load_pem_private_key(pem, password=None)
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        subscriptions.append(
            PushSubscription(
                workspace=workspace,
                contact=contact,
                p256dh=b64url(public),
                auth=b64url(auth),
                endpoint=f"https://127.0.0.1:{port}/push/{browser_id}",
            )
        )
    PushSubscription.objects.bulk_create(subscriptions)
    return workspace, contacts


def _cleanup() -> None:
    from django.db import connection

    from contacts.models import Contact
    from events.models import Event
    from penguinflow.workspaces.models import Workspace
    from push.models import PushMessage, PushSubscription

    for workspace in Workspace.objects.filter(slug__in=[SLUG, f"{SLUG}-warm-up"]):
        Event.objects.filter(workspace=workspace).delete()
        PushMessage.objects.filter(workspace=workspace).delete()
        Contact.objects.filter(workspace=workspace).delete()
        workspace.delete()
    with connection.cursor() as cursor:
        for model in (PushMessage, PushSubscription, Contact, Event):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    from django.conf import settings

    debug, settings.DEBUG = settings.DEBUG, False
    try:
        _run(out=out, count=N_QUICK if quick else N_FULL)
    finally:
        settings.DEBUG = debug


def _run(*, out: TextIO, count: int) -> None:
    import tempfile

    import django_rq
    from django.db.models import Count
    from rq import Queue

    from push.models import PushMessage

    _cleanup()
    browsers, warm_browsers = _browsers(count), _browsers(WARM_UP)
    folder = tempfile.mkdtemp(prefix="pf-bench-push-")
    os.environ["BENCH_PUSH_DIR"] = folder
    context = multiprocessing.get_context("spawn")
    arrived, ready, stop, results = (
        context.Value("i", 0, lock=False),
        context.Event(),
        context.Event(),
        context.Queue(),
    )
    port_value = context.Value("i", 0, lock=False)
    service = context.Process(target=_push_service, args=(browsers + warm_browsers, arrived, ready, stop, results,
                                                          port_value), daemon=True)  # fmt: skip
    service.start()
    if not ready.wait(60):
        raise RuntimeError("bench push: the local push service did not start")
    workspace, contacts = _workspace(SLUG, browsers, port_value.value)
    warm_workspace, warm_contacts = _workspace(f"{SLUG}-warm-up", warm_browsers, port_value.value)
    produce_queue = Queue(PRODUCE_QUEUE, connection=django_rq.get_connection("push"))
    produce_queue.empty()
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "penguinflow.settings.base")
    ca_file = os.path.join(folder, "ca.pem")
    workers = [
        context.Process(target=_worker, args=(settings_module, ca_file), daemon=True) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for first in range(0, WARM_UP, BATCH):
        ids = [str(c.pk) for c in warm_contacts[first : first + BATCH]]
        produce_queue.enqueue(produce, str(warm_workspace.pk), ids, count + first, result_ttl=60)
    deadline = time.time() + 120
    while arrived.value < WARM_UP and time.time() < deadline:
        time.sleep(0.05)
    warmed = arrived.value
    if warmed != WARM_UP:
        for process in (*workers, service):
            process.terminate()
        raise RuntimeError(f"bench push: the warm-up delivered {warmed} of {WARM_UP} messages in 120 s")

    cpu_before = {"workers": sum(process_cpu(w.pid) for w in workers), "push_service": process_cpu(service.pid),
                  "postgres": postgres_cpu()}  # fmt: skip
    machine_before = machine_cpu()
    started = time.time()
    log: list[tuple[str, float]] = []
    refused: list[str] = []
    try:
        for first in range(0, count, BATCH):
            ids = [str(c.pk) for c in contacts[first : first + BATCH]]
            produce_queue.enqueue(produce, str(workspace.pk), ids, first, result_ttl=60)
        deadline = time.time() + 180
        while arrived.value < warmed + count and time.time() < deadline:
            time.sleep(0.05)
        cpu = {"workers": sum(process_cpu(w.pid) for w in workers) - cpu_before["workers"],
               "push_service": process_cpu(service.pid) - cpu_before["push_service"],
               "postgres": postgres_cpu() - cpu_before["postgres"]}  # fmt: skip
        machine = [after - before for after, before in zip(machine_cpu(), machine_before, strict=True)]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(10)
        stop.set()
        try:
            log, refused = results.get(timeout=30)
        except Exception:  # queue.Empty: the service died; report what the counter saw
            log = []
        service.join(10)
        produce_queue.empty()

    created = {
        str(pk): at
        for pk, at in PushMessage.objects.filter(workspace=workspace).values_list("id", "created_at")
    }
    arrivals = {message_id: at for message_id, at in log if message_id in created}
    duplicates = len([m for m, _ in log if m in created]) - len(arrivals)
    finished = max(arrivals.values()) if arrivals else time.time()
    latencies = [(at - created[key].timestamp()) * 1000 for key, at in arrivals.items()]
    elapsed = finished - started
    statuses = dict(PushMessage.objects.filter(workspace=workspace).values("status").annotate(n=Count("id"))
                    .values_list("status", "n"))  # fmt: skip
    stored = max(created.values()).timestamp() if created else started
    out.write(f"push.messages                  {count}\n")
    out.write(
        f"push.python_speed_ms           {python_speed_ms():.0f}   (fixed pure-Python work; lower is a faster machine)\n"
    )
    out.write(
        f"push.received                  {len(arrivals)}   (decrypted and VAPID-checked by the local push service)\n"
    )
    out.write(f"push.duplicates                {duplicates}\n")
    out.write(f"push.refused_by_service        {refused[:3]}\n")
    out.write(f"push.workers                   {WORKERS} (rq SimpleWorker; steps and delivery)\n")
    out.write(
        f"push.stored_per_s              {count / max(stored - started, 1e-9):.0f}   (LivePush.send into the outbox)\n"
    )
    out.write(f"push.delivered_per_s           {len(arrivals) / max(elapsed, 1e-9):.0f}   (target >= 500)\n")
    out.write(f"push.elapsed_s                 {elapsed:.2f}\n")
    out.write(f"push.latency_ms_p50            {_percentile(latencies, 0.50):.0f}   (step → hand-off)\n")
    out.write(f"push.latency_ms_p95            {_percentile(latencies, 0.95):.0f}\n")
    out.write(f"push.latency_ms_p99            {_percentile(latencies, 0.99):.0f}   (target < 1000)\n")
    out.write(f"push.outbox_statuses           {statuses}\n")
    per = {name: seconds * 1000 / max(count, 1) for name, seconds in cpu.items()}
    out.write("push.cpu_ms_per_message        " + " ".join(f"{k}={v:.2f}" for k, v in per.items()) + "\n")
    out.write(
        f"push.machine_busy              {machine[0] / max(machine[1], 1e-9):.0%} of all cores during the run\n"
    )
    out.write(f"push.load_average              {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    out.flush()
    _cleanup()
