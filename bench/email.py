"""Benchmark of email delivery: messages rendered, stored in the outbox and handed to a local SMTP server, per second.

A local aiosmtpd server runs in its own process, offering PIPELINING as real mail servers do
(BENCH_EMAIL_PIPELINING=0: without; the envelope then takes three round trips instead of one). The run itself is
the channel benches' (bench/_runner.py: two RQ SimpleWorker processes doing the "produce" jobs, 100 contacts each
sent an email through the runtime's send_email port, and the delivery jobs those enqueue on queue "email"; a
warm-up first). Uses dedicated workspaces, deleted afterwards. Target: at least 500 messages per second with 2
workers on a 2-core machine. Prints figures, asserts nothing.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import TextIO

from bench._runner import Scenario, Seeded, run_channel, write_figures
from bench._support import free_port

# Django, the apps and RQ are imported inside the functions that use them: the spawned worker and SMTP server
# processes import this module before Django is set up (and the SMTP server never sets it up).

N_FULL, N_QUICK = 5000, 500
SLUG = "bench-email"
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


def receiver(port_box, arrived, ready, stop, results, pipelining: bool = True) -> None:
    """Run aiosmtpd until `stop` is set, counting arrivals in `arrived`; then put ([(outbox id, time)], None) on
    `results`.

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

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    port_box.value = port
    ready.set()
    stop.wait()
    controller.stop()
    results.put((log, None))


def cleanup() -> None:
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


def seed(slug: str, count: int, port: int) -> Seeded:
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
    return Seeded(workspace, contacts, (str(workspace.pk), str(template.pk)))


def rows(workspace) -> dict:
    from templates.models import OutboxMessage

    return {str(pk): at for pk, at in OutboxMessage.objects.filter(workspace=workspace).values_list("id", "created_at")}


def statuses(workspace) -> dict:
    from django.db.models import Count

    from templates.models import OutboxMessage

    return dict(OutboxMessage.objects.filter(workspace=workspace).values("status").annotate(n=Count("id"))
                .values_list("status", "n"))  # fmt: skip


SCENARIO = Scenario(
    name="email", delivery_queue="email", produce=produce, receiver=receiver, receiver_args=(PIPELINING,),
    receiver_label="smtp", worker_env=lambda port: {"EMAIL_URL": f"smtp://127.0.0.1:{port}"}, seed=seed, rows=rows,
    statuses=statuses, cleanup=cleanup, timeout_s=180,
)  # fmt: skip


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    figures = run_channel(SCENARIO, count=N_QUICK if quick else N_FULL)
    write_figures(out, "email", figures, stored_label="email_send into the outbox", lines=[
        ("smtp_server", f"aiosmtpd, {'offering' if PIPELINING else 'without'} PIPELINING   (BENCH_EMAIL_PIPELINING=0: without)"),
    ])  # fmt: skip
