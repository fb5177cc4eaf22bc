"""Benchmark of web push: notifications stored by the runtime's send_push port and handed to a local push service,
per second, and the time from the step to the hand-off (issue 18: >= 500/s with 2 workers, p99 < 1 s).

A local push service (bench/_push_service.py: TLS, it checks each VAPID JWT and decrypts each message with the
browser's keys, as a browser vendor's service and the browser do between them) runs in its own process; the run
itself is the channel benches' (bench/_runner.py: two RQ SimpleWorker processes doing the "produce" jobs, 100
contacts each through the runtime's `LivePush` port: Liquid, consent, outbox rows, and the delivery jobs those
enqueue on queue "push"; a warm-up first, in a workspace of its own). Prints figures, asserts nothing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from typing import TextIO

from bench._runner import Scenario, Seeded, run_channel, write_figures

N_FULL, N_QUICK = 5000, 500
SLUG = "bench-push"


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


def receiver(port_box, arrived, ready, stop, results, browsers, folder: str) -> None:
    """Run the local push service until `stop` is set; then put ([(message id, arrival time)], the first
    refusals) on `results`. Its CA certificate is copied to `folder`/ca.pem for the workers."""
    import threading

    from bench._push_service import PushService

    service = PushService(record_payloads=False)
    service.add_browsers(browsers)
    service.start()
    shutil.copy(service.ca_file, os.path.join(folder, "ca.pem"))
    port_box.value = service.port
    ready.set()

    def count() -> None:
        while not stop.is_set():
            arrived.value = service.arrivals
            time.sleep(0.02)

    threading.Thread(target=count, daemon=True).start()
    stop.wait()
    arrived.value = service.arrivals
    results.put(([(m.payload.get("id"), m.at) for m in service.received], [r.reason for r in service.refused[:5]]))
    service.stop()


def make_browsers(count: int) -> list[tuple[str, bytes, bytes]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    made = []
    for _ in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
        made.append((secrets.token_urlsafe(12), pem, secrets.token_bytes(16)))
    return made


def seed(slug: str, browsers, port: int) -> Seeded:
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
    entry = {"status": "subscribed", "source": "push_subscription", "at": timezone.now().isoformat(), "devices": 1}
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"bench{n}@example.com", first_name=f"Person{n}", fields={"plan": "pro"},
                channels={"push": entry})
        for n in range(len(browsers))
    )  # fmt: skip
    subscriptions = []
    for contact, (browser_id, pem, auth) in zip(contacts, browsers, strict=True):
        public = (serialization.load_pem_private_key(pem, password=None).public_key()
                  .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))  # fmt: skip
        subscriptions.append(PushSubscription(workspace=workspace, contact=contact, p256dh=b64url(public),
                                              auth=b64url(auth), endpoint=f"https://127.0.0.1:{port}/push/{browser_id}"))  # fmt: skip
    PushSubscription.objects.bulk_create(subscriptions)
    return Seeded(workspace, contacts, (str(workspace.pk),))


def cleanup() -> None:
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


def rows(workspace) -> dict:
    from push.models import PushMessage

    return {str(pk): at for pk, at in PushMessage.objects.filter(workspace=workspace).values_list("id", "created_at")}


def statuses(workspace) -> dict:
    from django.db.models import Count

    from push.models import PushMessage

    return dict(PushMessage.objects.filter(workspace=workspace).values("status").annotate(n=Count("id"))
                .values_list("status", "n"))  # fmt: skip


def scenario(count: int) -> Scenario:
    """The push scenario for `count` messages: the browsers' keys are made first (the service must know them)."""
    from bench._runner import WARM_UP

    folder = tempfile.mkdtemp(prefix="pf-bench-push-")
    browsers = {SLUG: make_browsers(count), f"{SLUG}-warm-up": make_browsers(WARM_UP)}
    return Scenario(
        name="push", delivery_queue="push", produce=produce, receiver=receiver,
        receiver_args=(browsers[SLUG] + browsers[f"{SLUG}-warm-up"], folder), receiver_label="push_service",
        worker_env=lambda port: {"OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
                                 "PUSH_CA_CERTS": os.path.join(folder, "ca.pem")},
        seed=lambda slug, _count, port: seed(slug, browsers[slug], port),
        rows=rows, statuses=statuses, cleanup=cleanup,
    )  # fmt: skip


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    count = N_QUICK if quick else N_FULL
    figures = run_channel(scenario(count), count=count)
    write_figures(out, "push", figures, stored_label="LivePush.send into the outbox", lines=[
        ("refused_by_service", (figures.receiver_extra or [])[:3]),
        ("push_service", "bench/_push_service.py (TLS; VAPID checked, payload decrypted)")])  # fmt: skip
