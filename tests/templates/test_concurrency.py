"""Two processes calling email_send with the same key at the same moment: exactly one message leaves."""

from __future__ import annotations

import multiprocessing
from functools import partial

import pytest

from templates.models import OutboxMessage
from tests.factories import ContactFactory, EmailTemplateFactory, WorkspaceFactory


@pytest.mark.django_db(transaction=True)
def test_two_processes_sending_the_same_key_deliver_exactly_one_message(smtp, settings, run_email_jobs):
    from tests.templates._child import send_same_key

    workspace = WorkspaceFactory(slug="race")
    contact = ContactFactory(workspace=workspace, email="racer@example.com")
    template = EmailTemplateFactory(workspace=workspace)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    target = partial(
        send_same_key, db_name=settings.DATABASES["default"]["NAME"], smtp_port=smtp.port,
        ids={"contact": str(contact.pk), "template": str(template.pk)}, key="enr-9:n1:1",
        barrier=barrier, results=results,
    )  # fmt: skip
    processes = [context.Process(target=target) for _ in range(2)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    assert sorted(outcome for outcome, _, _ in outcomes) == ["exists", "queued"]
    assert len({message_id for _, message_id, _ in outcomes}) == 1
    assert sorted(sent for _, _, sent in outcomes) == [0, 1]
    run_email_jobs()  # the job enqueued after commit finds the row already sent
    assert len(smtp.messages) == 1
    assert smtp.messages[0].rcpt_tos == ["racer@example.com"]
    assert OutboxMessage.objects.get().status == "sent"
