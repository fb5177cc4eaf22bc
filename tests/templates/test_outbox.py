"""The outbox sends each key exactly once, through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import smtplib
import ssl
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, Suppression
from contacts.services import suppression_add
from events.models import Event
from templates.delivery import outbox_deliver
from templates.headers import InvalidAddress
from templates.lanes import verdict
from templates.mime import SessionLost
from templates.models import OutboxMessage
from templates.outbox import HeldContacts, OutboxBatch, OutboxConflict, SendOptions, email_send
from templates.recovery import outbox_resend, outbox_sweep
from templates.rendering import TemplateRenderError
from tests.factories import EmailTemplateFactory

pytestmark = pytest.mark.django_db


def send(workspace, contact, template, *, key="enr-1:n2:1", capture, **kwargs):
    with capture(execute=True):
        return email_send(
            key=key, workspace=workspace, contact=contact, template=template,
            context={"event": {"type": "contact.created"}}, node_id="n2",
            workflow_id="6f1c1f4e-8b1e-4a51-9f3a-1d2b3c4d5e6f", **kwargs,
        )  # fmt: skip


def test_email_send_delivers_one_message_with_rendered_parts_and_headers(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    workspace.from_email = "Acme Team <hello@acme.test>"
    workspace.reply_to = "support@acme.test"
    workspace.save()

    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)

    assert (result.outcome, result.status) == ("queued", "queued")
    assert smtp.messages == []  # nothing leaves before the job runs
    assert run_email_jobs() == 1
    (received,) = smtp.messages
    row = OutboxMessage.objects.get(pk=result.message_id)
    message = received.message
    assert received.rcpt_tos == ["ada@example.com"]
    assert message["Subject"] == "Hello Ada"
    assert message["From"] == "Acme Team <hello@acme.test>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Reply-To"] == "support@acme.test"
    assert message["Message-ID"] == f"<{row.pk}@penguinmails.test>" == row.message_id
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = f"https://pf.example.test/u/{row.message_id and _token(row)}"
    assert str(message["List-Unsubscribe"]).strip().startswith(f"<{unsubscribe}>, <mailto:unsubscribe@penguinmails.test?subject=")
    html, text = received.part("text/html"), received.part("text/plain")
    # Every http(s) link is tracked (the stored list is the redirect target), the unsubscribe link and mailto: not.
    assert row.links == ["https://example.com/pricing?a=1&b=2", "http://example.com/docs"]
    assert "https://example.com/pricing" not in html and "example.com/docs" not in html
    assert html.count("https://pf.example.test/t/c/") == 2
    assert f'href="{unsubscribe}"' in html and 'href="mailto:help@example.com"' in html
    assert html.count("https://pf.example.test/t/o/") == 1 and html.index("/t/o/") < html.index("</body>")
    # The derived text part carries the same tracked links.
    assert text.startswith("Hi Ada,")
    assert "See pricing (https://pf.example.test/t/c/" in text and f"Unsubscribe ({unsubscribe})" in text
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    sent = Event.objects.get(type="email.sent")
    assert sent.contact_id == contact.pk
    assert sent.properties == {"message_id": str(row.pk), "node_id": "n2",
                               "workflow_id": "6f1c1f4e-8b1e-4a51-9f3a-1d2b3c4d5e6f"}  # fmt: skip


def _token(row):
    from templates.tracking import UNSUBSCRIBE, make_token

    return make_token(UNSUBSCRIBE, row.pk)


def test_same_key_twice_sends_exactly_one_message(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    first = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)
    run_email_jobs()
    second = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)

    assert second.outcome == "exists" and second.message_id == first.message_id and second.status == "sent"
    assert run_email_jobs() == 0  # the repeat enqueued nothing
    outbox_deliver(outbox_ids=[first.message_id])  # nor does a stray second job send again
    assert len(smtp.messages) == 1
    assert OutboxMessage.objects.count() == 1


def test_render_error_stores_nothing_and_sends_nothing(
    workspace, contact, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    broken = EmailTemplateFactory(workspace=workspace, subject="Hi", html="<p>a</p>\n<p>{{ 10 | divided_by: 0 }}</p>")

    with pytest.raises(TemplateRenderError) as caught:
        send(workspace, contact, broken, capture=django_capture_on_commit_callbacks)

    assert caught.value.code == "template_render_error"
    assert caught.value.details == {"html": "line 2: divided_by: can't divide by 0"}
    assert OutboxMessage.objects.count() == 0
    assert run_email_jobs() == 0 and smtp.messages == []


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained"])
def test_contact_not_subscribed_is_skipped_and_not_sent(
    status, workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    Contact.objects.filter(pk=contact.pk).update(status=status)

    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)

    assert (result.outcome, result.status) == ("not_subscribed", "skipped")
    assert run_email_jobs() == 0 and smtp.messages == []
    again = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)
    assert (again.outcome, again.status, again.message_id) == ("exists", "skipped", result.message_id)


def test_suppressed_address_is_skipped_even_for_a_reimported_contact(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    from contacts.services import contact_erase
    from tests.factories import ContactFactory

    contact_erase(contact=contact)  # erasure keeps only a hashed suppression entry
    assert list(Suppression.objects.values_list("reason", flat=True)) == ["erased"]
    reimported = ContactFactory(workspace=workspace, email="ADA@example.com")

    result = send(workspace, reimported, template, capture=django_capture_on_commit_callbacks)

    assert (result.outcome, result.status) == ("suppressed", "skipped")
    assert run_email_jobs() == 0 and smtp.messages == []


def test_suppression_added_after_queueing_is_honoured_at_delivery(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)
    suppression_add(workspace=workspace, email=contact.email, reason="manual")

    run_email_jobs()

    assert smtp.messages == []
    assert OutboxMessage.objects.get(pk=result.message_id).status == "skipped"


def test_rolled_back_caller_transaction_leaves_no_row_and_no_job(workspace, contact, template, smtp, email_queue):
    with pytest.raises(RuntimeError), transaction.atomic():
        email_send(key="k", workspace=workspace, contact=contact, template=template, context={})
        raise RuntimeError("the step failed after the send")

    assert OutboxMessage.objects.count() == 0
    assert email_queue.count == 0


def test_several_sends_in_one_transaction_make_one_delivery_job(
    workspace, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    contacts = ContactFactory.create_batch(5, workspace=workspace)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n, person in enumerate(contacts):
            email_send(key=f"k{n}", workspace=workspace, contact=person, template=template, context={})

    assert run_email_jobs() == 1
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(c.email for c in contacts)


def test_crlf_in_names_and_subjects_cannot_inject_headers(
    workspace, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    workspace.from_email = "Acme\r\nBcc: evil@attacker.test <hello@acme.test>"
    workspace.save()
    sly = ContactFactory(workspace=workspace, email="sly@example.com", first_name="Sly\r\nBcc: evil@attacker.test",
                         last_name="\x07Fox\t")  # fmt: skip

    send(workspace, sly, template, capture=django_capture_on_commit_callbacks)
    run_email_jobs()

    (received,) = smtp.messages
    assert received.rcpt_tos == ["sly@example.com"]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Hello Sly Bcc: evil@attacker.test"
    assert "\n" not in received.message["To"] and received.message["To"].endswith("<sly@example.com>")
    assert received.message["From"].endswith("<hello@acme.test>")


@pytest.mark.parametrize("reply_to", ["help@acme.test\r\nBcc: evil@attacker.test", "a@x.test, b@y.test", "nope"])
def test_invalid_reply_to_is_refused_before_anything_is_stored(reply_to, workspace, contact, template, smtp):
    with pytest.raises(InvalidAddress):
        email_send(key="k", workspace=workspace, contact=contact, template=template, context={}, reply_to=reply_to)
    assert OutboxMessage.objects.count() == 0


def test_temporary_rejection_is_retried_later_with_the_same_message_id(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    smtp.recorder.replies.append("451 4.3.0 Try again later")
    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)
    run_email_jobs()

    row = OutboxMessage.objects.get(pk=result.message_id)
    assert (row.status, row.attempts, smtp.messages) == ("queued", 1, [])
    assert "451" in row.error and row.next_attempt_at > timezone.now()
    assert outbox_deliver(outbox_ids=[row.pk]).not_due == 1  # early jobs wait for the backoff

    report = outbox_deliver(outbox_ids=[row.pk], now=row.next_attempt_at + timedelta(seconds=1))

    assert report.sent == 1
    (received,) = smtp.messages
    row.refresh_from_db()
    assert received.message["Message-ID"] == row.message_id and (row.status, row.attempts) == ("sent", 2)


def test_permanent_rejection_fails_the_message_without_retry(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    smtp.recorder.replies.append("550 5.1.1 No such user")
    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)
    run_email_jobs()

    row = OutboxMessage.objects.get(pk=result.message_id)
    assert row.status == "failed" and "550" in row.error
    assert run_email_jobs() == 0 and smtp.messages == []


def test_unreachable_server_is_retried_later(
    workspace, contact, template, smtp, settings, run_email_jobs, django_capture_on_commit_callbacks
):
    from tests.templates.conftest import free_port

    settings.EMAIL_PORT = free_port()  # nothing listens there
    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)
    run_email_jobs()

    row = OutboxMessage.objects.get(pk=result.message_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "ConnectionRefused" in row.error


def test_worker_death_between_handoff_and_record_leaves_unknown_and_never_resends_by_itself(
    workspace, contact, template, smtp, monkeypatch, django_capture_on_commit_callbacks
):
    import templates.delivery as delivery

    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)

    class WorkerKilled(BaseException):
        pass

    def die(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(delivery, "_record_sent", die)  # killed right after the hand-off
    with pytest.raises(WorkerKilled):
        outbox_deliver(outbox_ids=[result.message_id])
    monkeypatch.undo()
    assert len(smtp.messages) == 1  # the server has it; we never recorded it
    row = OutboxMessage.objects.get(pk=result.message_id)
    assert row.status == "sending"

    assert outbox_sweep().unknown == 0  # still within its lease
    report = outbox_sweep(now=row.claimed_at + timedelta(seconds=301))

    row.refresh_from_db()
    assert (report.unknown, row.status) == (1, "unknown")
    assert "may have been sent" in row.error
    assert outbox_deliver(outbox_ids=[row.pk]).sent == 0
    assert email_send(key="enr-1:n2:1", workspace=workspace, contact=contact, template=template).status == "unknown"
    assert len(smtp.messages) == 1

    with django_capture_on_commit_callbacks(execute=True):
        outbox_resend(message=row)  # a person decides to send it again
    outbox_deliver(outbox_ids=[row.pk])
    assert len(smtp.messages) == 2
    assert smtp.messages[0].message["Message-ID"] == smtp.messages[1].message["Message-ID"]


def test_resend_refuses_a_message_that_was_sent(workspace, contact, template, smtp, django_capture_on_commit_callbacks):
    from penguinflow.common.errors import InvalidTransition

    result = send(workspace, contact, template, capture=django_capture_on_commit_callbacks)
    outbox_deliver(outbox_ids=[result.message_id])
    with pytest.raises(InvalidTransition):
        outbox_resend(message=OutboxMessage.objects.get(pk=result.message_id))
    assert len(smtp.messages) == 1


def test_rate_limit_defers_messages_over_the_workspace_rate_without_dropping_them(
    workspace, template, smtp, email_queue, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    workspace.send_rate_per_minute = 2
    workspace.save()
    people = ContactFactory.create_batch(5, workspace=workspace)
    ids = [
        email_send(key=f"k{n}", workspace=workspace, contact=p, template=template, context={}).message_id
        for n, p in enumerate(people)
    ]
    now = (timezone.now() + timedelta(minutes=1)).replace(second=1, microsecond=0)

    first = outbox_deliver(outbox_ids=ids, now=now)

    assert (first.sent, first.deferred) == (2, 3) and len(smtp.messages) == 2
    waiting = OutboxMessage.objects.filter(status="queued")
    assert waiting.count() == 3
    assert all(row.next_attempt_at >= now.replace(second=0) + timedelta(minutes=1) for row in waiting)
    assert email_queue.scheduled_job_registry.count == 1  # a later job, not a busy loop
    assert outbox_deliver(outbox_ids=ids, now=now + timedelta(seconds=5)).sent == 0

    later = now + timedelta(minutes=1, seconds=10)
    assert outbox_deliver(outbox_ids=ids, now=later).sent == 2
    assert outbox_deliver(outbox_ids=ids, now=later + timedelta(minutes=1)).sent == 1
    assert len(smtp.messages) == 5 and not OutboxMessage.objects.exclude(status="sent").exists()


def test_queued_message_whose_job_was_lost_is_enqueued_again_by_the_sweep(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    result = email_send(key="k", workspace=workspace, contact=contact, template=template, context={})
    # The on_commit callback never ran here (the test's transaction): as if Redis had lost the job.
    assert run_email_jobs() == 0
    later = timezone.now() + timedelta(minutes=10)

    assert outbox_sweep(now=timezone.now()).requeued == 0  # not lost yet: its job may simply be late
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep(now=later).requeued == 1
    run_email_jobs()

    assert len(smtp.messages) == 1
    assert OutboxMessage.objects.get(pk=result.message_id).status == "sent"


def test_esp_backend_stores_the_esp_message_id(workspace, contact, template, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    result = email_send(key="k", workspace=workspace, contact=contact, template=template, context={})

    assert outbox_deliver(outbox_ids=[result.message_id]).sent == 1

    row = OutboxMessage.objects.get(pk=result.message_id)
    assert row.esp_message_id and row.esp_message_id != row.message_id


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (smtplib.SMTPResponseException(421, b"busy"), "retry"),
        (smtplib.SMTPDataError(554, b"rejected"), "fail"),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (450, b"later")}), "retry"),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"unknown")}), "fail"),
        (smtplib.SMTPServerDisconnected("gone"), "unknown"),
        (SessionLost("gone before the content was sent"), "retry"),
        (TimeoutError(), "unknown"),
        (ssl.SSLCertVerificationError("certificate verify failed"), "unknown"),  # also a ValueError
        (ValueError("cannot encode"), "fail"),
    ],
)
def test_send_errors_are_classified_retry_fail_or_unknown(error, expected):
    assert verdict(error) == expected


def test_held_contacts_read_suppression_once_and_keep_every_skip_rule(
    workspace, template, smtp, run_email_jobs, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from tests.factories import ContactFactory

    mailed, suppressed, unsubscribed = ContactFactory.create_batch(3, workspace=workspace)
    suppression_add(workspace=workspace, email=suppressed.email, reason="manual")
    Contact.objects.filter(pk=unsubscribed.pk).update(status="unsubscribed")
    held = HeldContacts()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        # As the runtime's batch does: lock the contacts, read them as they are, then send.
        locked = list(Contact.objects.select_for_update().filter(workspace=workspace).order_by("pk"))
        with django_assert_num_queries(1):
            held.prefetch(locked)
        by_id = {person.pk: person for person in locked}
        options = SendOptions(held=held)
        results = {
            name: email_send(key=f"k-{name}", workspace=workspace, contact=by_id[person.pk], template=template,
                             context={}, options=options)
            for name, person in (("mailed", mailed), ("suppressed", suppressed), ("unsubscribed", unsubscribed))
        }  # fmt: skip
        repeat = email_send(key="k-mailed", workspace=workspace, contact=by_id[mailed.pk], template=template,
                            context={}, options=options)  # fmt: skip

    assert {name: (r.outcome, r.status) for name, r in results.items()} == {
        "mailed": ("queued", "queued"), "suppressed": ("suppressed", "skipped"),
        "unsubscribed": ("not_subscribed", "skipped"),
    }  # fmt: skip
    assert (repeat.outcome, repeat.message_id) == ("exists", results["mailed"].message_id)
    run_email_jobs()
    assert [m.rcpt_tos for m in smtp.messages] == [[mailed.email]]
    assert OutboxMessage.objects.count() == 3


def test_held_contact_is_rendered_as_held_and_a_changed_address_is_checked_again(
    workspace, contact, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    suppression_add(workspace=workspace, email="new@example.com", reason="manual")
    held = HeldContacts()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        held.prefetch([locked])
        options = SendOptions(held=held)
        locked.first_name = "Augusta"  # changed by an earlier step of the batch, not yet written
        first = email_send(key="k1", workspace=workspace, contact=locked, template=template, context={},
                           options=options)  # fmt: skip
        locked.email = "new@example.com"
        second = email_send(key="k2", workspace=workspace, contact=locked, template=template, context={},
                            options=options)  # fmt: skip

    assert (first.outcome, second.outcome) == ("queued", "suppressed")
    assert OutboxMessage.objects.get(pk=first.message_id).subject == "Hello Augusta"


def test_a_contact_the_caller_does_not_hold_is_locked_and_read_as_usual_and_kept_to_its_workspace(
    workspace, other_workspace, contact, template, smtp, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    Contact.objects.filter(pk=contact.pk).update(first_name="Augusta")  # the object passed in is stale
    with transaction.atomic():
        # Holds nothing: email_send reads the row itself.
        result = email_send(key="k8", workspace=workspace, contact=contact, template=template, context={},
                            options=SendOptions(held=HeldContacts()))  # fmt: skip
    assert OutboxMessage.objects.get(pk=result.message_id).subject == "Hello Augusta"

    stranger = ContactFactory(workspace=other_workspace)
    held = HeldContacts()
    with pytest.raises(Contact.DoesNotExist), transaction.atomic():
        held.prefetch([Contact.objects.select_for_update().get(pk=stranger.pk)])
        email_send(key="k9", workspace=workspace, contact=stranger, template=template, context={},
                   options=SendOptions(held=held))  # fmt: skip
    assert OutboxMessage.objects.filter(key="k9").count() == 0


def test_a_repeated_key_answers_exists_even_when_the_template_no_longer_renders(
    workspace, contact, template, smtp, django_capture_on_commit_callbacks
):
    first = send(workspace, contact, template, key="k7", capture=django_capture_on_commit_callbacks)
    template.html = "<p>{{ 1 | divided_by: 0 }}</p>"
    template.save()
    for batch in (None, OutboxBatch()):
        with transaction.atomic():
            locked = Contact.objects.select_for_update().get(pk=contact.pk)
            held = HeldContacts()
            held.prefetch([locked])
            again = email_send(key="k7", workspace=workspace, contact=locked, template=template, context={},
                               options=SendOptions(held=held, batch=batch))  # fmt: skip
        assert (again.outcome, again.message_id) == ("exists", first.message_id)
    with pytest.raises(TemplateRenderError):
        send(workspace, contact, template, key="k8", capture=django_capture_on_commit_callbacks)


def test_outbox_batch_writes_a_transactions_rows_at_flush_and_refuses_an_existing_key(
    workspace, template, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    people = ContactFactory.create_batch(3, workspace=workspace)
    Contact.objects.filter(pk=people[2].pk).update(status="bounced")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        locked = list(Contact.objects.select_for_update().filter(workspace=workspace).order_by("pk"))
        held, batch = HeldContacts(), OutboxBatch()
        held.prefetch(locked)
        options = SendOptions(held=held, batch=batch)
        results = [email_send(key=f"b{n}", workspace=workspace, contact=person, template=template, context={},
                              options=options) for n, person in enumerate(locked)]  # fmt: skip
        repeat = email_send(key="b0", workspace=workspace, contact=locked[0], template=template, context={},
                            options=options)  # fmt: skip
        assert OutboxMessage.objects.count() == 0  # nothing written before the flush
        assert batch.flush() == 3

    assert sorted(r.outcome for r in results) == ["not_subscribed", "queued", "queued"]
    assert (repeat.outcome, repeat.message_id) == ("exists", results[0].message_id)
    rows = {str(row.pk): row for row in OutboxMessage.objects.all()}
    assert sorted(rows) == sorted(r.message_id for r in results)
    sent = next(r for r in results if r.outcome == "queued")
    row = rows[sent.message_id]
    assert row.subject.startswith("Hello") and row.links and row.created_at and row.next_attempt_at
    assert run_email_jobs() == 1  # one delivery job for the transaction's queued rows
    assert len(smtp.messages) == 2
    with pytest.raises(RuntimeError, match="flushed already"), transaction.atomic():
        person = Contact.objects.select_for_update().get(pk=locked[0].pk)
        email_send(key="b5", workspace=workspace, contact=person, template=template, context={},
                   options=options)  # fmt: skip

    # A key already in the outbox: flush refuses (the caller rolls back and sends one by one).
    with pytest.raises(OutboxConflict) as caught, transaction.atomic():
        batch, held = OutboxBatch(), HeldContacts()
        person = Contact.objects.select_for_update().get(pk=locked[0].pk)
        held.prefetch([person])
        options = SendOptions(held=held, batch=batch)
        email_send(key="b0", workspace=workspace, contact=person, template=template, context={}, options=options)
        email_send(key="b9", workspace=workspace, contact=person, template=template, context={}, options=options)
        batch.flush()
    assert caught.value.keys == ["b0"]
    assert OutboxMessage.objects.count() == 3 and not OutboxMessage.objects.filter(key="b9").exists()


def test_send_options_are_frozen_and_a_batch_needs_held_contacts():
    options = SendOptions(held=HeldContacts(), batch=OutboxBatch())
    with pytest.raises(AttributeError):
        options.batch = None  # type: ignore[misc]
    with pytest.raises(ValueError, match="needs HeldContacts"):
        SendOptions(batch=OutboxBatch())


def test_outbox_rows_built_positionally_equal_rows_built_by_keyword(workspace, template):
    import uuid

    from templates.outbox_sql import outbox_row

    values = {"id": uuid.uuid4(), "workspace_id": workspace.pk, "key": "k", "contact_id": uuid.uuid4(),
              "template_id": template.pk, "node_id": "n1", "to_email": "ada@example.com", "message_id": "<x@y>"}  # fmt: skip
    fast, slow = outbox_row(**values), OutboxMessage(**values)
    fields = [field.attname for field in OutboxMessage._meta.concrete_fields]

    assert [getattr(fast, name) for name in fields] == [getattr(slow, name) for name in fields]
    assert fast._state.adding and fast.links is not outbox_row(**values).links  # a fresh list per row
    with pytest.raises(TypeError):
        outbox_row(**values, subjct="typo")
