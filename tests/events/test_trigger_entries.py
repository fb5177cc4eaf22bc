"""The live entry path: which published versions stored events start, through the runtime's trigger index.

Processing hands events to the real gateway; the runtime asks the trigger node types, as the simulator does.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from contacts.models import SegmentMembership
from events import processing
from events.services import event_emit
from tests.engine.graphs import chain, node
from tests.events.test_processing import emit, published_workflow, record
from tests.factories import ContactFactory, SegmentFactory
from tests.workflows.builders import publish
from workflows import trigger_index as index_module
from workflows.entry_path import event_entries
from workflows.models import Enrollment, Workflow, WorkflowCounter
from workflows.services import workflow_simulate
from workflows.trigger_index import TOKEN_KEY, trigger_index, trigger_index_invalidate

REAL_GATEWAY = "workflows.runtime_gateway.RuntimeGateway"


def entries(events, **options):
    found = event_entries(events, now=timezone.now(), **options)
    return [(version_id, entry) for version_id, listed in found.by_version.items() for entry in listed]


# --- the index -----------------------------------------------------------------------------------------------------


def test_entries_come_from_active_published_versions_only(workspace, redis_db):
    contact = ContactFactory(workspace=workspace)
    _, version = published_workflow(workspace)
    published_workflow(workspace, status=Workflow.Status.PAUSED)
    published_workflow(workspace, event="other.thing")
    event = emit(workspace, contact)
    assert [(v, e.trigger_node_id, e.event_id, e.contact_id) for v, e in entries([record(event)])] == [
        (version.id, "t1", event.id, contact.id)
    ]


def test_the_index_is_per_workspace(workspace, other_workspace, redis_db):
    published_workflow(other_workspace)
    contact = ContactFactory(workspace=workspace)
    assert entries([record(emit(workspace, contact))]) == []


def test_a_trigger_filter_sees_event_and_contact(workspace, redis_db):
    vip = ContactFactory(workspace=workspace, tags=["vip"])
    other = ContactFactory(workspace=workspace, tags=[])
    published_workflow(workspace, filter={"and": [
        {"in": ["vip", {"var": "contact.tags"}]},
        {">": [{"var": "event.properties.total"}, 100]},
    ]})
    events = [
        emit(workspace, vip, properties={"total": 500}),
        emit(workspace, vip, properties={"total": 5}),
        emit(workspace, other, properties={"total": 500}),
    ]
    assert [entry.event_id for _, entry in entries([record(e) for e in events])] == [events[0].id]


def test_bot_flagged_and_contactless_events_start_nothing(workspace, redis_db):
    contact = ContactFactory(workspace=workspace)
    published_workflow(workspace, event="email.clicked")
    published_workflow(workspace, event="campaign.started")
    bot = emit(workspace, contact, "email.clicked", flags={"bot": True})
    human = emit(workspace, contact, "email.clicked")
    campaign = event_emit(workspace=workspace, type="campaign.started", properties={"campaign_id": "c"})
    assert [entry.event_id for _, entry in entries([record(bot), record(human), record(campaign)])] == [human.id]


def test_segment_and_score_triggers_are_in_the_same_index(workspace, redis_db, django_assert_num_queries):
    segment = SegmentFactory(workspace=workspace)
    contact = ContactFactory(workspace=workspace)
    by_segment = publish(workspace, [node("t", "trigger_segment", {"segment_id": str(segment.pk)})], [], name="S")
    by_score = publish(workspace, [node("t", "trigger_score", {"threshold": 50, "direction": "down"})], [],
                       name="Score")
    events = [
        emit(workspace, contact, "segment.entered", properties={"segment_id": str(segment.pk)}),
        emit(workspace, contact, "segment.entered", properties={"segment_id": "another"}),
        emit(workspace, contact, "contact.updated", properties={"changes": {"score": [60, 50]}}),
        emit(workspace, contact, "contact.updated", properties={"changes": {"first_name": ["A", "B"]}}),
    ]
    trigger_index()
    with django_assert_num_queries(0):  # no filter reads the contact: the index alone answers
        found = entries([record(e) for e in events])
    versions = {v.workflow_id: v.pk for v in (by_segment.versions.get(number=1), by_score.versions.get(number=1))}
    assert [(v, e.event_id) for v, e in found] == [
        (versions[by_segment.pk], events[0].id), (versions[by_score.pk], events[2].id)
    ]


def test_a_batch_reads_its_contacts_once_and_history_only_when_a_filter_asks(
    workspace, redis_db, django_assert_num_queries
):
    contacts = [ContactFactory(workspace=workspace) for _ in range(3)]
    published_workflow(workspace, filter={">=": [{"event_count": {"type": "page.viewed", "within": "P7D"}}, 1]})
    published_workflow(workspace, node_id="tags", filter={"in": ["vip", {"var": "contact.tags"}]})
    emit(workspace, contacts[0], "page.viewed")
    events = [record(emit(workspace, contact)) for contact in contacts for _ in range(2)]
    trigger_index()
    with django_assert_num_queries(3):  # the contacts, their scores (a table of their own), page.viewed for all
        found = entries(events)
    assert {(e.contact_id, e.trigger_node_id) for _, e in found} == {(contacts[0].pk, "t1")}


def test_trigger_index_reloads_after_invalidation(workspace, redis_db, django_capture_on_commit_callbacks):
    contact = ContactFactory(workspace=workspace)
    assert len(trigger_index()) == 0
    published_workflow(workspace)
    assert len(trigger_index()) == 0  # cached: nobody said it changed
    with django_capture_on_commit_callbacks(execute=True):
        trigger_index_invalidate()
    assert redis_db.get(TOKEN_KEY) is not None
    assert len(entries([record(emit(workspace, contact))])) == 1


def test_trigger_index_reloads_after_ttl_when_redis_lost_the_token(workspace, redis_db, monkeypatch):
    assert len(trigger_index()) == 0
    published_workflow(workspace)
    redis_db.flushdb()
    assert len(trigger_index()) == 0
    monkeypatch.setattr(index_module, "STALE_AFTER", 0.0)
    assert len(trigger_index()) == 1


def test_other_processes_see_the_new_token(workspace, redis_db):
    assert len(trigger_index()) == 0
    published_workflow(workspace)
    redis_db.set(TOKEN_KEY, "published-elsewhere")
    index_module._cache.checked_at = 0.0
    assert len(trigger_index()) == 1


# --- through processing, against the simulator ----------------------------------------------------------------------


def _process(settings, *events):
    settings.ENGINE_GATEWAY = REAL_GATEWAY
    return processing.events_process(event_ids=[event.id for event in events])


def _segment_filtered(workspace, segment):
    return publish(workspace, [node("t", "trigger_event", {"event": "contact.created",
                                                            "filter": {"in_segment": [str(segment.pk)]}}),
                               node("a", "add_tag", {"tag": "welcomed"})], chain("t", "a"))


def _simulated(workflow, contact, segments):
    return workflow_simulate(workflow=workflow, version="1", seed=0, until="P1D", start=timezone.now(),
                             contact={"id": str(contact.pk), "email": contact.email, "segments": segments},
                             events=[{"type": "contact.created"}])


def test_a_segment_filter_enrolls_the_member_only_live_and_in_simulation(workspace, settings, redis_db):
    segment = SegmentFactory(workspace=workspace)
    member, outsider = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    SegmentMembership.objects.create(segment=segment, contact=member)
    workflow = _segment_filtered(workspace, segment)

    assert _process(settings, emit(workspace, member, "contact.created"), emit(workspace, outsider, "contact.created")) == 2
    assert list(Enrollment.objects.filter(workflow=workflow).values_list("contact_id", flat=True)) == [member.pk]

    assert _simulated(workflow, member, [str(segment.pk)])["trigger_node"] == "t"
    simulated = _simulated(workflow, outsider, [])
    assert (simulated["status"], simulated["trigger_node"], simulated["actions"]) == ("exited", None, [])
    assert simulated["reason"].startswith("Not entered: trigger t did not start because its filter does not hold")


def test_a_filter_about_a_deleted_segment_is_recorded_as_not_entered(workspace, settings, redis_db, caplog):
    segment = SegmentFactory(workspace=workspace)
    member = ContactFactory(workspace=workspace)
    SegmentMembership.objects.create(segment=segment, contact=member)
    workflow = _segment_filtered(workspace, segment)
    version = workflow.versions.get(number=1)
    segment_id = str(segment.pk)
    segment.delete()

    with caplog.at_level(logging.WARNING, logger="workflows.entry_path"):
        assert _process(settings, emit(workspace, member, "contact.created")) == 1
    assert not Enrollment.objects.filter(workflow=workflow).exists()
    reason = f"its filter could not be evaluated (the segment '{segment_id}' does not exist (deleted since publishing?))"
    (line,) = [r for r in caplog.records if r.name == "workflows.entry_path"]
    assert line.getMessage().startswith(f"not_entered version={version.pk} node=t contacts=1 first=['{member.pk}']")
    assert (line.node_id, line.contact_ids, line.reason) == ("t", [str(member.pk)], reason)
    assert WorkflowCounter.objects.get(version=version, key="trigger.t.not_entered").value == 1

    simulated = _simulated(workflow, member, [segment_id])
    assert simulated["status"] == "exited"
    assert simulated["reason"] == f"Not entered: trigger t did not start because {reason}."
    assert [(step["node_id"], step["outcome"], step["error"]["type"]) for step in simulated["path"]] == [
        ("t", "not_entered", "ConditionError")
    ]


def test_a_filter_that_errors_is_recorded_and_does_not_stop_the_batch(workspace, settings, redis_db, caplog):
    contact = ContactFactory(workspace=workspace)
    published_workflow(workspace, filter={"regex": [{"var": "event.properties.code"}, {"var": "event.properties.p"}]})
    plain, _ = published_workflow(workspace, node_id="plain")
    with caplog.at_level(logging.WARNING, logger="workflows.entry_path"):
        assert _process(settings, emit(workspace, contact, properties={"code": "x", "p": 5})) == 1
    assert list(Enrollment.objects.values_list("workflow_id", flat=True)) == [plain.pk]
    assert "not_entered" in caplog.text and "could not be evaluated" in caplog.text


def test_replay_counts_the_entries_of_every_event_driven_trigger(workspace, settings, redis_db):
    segment = SegmentFactory(workspace=workspace)
    contact = ContactFactory(workspace=workspace)
    publish(workspace, [node("t", "trigger_segment", {"segment_id": str(segment.pk)})], [])
    published_workflow(workspace)
    emit(workspace, contact)
    emit(workspace, contact, "segment.entered", properties={"segment_id": str(segment.pk)})
    settings.ENGINE_GATEWAY = REAL_GATEWAY
    since, until = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1)
    dry = processing.events_replay(since=since, until=until, dry_run=True)
    assert (dry.events, dry.matches) == (2, 2)
    assert not Enrollment.objects.exists()
    done = processing.events_replay(since=since, until=until)
    assert (done.events, done.matches) == (2, 2)
    assert Enrollment.objects.count() == 2


def test_an_audience_rule_that_cannot_be_evaluated_is_one_line_and_counted(workspace, redis_db, caplog):
    from workflows.entry_path import time_triggers_fire

    contacts = [ContactFactory(workspace=workspace) for _ in range(3)]
    at = timezone.now() + timedelta(hours=1)
    workflow = publish(workspace, [node("t", "trigger_schedule", {
        "at": at.isoformat(), "audience": {"rule": {">": [{"event_count": {"type": "page.viewed"}}, 0]}}})], [])
    with caplog.at_level(logging.WARNING, logger="workflows.entry_path"):
        assert time_triggers_fire(now=at + timedelta(seconds=1)) == 0
    (line,) = [r for r in caplog.records if r.name == "workflows.entry_path"]
    assert (line.not_entered, sorted(line.contact_ids)) == (3, sorted(str(c.pk) for c in contacts))
    assert line.reason.startswith("the audience rule could not be evaluated (event_count needs the contact's activity")
    version = workflow.versions.get(number=1)
    assert WorkflowCounter.objects.get(version=version, key="trigger.t.not_entered").value == 3
