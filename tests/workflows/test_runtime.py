"""The durable runtime against the real PostgreSQL and Redis: publish, enroll, run, wait, resume, exit, retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CampaignMember
from contacts.models import Contact
from events.gateway import EventRecord
from events.models import Event
from tests.engine.graphs import chain, edge, node
from tests.factories import CampaignFactory, ContactFactory
from tests.workflows.builders import publish, run_due
from workflows.engine.registry import NodeType, node_type, registry
from workflows.models import Enrollment, StepRun, Workflow, WorkflowVersion
from workflows.runtime_gateway import RuntimeGateway
from workflows.selectors import workflow_analytics


@pytest.fixture(autouse=True)
def _empty_queue():
    import django_rq

    django_rq.get_queue("engine").empty()
    yield


def enroll(api, workflow, *contacts):
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll",
                        {"contacts": [{"id": str(c.pk)} for c in contacts]}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def event_record(contact, type_, properties=None, *, id_=None, occurred_at=None):
    event = Event.objects.create(
        workspace_id=contact.workspace_id, contact_id=contact.pk, type=type_, properties=properties or {},
        occurred_at=occurred_at or timezone.now(), received_at=timezone.now(),
    )
    return EventRecord(id=event.id, workspace_id=contact.workspace_id, contact_id=contact.pk, type=type_,
                       occurred_at=event.occurred_at, properties=properties or {}, flags={})


def test_publish_refuses_an_invalid_draft_with_422_and_the_errors(api, workspace):
    response = api.post("/api/v1/workflows", {"name": "Empty"}, format="json")
    workflow_id = response.json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "graph_invalid"
    assert [e["code"] for e in error["details"]["errors"]] == ["no_trigger"]
    assert Workflow.objects.get(pk=workflow_id).status == "draft"
    assert not WorkflowVersion.objects.filter(workflow_id=workflow_id, number__isnull=False).exists()


def test_publish_refuses_unknown_template_reference(api, workspace):
    graph = {"nodes": [node("t", "trigger_manual"), node("m", "send_email", {"template_id": "3f1e7bde-0000-4000-8000-000000000000"})],
             "edges": chain("t", "m")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["code"] == "unknown_reference"


def test_publish_makes_immutable_numbered_versions_and_activates(api, workspace):
    graph = {"nodes": [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], "edges": chain("t", "a")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    assert api.post(f"/api/v1/workflows/{workflow_id}/publish").json() == {"version": 1}
    assert api.post(f"/api/v1/workflows/{workflow_id}/publish").json() == {"version": 2}
    body = api.get(f"/api/v1/workflows/{workflow_id}").json()
    assert (body["status"], body["published_version"]) == ("active", 2)
    versions = api.get(f"/api/v1/workflows/{workflow_id}/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    detail = api.get(f"/api/v1/workflows/{workflow_id}/versions/1").json()
    assert detail["graph"]["nodes"][1]["data"]["config"] == {"tag": "x"}
    assert api.get(f"/api/v1/workflows/{workflow_id}/versions/9").status_code == 404


def test_enrolled_contact_runs_to_a_wait_then_resumes_when_due(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = publish(workspace, [
        node("t", "trigger_manual"),
        node("a", "add_tag", {"tag": "welcomed"}),
        node("f", "update_field", {"field": "plan", "value": "{{ contact.first_name }}-pro"}),
        node("d", "delay", {"duration": "P1D"}),
        node("b", "add_tag", {"tag": "day-two"}),
    ], chain("t", "a", "f", "d", "b"))
    assert enroll(api, workflow, contact) == {"enrolled": 1, "skipped": []}
    start = timezone.now()
    assert run_due(now=start) == 1
    enrollment = Enrollment.objects.get(contact=contact)
    assert enrollment.status == "waiting"
    assert enrollment.current_node_id == "d"
    assert abs((enrollment.next_run_at - (start + timedelta(days=1))).total_seconds()) < 1
    contact.refresh_from_db()
    assert contact.tags == ["welcomed"]
    assert contact.fields["plan"] == "Ada-pro"
    steps = list(StepRun.objects.filter(enrollment=enrollment).order_by("sequence")
                 .values_list("node_id", "status", "branch"))
    assert steps == [("t", "succeeded", "default"), ("a", "succeeded", "default"),
                     ("f", "succeeded", "default"), ("d", "waiting", "")]
    tagged = Event.objects.get(contact_id=contact.pk, type="contact.tagged")
    assert tagged.properties["workflow_id"] == str(workflow.pk) and tagged.properties["node_id"] == "a"

    assert run_due(now=start + timedelta(hours=23)) == 0  # not due yet: nothing claimed, nothing run
    assert run_due(now=start + timedelta(days=1, seconds=1)) == 1
    enrollment.refresh_from_db()
    assert enrollment.status == "completed" and enrollment.finished_at is not None
    contact.refresh_from_db()
    assert contact.tags == ["welcomed", "day-two"]
    assert Event.objects.filter(contact_id=contact.pk, type="workflow.completed").count() == 1
    analytics = workflow_analytics(workflow=workflow)
    assert analytics["enrollments"]["completed"] == 1
    assert analytics["enrollments"]["active"] == 0 and analytics["enrollments"]["waiting"] == 0
    assert analytics["nodes"]["d"] == {"entered": 1, "succeeded": 1, "failed": 0, "waiting_now": 0, "goal_reached": 0}
    assert analytics["nodes"]["b"]["entered"] == 1


def test_manual_enroll_lists_unknown_erased_and_unsubscribed_contacts_as_skipped(api, workspace):
    from contacts.services import contact_erase

    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    ok = ContactFactory(workspace=workspace)
    unsubscribed = ContactFactory(workspace=workspace, status="unsubscribed")
    erased = ContactFactory(workspace=workspace, email="gone@x.test")
    contact_erase(contact=erased)
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [
        {"id": str(ok.pk)}, {"id": str(unsubscribed.pk)}, {"email": "gone@x.test"}, {"email": "nobody@x.test"},
        {"id": "00000000-0000-4000-8000-000000000000"},
    ]}, format="json")
    body = response.json()
    assert body["enrolled"] == 1
    reasons = sorted(item["reason"] for item in body["skipped"])
    assert reasons == ["erased", "not_found", "not_found", "unsubscribed"]
    again = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(ok.pk)}]}, format="json")
    assert again.json()["enrolled"] == 0
    assert again.json()["skipped"][0]["reason"] == "already_enrolled"
    assert Enrollment.objects.filter(workflow=workflow).count() == 1


def test_enroll_needs_an_active_workflow(api, workspace):
    workflow_id = api.post("/api/v1/workflows", {"name": "Draft"}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/enroll", {"contacts": [{"email": "a@b.test"}]},
                        format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "workflow_not_active"


def test_reenrollment_never_is_a_database_constraint(workspace):
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual")], [])
    version = published_version_of(workflow)
    assert len(enrollments_start(version=version, entries=[Entry(contact.pk, "t")]).started) == 1
    run_due()
    assert Enrollment.objects.get(contact=contact).status == "completed"
    report = enrollments_start(version=version, entries=[Entry(contact.pk, "t")])
    assert report.started == [] and report.skipped[0][1] == "reenrollment_not_allowed"


def test_reenrollment_always_starts_again_once_the_previous_one_ended(workspace):
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual")], [], settings={"reenrollment": {"mode": "always"}})
    version = published_version_of(workflow)
    enrollments_start(version=version, entries=[Entry(contact.pk, "t")])
    live_again = enrollments_start(version=version, entries=[Entry(contact.pk, "t")])
    assert live_again.skipped[0][1] == "already_enrolled"
    run_due()
    assert len(enrollments_start(version=version, entries=[Entry(contact.pk, "t")]).started) == 1


def _wait_for_open_workflow(workspace):
    return publish(workspace, [
        node("t", "trigger_manual"),
        node("w", "wait_for_event", {"event": "email.opened", "timeout": "P3D"}),
        node("yes", "add_tag", {"tag": "opened"}),
        node("no", "add_tag", {"tag": "never-opened"}),
    ], [edge("t", "w"), edge("w", "yes", "event"), edge("w", "no", "timeout")])


def test_wait_for_event_resumes_on_the_event_branch_through_the_gateway(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = _wait_for_open_workflow(workspace)
    enroll(api, workflow, contact)
    run_due()
    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.status, enrollment.waiting_for) == ("waiting", "email.opened")
    RuntimeGateway().process(events=[event_record(contact, "page.viewed")])
    enrollment.refresh_from_db()
    assert enrollment.status == "waiting"  # an unrelated event changes nothing
    RuntimeGateway().process(events=[event_record(contact, "email.opened")])
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    contact.refresh_from_db()
    assert contact.tags == ["opened"]
    assert StepRun.objects.get(enrollment=enrollment, node_id="w", status="succeeded").branch == "event"


def test_wait_for_event_takes_timeout_branch_when_no_event_arrives(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = _wait_for_open_workflow(workspace)
    enroll(api, workflow, contact)
    start = timezone.now()
    run_due(now=start)
    run_due(now=start + timedelta(days=3, minutes=1))
    contact.refresh_from_db()
    assert contact.tags == ["never-opened"]


def test_exit_condition_with_goal_exits_at_once_and_counts_the_conversion(api, workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(
        workspace,
        [node("t", "trigger_manual"), node("s", "split", {"variants": [{"id": "A", "weight": 1}]}),
         node("d", "delay", {"duration": "P7D"}), node("a", "add_tag", {"tag": "late"})],
        [*chain("t", "s"), edge("s", "d", "A"), *chain("d", "a")],
        settings={"exit_conditions": [{"event": "custom.purchase", "goal": "Purchased"}]},
    )
    enroll(api, workflow, contact)
    run_due()
    RuntimeGateway().process(events=[event_record(contact, "custom.purchase")])
    enrollment = Enrollment.objects.get(contact=contact)
    assert (enrollment.status, enrollment.goal) == ("exited", "Purchased")
    assert enrollment.next_run_at is None
    exited = Event.objects.get(contact_id=contact.pk, type="workflow.exited")
    assert exited.properties["goal"] == "Purchased"
    analytics = workflow_analytics(workflow=workflow)
    assert analytics["goals"] == {"reached": 1, "rate": 1.0}
    assert analytics["splits"] == {"s": {"A": {"entered": 1, "goal_reached": 1}}}
    # Each step it went through is credited with the conversion; the step it never reached is not.
    assert {node_id: counts["goal_reached"] for node_id, counts in analytics["nodes"].items()} == {
        "t": 1, "s": 1, "d": 1}
    assert analytics["nodes"]["d"]["waiting_now"] == 0
    contact.refresh_from_db()
    assert "late" not in contact.tags


def test_paused_workflow_holds_enrollments_in_place_until_resumed(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    enroll(api, workflow, contact)
    assert api.post(f"/api/v1/workflows/{workflow.pk}/pause").json()["status"] == "paused"
    assert run_due() == 0
    assert Enrollment.objects.get(contact=contact).status == "active"
    assert api.post(f"/api/v1/workflows/{workflow.pk}/resume").json()["status"] == "active"
    assert run_due() == 1
    assert Enrollment.objects.get(contact=contact).status == "completed"


def test_a_step_whose_config_no_longer_fits_fails_that_enrollment_clearly_and_others_continue(api, workspace):
    campaign = CampaignFactory(workspace=workspace)
    broken = publish(workspace, [node("t", "trigger_manual"),
                                 node("c", "add_to_campaign", {"campaign_id": str(campaign.pk)})], chain("t", "c"))
    healthy = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "ok"})], chain("t", "a"),
                      name="Healthy")
    first, second = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    campaign.delete()
    enroll(api, broken, first)
    enroll(api, healthy, second)
    run_due()
    failed = Enrollment.objects.get(workflow=broken)
    assert failed.status == "failed"
    assert "does not exist" in failed.error["message"] and failed.error["node_id"] == "c"
    step = StepRun.objects.get(enrollment=failed, node_id="c")
    assert (step.status, step.error_type) == ("failed", "PortError")
    assert Enrollment.objects.get(workflow=healthy).status == "completed"
    detail = api.get(f"/api/v1/executions/{failed.pk}").json()
    assert detail["status"] == "failed"
    assert detail["steps"][-1]["error"]["type"] == "PortError"
    assert Event.objects.filter(type="workflow.failed", contact_id=first.pk).count() == 1


def test_campaign_and_enroll_in_workflow_actions(api, workspace):
    campaign = CampaignFactory(workspace=workspace)
    target = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "nurture"})],
                     chain("t", "a"), name="Nurture")
    source = publish(workspace, [node("t", "trigger_manual"),
                                 node("c", "add_to_campaign", {"campaign_id": str(campaign.pk)}),
                                 node("e", "enroll_in_workflow", {"workflow_id": str(target.pk)})],
                     chain("t", "c", "e"), name="Source")
    contact = ContactFactory(workspace=workspace, tags=[])
    enroll(api, source, contact)
    run_due()
    assert CampaignMember.objects.get(campaign=campaign, contact=contact).status == "active"
    assert Enrollment.objects.get(workflow=target).status == "completed"
    contact.refresh_from_db()
    assert contact.tags == ["nurture"]


def test_a_workflow_is_not_retriggered_by_its_own_actions(workspace):
    contact = ContactFactory(workspace=workspace, tags=[])
    workflow = publish(
        workspace,
        [node("t", "trigger_event", {"event": "contact.tagged"}), node("a", "add_tag", {"tag": "again"})],
        chain("t", "a"), settings={"reenrollment": {"mode": "always"}},
    )
    first = event_record(contact, "contact.tagged", {"tag": "vip"})
    RuntimeGateway().process(events=[first])
    run_due()
    echo = Event.objects.get(contact_id=contact.pk, type="contact.tagged", properties__tag="again")
    record = EventRecord(id=echo.id, workspace_id=workspace.pk, contact_id=contact.pk, type=echo.type,
                         occurred_at=echo.occurred_at, properties=echo.properties, flags={})
    RuntimeGateway().process(events=[record])
    assert Enrollment.objects.filter(workflow=workflow).count() == 1


def test_processing_the_same_event_twice_enrolls_once(workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_event", {"event": "form.submitted"})], [],
                       settings={"reenrollment": {"mode": "always"}})
    record = event_record(contact, "form.submitted")
    RuntimeGateway().process(events=[record])
    run_due()
    RuntimeGateway().process(events=[record])
    assert Enrollment.objects.filter(workflow=workflow).count() == 1
    # Counted on the trigger as a replay, not as the re-enrollment rule's refusal (tests/workflows/test_trigger_skips).
    assert workflow_analytics(workflow=workflow)["triggers"]["t"]["skipped"] == {"already_started": 1}


def test_lease_held_by_another_owner_is_not_run(api, workspace):
    from workflows.jobs import execute_batch
    from workflows.scheduler import enrollments_claim_due

    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    enroll(api, workflow, contact)
    (claimed,) = enrollments_claim_due(limit=10, owner="owner-a")
    assert enrollments_claim_due(limit=10, owner="owner-b") == []  # leased: not claimable again
    assert execute_batch([str(claimed)], "owner-b") == {"ran": 0, "steps": 0, "held": 0}
    assert Enrollment.objects.get(pk=claimed).status == "active"
    # An expired lease is claimed again (the reaper is the same query).
    later = timezone.now() + timedelta(minutes=5)
    assert enrollments_claim_due(limit=10, owner="owner-c", now=later) == [claimed]
    assert execute_batch([str(claimed)], "owner-c")["ran"] == 1
    assert Enrollment.objects.get(pk=claimed).status == "completed"


def test_score_and_segment_triggers(workspace):
    from tests.factories import SegmentFactory

    segment = SegmentFactory(workspace=workspace)
    contact = ContactFactory(workspace=workspace)
    by_segment = publish(workspace, [node("t", "trigger_segment", {"segment_id": str(segment.pk), "on": "enter"})],
                         [], name="Segment")
    by_score = publish(workspace, [node("t", "trigger_score", {"threshold": 50, "direction": "up"})], [],
                       name="Score")
    RuntimeGateway().process(events=[
        event_record(contact, "segment.entered", {"segment_id": str(segment.pk)}),
        event_record(contact, "contact.updated", {"changes": {"score": [10, 40]}}),
    ])
    assert Enrollment.objects.filter(workflow=by_segment).count() == 1
    assert Enrollment.objects.filter(workflow=by_score).count() == 0
    RuntimeGateway().process(events=[event_record(contact, "contact.updated", {"changes": {"score": [40, 55]}})])
    assert Enrollment.objects.filter(workflow=by_score).count() == 1


def test_executions_api_lists_and_filters(api, workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    enroll(api, workflow, contact)
    run_due()
    listing = api.get(f"/api/v1/executions?workflow={workflow.pk}&status=completed").json()["results"]
    assert len(listing) == 1
    item = listing[0]
    assert item["contact"] == {"id": str(contact.pk), "email": contact.email}
    assert item["version"] == 1 and item["status"] == "completed"
    assert api.get("/api/v1/executions?status=failed").json()["results"] == []
    assert api.get(f"/api/v1/executions?contact={contact.pk}").json()["results"][0]["id"] == item["id"]
    assert api.get("/api/v1/executions?status=bogus").status_code == 400


def test_contact_status_change_and_score_steps_emit_updated_events(api, workspace):
    contact = ContactFactory(workspace=workspace, score=5)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("s", "update_score", {"delta": 10}),
                                   node("c", "change_status", {"status": "unsubscribed"})], chain("t", "s", "c"))
    enroll(api, workflow, contact)
    run_due()
    contact.refresh_from_db()
    assert (contact.score, contact.status) == (15, Contact.Status.UNSUBSCRIBED)
    changes = [e.properties["changes"] for e in Event.objects.filter(contact_id=contact.pk, type="contact.updated")
               .order_by("id")]
    assert changes == [{"score": [5, 15]}, {"status": ["subscribed", "unsubscribed"]}]


def test_send_email_puts_one_outbox_row_per_step_key_even_when_the_step_runs_again(api, workspace):
    from templates.models import OutboxMessage
    from tests.factories import EmailTemplateFactory
    from workflows.runtime import enrollments_advance

    template = EmailTemplateFactory(workspace=workspace, subject="Hi {{ contact.first_name }}",
                                    html="<p>Entered {{ enrollment.workflow_id }}</p>")
    contact = ContactFactory(workspace=workspace, first_name="Ada")
    workflow = publish(workspace, [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk)}),
                                   node("d", "delay", {"duration": "P1D"})], chain("t", "m", "d"))
    enroll(api, workflow, contact)
    enrollment = Enrollment.objects.get(contact=contact)
    before = enrollment.context
    run_due()
    row = OutboxMessage.objects.get(contact=contact)
    assert row.key == f"{enrollment.pk}:m:1"
    assert row.subject == "Hi Ada" and str(workflow.pk) in row.html
    assert row.status in ("queued", "sending", "sent")
    # A crash after the outbox insert but before the state was saved: the batch runs the step again.
    Enrollment.objects.filter(pk=enrollment.pk).update(context=before, status="active", next_run_at=timezone.now())
    enrollments_advance(enrollment_ids=[enrollment.pk])
    assert OutboxMessage.objects.filter(contact=contact).count() == 1
    step = StepRun.objects.filter(enrollment=enrollment, node_id="m").order_by("sequence").last()
    assert step.detail["message_id"] == str(row.pk)


def test_a_batch_whose_email_key_exists_runs_again_send_by_send_and_mails_the_others_once(
    api, workspace, django_capture_on_commit_callbacks
):
    import django_rq

    from templates.models import OutboxMessage
    from tests.factories import EmailTemplateFactory
    from workflows.runtime import enrollments_advance

    template = EmailTemplateFactory(workspace=workspace, subject="Hi {{ contact.first_name }}")
    first, second = ContactFactory(workspace=workspace, first_name="Ada"), ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk)}),
                                   node("d", "delay", {"duration": "P1D"})], chain("t", "m", "d"))
    enroll(api, workflow, first, second)
    done, fresh = Enrollment.objects.get(contact=first), Enrollment.objects.get(contact=second)
    # The first enrollment's email is already in the outbox under its step key, and its state is from before
    # the step (a crash between the two, or a step run again by hand).
    with django_capture_on_commit_callbacks(execute=True):
        enrollments_advance(enrollment_ids=[done.pk])
    existing = OutboxMessage.objects.get(contact=first)
    Enrollment.objects.filter(pk=done.pk).update(context=done.context, status="active", next_run_at=timezone.now())
    queue = django_rq.get_queue("email")
    queue.empty()

    with django_capture_on_commit_callbacks(execute=True):
        report = enrollments_advance(enrollment_ids=[done.pk, fresh.pk])

    assert report.ran == 2
    assert OutboxMessage.objects.filter(contact=first).count() == 1
    new = OutboxMessage.objects.get(contact=second)
    steps = {run.enrollment_id: run for run in StepRun.objects.filter(node_id="m").order_by("sequence")}
    assert steps[done.pk].detail["message_id"] == str(existing.pk)
    assert steps[fresh.pk].detail["message_id"] == str(new.pk)
    assert [job.args[0] for job in queue.jobs] == [[str(new.pk)]]  # only the new row is delivered


def test_send_email_with_a_deleted_template_fails_clearly(api, workspace):
    from tests.factories import EmailTemplateFactory

    template = EmailTemplateFactory(workspace=workspace)
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk)})],
                       chain("t", "m"))
    template.delete()
    enroll(api, workflow, contact)
    run_due()
    enrollment = Enrollment.objects.get(contact=contact)
    assert enrollment.status == "failed"
    assert "no longer exists" in enrollment.error["message"]


def test_unsubscribed_by_an_earlier_step_is_not_mailed(api, workspace):
    from templates.models import OutboxMessage
    from tests.factories import EmailTemplateFactory

    template = EmailTemplateFactory(workspace=workspace)
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("u", "change_status", {"status": "unsubscribed"}),
                                   node("m", "send_email", {"template_id": str(template.pk)})], chain("t", "u", "m"))
    enroll(api, workflow, contact)
    run_due()
    row = OutboxMessage.objects.get(contact=contact)
    assert row.status == "skipped"
    assert Enrollment.objects.get(contact=contact).status == "completed"


@pytest.fixture
def not_yet_available_type():
    """A node type that declares itself not available yet (every built-in one runs today)."""

    @node_type("test_only_not_yet", kind="action", label="Not yet", description="Declared, not runnable yet.")
    class NotYet(NodeType):
        available = False
        unavailable_because = "its side effects ship later"

        def run(self, ctx, config):  # pragma: no cover - publishing refuses it first
            raise AssertionError("never run")

    yield NotYet.type
    registry._types.pop(NotYet.type)
    registry.version += 1
    registry._described = None


def test_publish_refuses_actions_whose_effects_are_not_available_yet(api, workspace, not_yet_available_type):
    graph = {"nodes": [node("t", "trigger_manual"), node("n", not_yet_available_type)], "edges": chain("t", "n")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    report = api.post(f"/api/v1/workflows/{workflow_id}/validate", {}, format="json").json()
    response = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert response.status_code == 422
    assert [(e["code"], e["node_id"]) for e in response.json()["error"]["details"]["errors"]] == [
        ("action_not_available", "n")]
    assert report["errors"] == response.json()["error"]["details"]["errors"]


def test_cancelling_a_waiting_enrollment_moves_its_counters(api, workspace):
    from workflows.services import enrollment_cancel

    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P1D"})],
                       chain("t", "d"))
    enroll(api, workflow, contact)
    run_due()
    assert workflow_analytics(workflow=workflow)["nodes"]["d"]["waiting_now"] == 1
    enrollment_cancel(enrollment=Enrollment.objects.get(contact=contact))
    analytics = workflow_analytics(workflow=workflow)
    assert analytics["nodes"]["d"]["waiting_now"] == 0
    assert analytics["enrollments"]["waiting"] == 0 and analytics["enrollments"]["cancelled"] == 1
