"""The notify step for real: published and run by the runtime, it queues one outbox notification per team member
(the listed members, or the workspace's admins), rendered with Liquid against the contact, which a real SMTP
server receives. A notification is not the contact's mail: it goes out whatever the contact's status, carries no
unsubscribe headers or tracking, and what becomes of it is no event of the contact's."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import transaction

from contacts.models import Contact, Suppression
from contacts.services import suppression_add
from events.models import Event
from penguinflow.workspaces.models import Membership
from templates.delivery import outbox_deliver
from templates.engagement import email_track, outbox_for_unsubscribe_token
from templates.models import OutboxMessage
from templates.tracking import CLICK, OPEN, UNSUBSCRIBE, make_token
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, MembershipFactory, UserFactory
from tests.templates.test_webhooks import BASIC, postmark_payloads
from tests.workflows.builders import publish, run_due
from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.ports import PortError
from workflows.models import Enrollment, StepRun

KEY = "3f1e7bde-0000-4000-8000-000000000001:n:1"


def _member(workspace, email: str, role=Membership.Role.EDITOR, **names):
    return MembershipFactory(workspace=workspace, role=role, user=UserFactory(email=email, **names)).user


def _enroll(api, workflow, contact) -> None:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")
    assert response.status_code == 202, response.content


def _notify_workflow(workspace, *before, name="Hot leads", **config):
    config = {"subject": "Hot lead: {{ contact.first_name }}", "message": "Call {{ contact.email }} today.",
              **config}
    nodes = [node("t", "trigger_manual"), *before, node("n", "notify", config)]
    return publish(workspace, nodes, chain(*(n["id"] for n in nodes)), name=name)


def _step(workflow) -> StepRun:
    return StepRun.objects.get(enrollment__workflow=workflow, node_id="n")


def _deliver(step: StepRun) -> None:
    report = outbox_deliver(outbox_ids=step.detail["message_ids"])
    assert report.sent == len(step.detail["message_ids"])


def test_a_notify_step_emails_each_listed_member_once_rendered_for_the_contact(api, workspace, smtp):
    workspace.from_email = "Acme Team <hello@acme.test>"
    workspace.save()
    _member(workspace, "sales@acme.test", first_name="Sam", last_name="Sales")
    _member(workspace, "boss@acme.test")
    contact = ContactFactory(workspace=workspace, first_name="Grace", last_name="Hopper", email="grace@x.test")
    workflow = _notify_workflow(workspace, to=["SALES@acme.test", "boss@acme.test", "sales@acme.test"],
                                message="Call {{ contact.email }} <today>.\n\nWorkspace: {{ workspace.name }}")
    _enroll(api, workflow, contact)

    run_due()

    assert Enrollment.objects.get(workflow=workflow).status == "completed"
    step = _step(workflow)
    rows = {row.pk: row for row in OutboxMessage.objects.filter(workspace=workspace)}
    assert step.status == "succeeded"
    assert step.detail["to"] == ["SALES@acme.test", "boss@acme.test", "sales@acme.test"]
    assert step.detail["recipients"] == ["sales@acme.test", "boss@acme.test"]  # one member, one email
    assert step.detail["subject"] == "Hot lead: Grace"
    assert sorted(step.detail["message_ids"]) == sorted(str(pk) for pk in rows)
    for row in rows.values():
        assert (row.kind, row.status, row.contact_id, row.node_id) == ("notification", "queued", contact.pk, "n")
        assert row.workflow_id == workflow.pk and row.links == []
    assert {row.key for row in rows.values()} == {f"{step.enrollment_id}:n:1:notify:sales@acme.test",
                                                  f"{step.enrollment_id}:n:1:notify:boss@acme.test"}

    _deliver(step)

    by_recipient = {received.rcpt_tos[0]: received for received in smtp.messages}
    assert sorted(by_recipient) == ["boss@acme.test", "sales@acme.test"]
    received = by_recipient["sales@acme.test"]
    message = received.message
    assert message["Subject"] == "Hot lead: Grace"
    assert message["From"] == "Acme Team <hello@acme.test>"
    assert message["To"] == "Sam Sales <sales@acme.test>"
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    text, html = received.part("text/plain").replace("\r\n", "\n"), received.part("text/html")
    link = f"https://pf.example.test/admin/contacts/contact/{contact.pk}/change/"
    expected = (f"Call grace@x.test <today>.\n\nWorkspace: Acme\n\n--\n"
                f'About Grace Hopper <grace@x.test> in the workflow "Hot leads".\n{link}\n')
    assert OutboxMessage.objects.get(to_email="Sam Sales <sales@acme.test>").text == expected
    assert text == expected.rstrip("\n")  # the MIME boundary takes the last line break
    assert "<p>Call grace@x.test &lt;today&gt;.</p>" in html and "<p>Workspace: Acme</p>" in html
    assert f'<a href="{link}">Open the contact</a>' in html
    assert "/t/o/" not in html and "/t/c/" not in html and "/u/" not in html  # no tracking, no unsubscribe
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert not Event.objects.filter(type__startswith="email.").exists()  # not the contact's email


def test_the_step_run_again_with_its_effect_key_queues_and_sends_nothing_more(
    workspace, smtp, run_email_jobs, django_capture_on_commit_callbacks
):
    from workflows.live_ports import ContactBook, Origin
    from workflows.notify_port import LiveNotify

    _member(workspace, "sales@acme.test")
    contact = ContactFactory(workspace=workspace, first_name="Ada")

    def run_step() -> dict:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            book = ContactBook.lock([contact.pk])
            origin = Origin(workflow_id=str(uuid.uuid4()), version_id=str(uuid.uuid4()))
            return LiveNotify(book, origin, workspace).notify(key=KEY, contact_id=str(contact.pk),
                                                              to=["sales@acme.test"], subject="Lead {{ contact.first_name }}",
                                                              message="")

    first = run_step()
    assert run_email_jobs() == 1
    again = run_step()

    assert again == first
    assert run_email_jobs() == 0  # the repeat enqueued nothing
    assert len(smtp.messages) == 1 and smtp.messages[0].message["Subject"] == "Lead Ada"
    assert OutboxMessage.objects.get().status == "sent"


def test_workspace_admins_are_the_active_admins_of_the_workspace_at_run_time(api, workspace, other_workspace, smtp):
    _member(workspace, "first-admin@acme.test", Membership.Role.ADMIN)
    _member(workspace, "editor@acme.test", Membership.Role.EDITOR)
    _member(workspace, "gone-admin@acme.test", Membership.Role.ADMIN, is_active=False)
    _member(other_workspace, "globex-admin@globex.test", Membership.Role.ADMIN)
    workflow = _notify_workflow(workspace, to="workspace_admins")
    _member(workspace, "new-admin@acme.test", Membership.Role.ADMIN)  # made an admin after publishing
    _enroll(api, workflow, ContactFactory(workspace=workspace, first_name="Ada"))

    run_due()

    step = _step(workflow)
    assert step.status == "succeeded"
    assert step.detail["to"] == "workspace_admins"
    assert step.detail["recipients"] == ["first-admin@acme.test", "new-admin@acme.test"]
    _deliver(step)
    assert sorted(received.rcpt_tos[0] for received in smtp.messages) == ["first-admin@acme.test",
                                                                          "new-admin@acme.test"]


def test_a_workspace_without_admins_fails_the_step_with_the_reason(api, workspace):
    _member(workspace, "editor@acme.test", Membership.Role.EDITOR)
    workflow = _notify_workflow(workspace, to="workspace_admins")
    _enroll(api, workflow, ContactFactory(workspace=workspace))

    run_due()

    failed = Enrollment.objects.get(workflow=workflow)
    assert failed.status == "failed"
    assert "The workspace has no admins to notify" in failed.error["message"]
    assert (_step(workflow).status, _step(workflow).attempt) == ("failed", 1)
    assert not OutboxMessage.objects.exists()


def test_an_unsubscribed_and_suppressed_contact_still_gets_its_team_notified(api, workspace, smtp):
    _member(workspace, "sales@acme.test")
    contact = ContactFactory(workspace=workspace, first_name="Ada", email="ada@x.test")
    # The workflow unsubscribes the contact first; the address is then suppressed before delivery.
    workflow = _notify_workflow(workspace, node("u", "change_status", {"status": "unsubscribed"}),
                                to=["sales@acme.test"])
    _enroll(api, workflow, contact)

    run_due()
    suppression_add(workspace=workspace, email=contact.email, reason=Suppression.Reason.UNSUBSCRIBED)

    step = _step(workflow)
    assert Contact.objects.get(pk=contact.pk).status == "unsubscribed"
    assert (step.status, OutboxMessage.objects.get().status) == ("succeeded", "queued")
    _deliver(step)
    assert [received.rcpt_tos for received in smtp.messages] == [["sales@acme.test"]]
    assert OutboxMessage.objects.get().status == "sent"


def test_what_becomes_of_a_notification_is_no_event_of_the_contact(api, client, workspace, settings, smtp):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    _member(workspace, "sales@acme.test")
    contact = ContactFactory(workspace=workspace, email="ada@x.test")
    workflow = _notify_workflow(workspace, to=["sales@acme.test"])
    _enroll(api, workflow, contact)
    run_due()
    row = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=row.pk).update(esp_message_id="pm-notify", status="sent")
    events_before = Event.objects.count()

    # Tokens of its id (it carries none) are refused: no open, no click, no unsubscribe of the contact.
    assert email_track(kind=OPEN, token=make_token(OPEN, row.pk)) == (False, None)
    assert email_track(kind=CLICK, token=make_token(CLICK, row.pk, 0)) == (False, None)
    assert outbox_for_unsubscribe_token(make_token(UNSUBSCRIBE, row.pk)) is None
    # The ESP's delivery, open, click, hard bounce and complaint of the team member's copy change nothing.
    for payload in postmark_payloads("pm-notify", "sales@acme.test"):
        response = client.post("/anymail/postmark/tracking/", data=json.dumps(payload),
                               content_type="application/json", HTTP_AUTHORIZATION=BASIC)
        assert response.status_code == 200

    assert Event.objects.count() == events_before
    assert Contact.objects.get(pk=contact.pk).status == "subscribed"
    assert not Suppression.objects.exists()


def test_publish_refuses_an_address_that_is_no_member_and_validate_says_the_same(api, workspace, other_workspace):
    _member(workspace, "sales@acme.test")
    _member(other_workspace, "outsider@globex.test")
    graph = {"nodes": [node("t", "trigger_manual"),
                       node("n", "notify", {"to": ["Sales@acme.test", "outsider@globex.test"], "subject": "Lead"}),
                       node("a", "notify", {"to": "workspace_admins", "subject": "Lead"}),
                       node("k", "create_task", {"title": "Call", "assignee_email": "nobody@acme.test"})],
             "edges": chain("t", "n", "a", "k")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]

    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    validated = api.post(f"/api/v1/workflows/{workflow_id}/validate", {}, format="json")

    assert published.status_code == 422
    errors = published.json()["error"]["details"]["errors"]
    assert errors == [
        {"code": "unknown_member", "node_id": "n", "message": "outsider@globex.test is not a member of this "
                                                              "workspace: add them to it, or choose another address."},
        {"code": "unknown_member", "node_id": "k", "message": "nobody@acme.test is not a member of this "
                                                              "workspace: add them to it, or choose another address."},
    ]
    assert validated.status_code == 200 and validated.json()["errors"] == errors


def test_a_member_removed_after_publishing_fails_the_step_with_the_reason(api, workspace):
    _member(workspace, "sales@acme.test")
    leaver = _member(workspace, "leaver@acme.test")
    workflow = _notify_workflow(workspace, to=["sales@acme.test", "leaver@acme.test"])
    Membership.objects.filter(user=leaver).delete()
    _enroll(api, workflow, ContactFactory(workspace=workspace))

    run_due()

    failed = Enrollment.objects.get(workflow=workflow)
    assert failed.status == "failed"
    assert "leaver@acme.test is not a member of this workspace" in failed.error["message"]
    step = _step(workflow)
    assert (step.status, step.attempt, step.error_type) == ("failed", 1, "PortError")
    assert not OutboxMessage.objects.exists()  # not even to the member who still is one


def test_a_subject_that_cannot_render_fails_the_step_for_good(api, workspace):
    _member(workspace, "sales@acme.test")
    workflow = _notify_workflow(workspace, to=["sales@acme.test"], subject="Lead {{ contact.first_name | nope }}")
    _enroll(api, workflow, ContactFactory(workspace=workspace))

    run_due()

    failed = Enrollment.objects.get(workflow=workflow)
    assert failed.status == "failed"
    assert "The notification's subject could not be rendered" in failed.error["message"]
    assert (_step(workflow).status, _step(workflow).attempt) == ("failed", 1)
    assert not OutboxMessage.objects.exists()


def test_the_preview_is_exactly_what_the_step_queues(workspace):
    from workflows.live_ports import ContactBook, Origin
    from workflows.notify_port import LiveNotify, notify_preview

    _member(workspace, "sales@acme.test", first_name="Sam")
    contact = ContactFactory(workspace=workspace, first_name="Ada", email="ada@x.test")
    config = {"to": ["sales@acme.test"], "subject": "Lead {{ contact.first_name }} ({{ event.type }})",
              "message": "Source: {{ event.properties.source }}"}
    context = {"event": {"type": "form.submitted", "properties": {"source": "<ads>"}}}

    preview = notify_preview(workspace=workspace, contact=contact, context=context, **config)
    assert not OutboxMessage.objects.exists()
    with transaction.atomic():
        book = ContactBook.lock([contact.pk])
        book.template_context[KEY.split(":")[0]] = context
        origin = Origin(workflow_id=str(uuid.uuid4()), version_id=str(uuid.uuid4()))  # a workflow not stored
        LiveNotify(book, origin, workspace).notify(key=KEY, contact_id=str(contact.pk), **config)

    row = OutboxMessage.objects.get()
    assert preview == {"to": [row.to_email], "subject": row.subject, "text": row.text, "html": row.html}
    assert preview["to"] == ["Sam <sales@acme.test>"] and preview["subject"] == "Lead Ada (form.submitted)"
    assert preview["text"].startswith("Source: <ads>\n") and "Source: &lt;ads&gt;" in preview["html"]


def test_the_preview_refuses_a_non_member_as_the_step_would(workspace):
    from workflows.notify_port import notify_preview

    with pytest.raises(PortError, match=r"nobody@acme\.test is not a member of this workspace") as refused:
        notify_preview(workspace=workspace, contact=Contact(workspace=workspace, email="a@x.test"),
                       to=["nobody@acme.test"], subject="Lead", message="", context={})
    assert refused.value.retryable is False


def test_the_simulator_renders_the_subject_and_fails_on_a_message_that_cannot_render():
    from datetime import UTC, datetime

    world = FakeWorld(contact={"first_name": "Ada"}, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    notify = fake_ports(world).notify

    sent = notify.notify(key=KEY, contact_id="c", to=["sales@acme.test"], subject="Lead {{ contact.first_name }}",
                         message="Hi")
    assert sent["subject"] == "Lead Ada" and len(sent["message_ids"]) == 1
    assert world.actions[-1]["summary"] == "Notified sales@acme.test: Lead Ada"
    assert notify.notify(key=KEY, contact_id="c", to=["sales@acme.test"], subject="x", message="") == sent
    with pytest.raises(PortError, match="The notification's message could not be rendered") as refused:
        notify.notify(key=KEY + "2", contact_id="c", to="workspace_admins", subject="Lead", message="{{ a | nope }}")
    assert refused.value.retryable is False


def test_an_admin_without_a_usable_address_fails_the_step_before_anyone_is_notified(workspace):
    from workflows.live_ports import ContactBook, Origin
    from workflows.notify_port import LiveNotify

    _member(workspace, "first-admin@acme.test", Membership.Role.ADMIN)
    _member(workspace, "second admin at acme", Membership.Role.ADMIN)
    contact = ContactFactory(workspace=workspace)

    with transaction.atomic():  # as in a batch, the step's failure does not roll back what it did
        book = ContactBook.lock([contact.pk])
        origin = Origin(workflow_id=str(uuid.uuid4()), version_id=str(uuid.uuid4()))
        with pytest.raises(PortError, match="'second admin at acme' has no address") as refused:
            LiveNotify(book, origin, workspace).notify(key=KEY, contact_id=str(contact.pk), to="workspace_admins",
                                                       subject="Lead", message="")
        assert not OutboxMessage.objects.exists()  # not even to the first admin
    assert refused.value.retryable is False
