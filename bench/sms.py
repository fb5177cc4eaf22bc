"""Benchmark of SMS delivery: messages rendered, consent-checked and stored in the SMS outbox by the runtime's own
send_sms port, then handed to a local Twilio-compatible server, per second (issue 18: >= 500/s with 2 workers,
p99 from step to hand-off < 1 s).

The Twilio stand-in (bench/_twilio.py: the Messages API subset the backend speaks, HTTP/1.1 keep-alive) runs in
a process of its own, as a remote provider would; the run itself is the channel benches' (bench/_runner.py:
two RQ SimpleWorker processes doing the "produce" jobs, 100 contacts each through `workflows.sms_port.LiveSms`,
and the delivery jobs those enqueue on queue "sms"; a warm-up first). Quiet hours are set to none, so that the
hour of the run does not decide the figure. Uses dedicated workspaces, deleted afterwards. Prints figures,
asserts nothing.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import TextIO

from bench._runner import Scenario, Seeded, run_channel, write_figures

N_FULL, N_QUICK = 5000, 500
SLUG = "bench-sms"
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


def receiver(port_box, arrived, ready, stop, results) -> None:
    """Run the Twilio stand-in until `stop`; count arrivals; then put ([(row id, arrival time)], None)."""
    import threading

    from bench._twilio import TwilioServer

    server = TwilioServer().start()

    def count() -> None:
        while not stop.is_set():
            arrived.value = len(server.messages)
            time.sleep(0.01)

    threading.Thread(target=count, daemon=True).start()
    port_box.value = server.port
    ready.set()
    stop.wait()
    arrived.value = len(server.messages)
    # The row id travels in the status callback URL (never called here: the stand-in posts no callbacks).
    results.put(([(message.callback.rpartition("m=")[2], message.at) for message in server.messages], None))
    server.stop()


def worker_env(port: int) -> dict[str, str]:
    return {"SMS_URL": f"twilio+http://AC{'0' * 32}:test-auth-token@127.0.0.1:{port}", "SMS_FROM": "+15005550006",
            "SMS_STATUS_CALLBACKS": "1"}  # fmt: skip


def cleanup() -> None:
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


def seed(slug: str, count: int, port: int) -> Seeded:
    """A workspace and `count` contacts with a number and SMS consent."""
    from django.utils import timezone

    from contacts.models import Contact
    from penguinflow.workspaces.models import Workspace

    workspace = Workspace.objects.create(
        slug=slug, name="Bench SMS", timezone="Europe/Paris", settings={"quiet_hours": NO_QUIET_HOURS}
    )
    consent = {"sms": {"status": "subscribed", "source": "bench", "at": timezone.now().isoformat()}}
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"sms{n}@example.com", first_name=f"Person{n}", fields={"plan": "pro"},
                phone=f"+3361{n:07d}", channels=consent)
        for n in range(count)
    )  # fmt: skip
    return Seeded(workspace, contacts, (str(workspace.pk),))


def rows(workspace) -> dict:
    from sms.models import SmsMessage

    return {str(pk): at for pk, at in SmsMessage.objects.filter(workspace=workspace).values_list("id", "created_at")}


def statuses(workspace) -> dict:
    from django.db.models import Count

    from sms.models import SmsMessage

    return dict(SmsMessage.objects.filter(workspace=workspace).values("status").annotate(n=Count("id"))
                .values_list("status", "n"))  # fmt: skip


SCENARIO = Scenario(name="sms", delivery_queue="sms", produce=produce, receiver=receiver, worker_env=worker_env,
                    seed=seed, rows=rows, statuses=statuses, cleanup=cleanup, receiver_label="provider")  # fmt: skip


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    figures = run_channel(SCENARIO, count=N_QUICK if quick else N_FULL)
    write_figures(out, "sms", figures, stored_label="LiveSms into the outbox", lines=[
        ("provider", "bench/_twilio.py (Twilio Messages API subset, HTTP/1.1 keep-alive)")])  # fmt: skip
