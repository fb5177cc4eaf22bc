"""Frequency caps live, on the real PostgreSQL: the workspace's rules, the send ledger, and two workflows that
send to one contact at the same moment (CONTRACT §13)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from templates.models import OutboxMessage
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, EmailTemplateFactory
from tests.workflows.builders import publish, run_due
from workflows.caps_port import send_ledger_forget
from workflows.models import Enrollment, SendLedgerEntry, StepRun

ONE_A_DAY = {"channels": ["email"], "max": 1, "per": "P1D", "policy": "defer"}


@pytest.fixture(autouse=True)
def _empty_queues():
    import django_rq

    for name in ("engine", "email"):
        django_rq.get_queue(name).empty()


def capped(workspace, *rules):
    workspace.settings = {"frequency_caps": list(rules)}
    workspace.save(update_fields=["settings"])


def mailer(workspace, name="W", **config):
    template = EmailTemplateFactory(workspace=workspace)
    return publish(
        workspace,
        [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk), **config})],
        chain("t", "m"),
        name=name,
    )


def enroll(api, workflow, contact):
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]}, format="json"
    )
    assert response.status_code == 202, response.content
    return Enrollment.objects.get(workflow=workflow, contact=contact)


def sends_step(enrollment) -> StepRun:
    return StepRun.objects.filter(enrollment=enrollment, node_id="m").order_by("sequence").last()


# --- enforcement ---------------------------------------------------------------------------------------------------


def test_a_second_workflow_defers_its_email_until_the_cap_allows_then_sends(api, workspace):
    capped(workspace, ONE_A_DAY)
    contact = ContactFactory(workspace=workspace)
    first, second = mailer(workspace, "First"), mailer(workspace, "Second")
    sent = enroll(api, first, contact)
    run_due()
    deferred = enroll(api, second, contact)
    run_due()

    assert OutboxMessage.objects.filter(contact=contact).count() == 1
    assert sends_step(sent).status == "succeeded"
    step = sends_step(deferred)
    assert step.status == "waiting" and step.detail["capped"] is True and step.detail["policy"] == "defer"
    assert "Frequency cap reached (at most 1 per P1D on email)" in step.detail["reason"]
    deferred.refresh_from_db()
    ledger = SendLedgerEntry.objects.get(contact=contact)
    assert deferred.status == "waiting" and deferred.next_run_at == ledger.sent_at + timedelta(days=1)

    run_due(now=deferred.next_run_at)
    assert OutboxMessage.objects.filter(contact=contact).count() == 2
    assert sends_step(deferred).status == "succeeded"
    assert SendLedgerEntry.objects.filter(contact=contact).count() == 2


def test_skip_goes_on_without_sending_and_says_why(api, workspace):
    capped(workspace, {**ONE_A_DAY, "policy": "skip"})
    contact = ContactFactory(workspace=workspace)
    first, second = mailer(workspace, "First"), mailer(workspace, "Second")
    enroll(api, first, contact)
    run_due()
    skipped = enroll(api, second, contact)
    run_due()
    skipped.refresh_from_db()
    assert skipped.status == "completed"
    assert sends_step(skipped).detail["skipped"] == "frequency_cap"
    assert OutboxMessage.objects.filter(contact=contact).count() == 1


def test_transactional_steps_pass_a_full_cap_and_do_not_fill_it(api, workspace):
    capped(workspace, ONE_A_DAY)
    contact = ContactFactory(workspace=workspace)
    receipt, news = mailer(workspace, "Receipt", transactional=True), mailer(workspace, "News")
    enroll(api, receipt, contact)
    run_due()
    enroll(api, news, contact)
    run_due()
    assert OutboxMessage.objects.filter(contact=contact).count() == 2
    assert list(SendLedgerEntry.objects.values_list("channel", flat=True)) == ["email"]  # the news only


def test_an_email_that_did_not_go_out_does_not_fill_the_cap(api, workspace):
    from contacts.models import Contact

    capped(workspace, ONE_A_DAY)
    contact = ContactFactory(workspace=workspace)
    enroll(api, mailer(workspace, "First"), contact)
    Contact.objects.filter(pk=contact.pk).update(status="unsubscribed")
    run_due()  # stored as a skipped outbox row: a message id, but no message
    Contact.objects.filter(pk=contact.pk).update(status="subscribed")
    enroll(api, mailer(workspace, "Second"), contact)
    run_due()
    assert sorted(OutboxMessage.objects.filter(contact=contact).values_list("status", flat=True)) in (
        ["queued", "skipped"],
        ["sending", "skipped"],
        ["sent", "skipped"],
    )
    assert SendLedgerEntry.objects.filter(contact=contact).count() == 1


def test_two_enrollments_of_one_contact_in_one_batch_share_the_ledger(api, workspace):
    capped(workspace, ONE_A_DAY)
    contact = ContactFactory(workspace=workspace)
    enroll(api, mailer(workspace, "First"), contact)
    enroll(api, mailer(workspace, "Second"), contact)
    run_due()  # both are due: one claim, one batch
    assert OutboxMessage.objects.filter(contact=contact).count() == 1
    assert sorted(Enrollment.objects.values_list("status", flat=True)) == ["completed", "waiting"]


@pytest.mark.django_db(transaction=True)
def test_two_workflows_sending_to_one_contact_at_the_same_moment_cannot_both_pass_a_cap_of_one(
    api, workspace, django_capture_on_commit_callbacks
):
    from workflows.runtime import enrollments_advance

    capped(workspace, ONE_A_DAY)
    for round_ in range(5):
        contact = ContactFactory(workspace=workspace)
        enrollments = [enroll(api, mailer(workspace, f"W{round_}-{n}"), contact) for n in range(2)]
        assert race(*(lambda e=e: enrollments_advance(enrollment_ids=[e.pk]) for e in enrollments)) == []
        assert OutboxMessage.objects.filter(contact=contact).count() == 1
        assert SendLedgerEntry.objects.filter(contact=contact).count() == 1
        statuses = sorted(Enrollment.objects.filter(contact=contact).values_list("status", flat=True))
        assert statuses == ["completed", "waiting"], round_


def race(*works) -> list[BaseException]:
    """Run `works` at once, each in a thread with its own connection; return what they raised."""
    start, errors = threading.Barrier(len(works), timeout=60), []

    def run(work):
        try:
            start.wait()
            work()
        except BaseException as error:  # handed to the test, which shows it
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_the_ledger_forgets_what_no_cap_can_count(workspace):
    contact = ContactFactory(workspace=workspace)
    now = timezone.now()
    SendLedgerEntry.objects.create(
        contact=contact, channel="email", sent_at=now - timedelta(days=367), key="old"
    )
    SendLedgerEntry.objects.create(
        contact=contact, channel="sms", sent_at=now - timedelta(days=365), key="kept"
    )
    assert send_ledger_forget(now=now) == 1
    assert list(SendLedgerEntry.objects.values_list("key", flat=True)) == ["kept"]


def test_simulation_shows_the_workspace_caps(api, workspace):
    capped(workspace, ONE_A_DAY)
    template = EmailTemplateFactory(workspace=workspace)
    workflow = publish(
        workspace,
        [
            node("t", "trigger_manual"),
            node("a", "send_email", {"template_id": str(template.pk)}),
            node("b", "send_email", {"template_id": str(template.pk)}),
        ],
        chain("t", "a", "b"),
    )
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/simulate",
        {
            "version": "draft",
            "contact": {"email": "ada@example.com"},
            "until": "P3D",
            "start": "2026-11-23T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    path = response.json()["path"]
    waits = [step for step in path if step["node_id"] == "b" and step["outcome"] == "wait"]
    assert waits and waits[0]["detail"]["capped"] is True
    assert [step["outcome"] for step in path if step["node_id"] == "b"][-1] == "advance"


# --- send_message, live ----------------------------------------------------------------------------------------------


def messenger(workspace, name, **config):
    template = EmailTemplateFactory(workspace=workspace)
    step = {"channels": ["preferred", "email"], "email": {"template_id": str(template.pk)}, **config}
    return publish(
        workspace, [node("t", "trigger_manual"), node("m", "send_message", step)], chain("t", "m"), name=name
    )


def test_send_message_sends_the_email_and_a_cap_defers_the_next_one_with_its_reason(api, workspace):
    capped(workspace, ONE_A_DAY)
    contact = ContactFactory(workspace=workspace)
    first = enroll(api, messenger(workspace, "First"), contact)
    run_due()
    step = sends_step(first)
    assert step.detail["channel"] == "email" and step.detail["status"] == "queued"
    assert step.detail["attempts"][0] == {
        "channel": "preferred",
        "result": "skipped",
        "reason": "no_preferred_channel",
    }
    assert OutboxMessage.objects.get(contact=contact).key == f"{first.pk}:m:1"

    second = enroll(api, messenger(workspace, "Second"), contact)
    run_due()
    waiting = sends_step(second)
    assert waiting.status == "waiting" and waiting.detail["deferred"]["capped"] is True
    assert "Frequency cap reached" in waiting.detail["reason"]
    second.refresh_from_db()
    run_due(now=second.next_run_at)
    assert sends_step(second).detail["channel"] == "email"
    assert OutboxMessage.objects.filter(contact=contact).count() == 2


def test_send_message_to_an_unsubscribed_contact_sends_nothing_and_says_why(api, workspace):
    from contacts.models import Contact

    contact = ContactFactory(workspace=workspace)
    enrollment = enroll(api, messenger(workspace, "W"), contact)
    Contact.objects.filter(pk=contact.pk).update(status="unsubscribed")
    run_due()
    step = sends_step(enrollment)
    assert step.status == "succeeded" and step.detail["channel"] is None
    assert step.detail["reason"] == (
        "No channel reached the contact (preferred: no_preferred_channel; email: not_subscribed)."
    )
    assert SendLedgerEntry.objects.count() == 0
