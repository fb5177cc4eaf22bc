from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from events.models import Event
from tests.engine.graphs import node
from tests.factories import ContactFactory, SegmentFactory
from tests.workflows.builders import publish, run_due
from workflows.engine.nodes.triggers import SCAN_INTERVAL
from workflows.entry_path import time_triggers_fire
from workflows.models import Enrollment, WorkflowVersion
from workflows.selectors import workflow_analytics


def _published_at(workflow, moment):
    WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False).update(published_at=moment)


def test_schedule_once_enrolls_the_audience_at_its_moment_and_only_once(workspace):
    vip = ContactFactory(workspace=workspace, tags=["vip"])
    ContactFactory(workspace=workspace, tags=[])
    ContactFactory(workspace=workspace, tags=["vip"], status="unsubscribed")
    segment = SegmentFactory(workspace=workspace)  # rule: "vip" in tags
    at = timezone.now() + timedelta(hours=1)
    workflow = publish(workspace, [node("t", "trigger_schedule", {
        "at": at.isoformat(), "timezone": "UTC", "audience": {"segment_id": str(segment.pk)}})], [])
    assert time_triggers_fire(now=at - timedelta(minutes=1)) == 0
    assert time_triggers_fire(now=at + timedelta(seconds=1)) == 1
    assert list(Enrollment.objects.filter(workflow=workflow).values_list("contact_id", flat=True)) == [vip.pk]
    assert time_triggers_fire(now=at + timedelta(hours=5)) == 0


def test_rrule_schedule_fires_each_occurrence_and_enrolls_again_under_always(workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(
        workspace,
        [node("t", "trigger_schedule", {"rrule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "timezone": "Europe/Paris",
                                        "audience": {"rule": {"==": [{"var": "contact.id"}, str(contact.pk)]}}})],
        [], settings={"reenrollment": {"mode": "always"}},
    )
    _published_at(workflow, datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    monday_nine_paris = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert time_triggers_fire(now=monday_nine_paris - timedelta(minutes=1)) == 0
    assert time_triggers_fire(now=monday_nine_paris + timedelta(minutes=1)) == 1
    assert time_triggers_fire(now=monday_nine_paris + timedelta(minutes=2)) == 0  # same occurrence: nothing
    Enrollment.objects.filter(workflow=workflow).update(status="completed")
    assert time_triggers_fire(now=monday_nine_paris + timedelta(days=1, minutes=1)) == 1
    assert Enrollment.objects.filter(workflow=workflow).count() == 2


def test_date_field_trigger_fires_offset_days_before_at_contact_time(workspace):
    renews = ContactFactory(workspace=workspace, timezone="America/New_York",
                            fields={"renewal_date": "2026-12-10"})
    ContactFactory(workspace=workspace, fields={"renewal_date": "not a date"})
    ContactFactory(workspace=workspace, fields={})
    workflow = publish(workspace, [node("t", "trigger_date_field",
                                        {"field": "renewal_date", "offset": "-P3D", "at_time": "09:00"})], [])
    _published_at(workflow, datetime(2026, 12, 1, tzinfo=UTC))
    fire = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 09:00 in New York on 7 December
    assert time_triggers_fire(now=fire - timedelta(minutes=10)) == 0
    assert time_triggers_fire(now=fire + SCAN_INTERVAL) == 1
    assert list(Enrollment.objects.filter(workflow=workflow).values_list("contact_id", flat=True)) == [renews.pk]
    assert time_triggers_fire(now=fire + 3 * SCAN_INTERVAL) == 0


def test_inactivity_trigger_enrolls_contacts_without_recent_activity(workspace):
    now = timezone.now()
    quiet = ContactFactory(workspace=workspace)
    busy = ContactFactory(workspace=workspace)
    from contacts.models import Contact

    Contact.objects.filter(pk__in=[quiet.pk, busy.pk]).update(created_at=now - timedelta(days=60))
    Event.objects.create(workspace_id=workspace.pk, contact_id=busy.pk, type="email.opened",
                         occurred_at=now - timedelta(days=2), received_at=now)
    Event.objects.create(workspace_id=workspace.pk, contact_id=quiet.pk, type="email.opened",
                         occurred_at=now - timedelta(days=45), received_at=now)
    workflow = publish(workspace, [node("t", "trigger_inactivity", {"days": 30, "events": ["email.opened"]})], [])
    _published_at(workflow, now - timedelta(hours=1))
    assert time_triggers_fire(now=now) == 1
    assert list(Enrollment.objects.filter(workflow=workflow).values_list("contact_id", flat=True)) == [quiet.pk]
    # Every scan offers the quiet contact again, and its occasion starts it once: those offers are the trigger's
    # own dedupe, not entries to show as skipped.
    assert time_triggers_fire(now=now + SCAN_INTERVAL) == 0
    assert time_triggers_fire(now=now + 2 * SCAN_INTERVAL) == 0
    assert workflow_analytics(workflow=workflow)["triggers"] == {}


def test_a_schedule_counts_the_contacts_its_occasion_could_not_start(workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(
        workspace,
        [node("t", "trigger_schedule", {"rrule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "timezone": "UTC",
                                        "audience": {"rule": {"==": [{"var": "contact.id"}, str(contact.pk)]}}})],
        [], settings={"reenrollment": {"mode": "never"}},
    )
    _published_at(workflow, datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    assert time_triggers_fire(now=datetime(2026, 11, 23, 9, 1, tzinfo=UTC)) == 1
    run_due()  # the first enrollment completes: the next occurrence meets the rule, not a live enrollment
    assert time_triggers_fire(now=datetime(2026, 11, 24, 9, 1, tzinfo=UTC)) == 0  # `never`: once only
    assert workflow_analytics(workflow=workflow)["triggers"] == {
        "t": {"not_entered": 0, "skipped": {"reenrollment_not_allowed": 1}}}


def test_inactivity_enters_a_contact_once_per_spell_of_quiet_even_under_always(workspace):
    from contacts.models import Contact

    now = timezone.now()
    quiet, never_active = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    Contact.objects.filter(pk__in=[quiet.pk, never_active.pk]).update(created_at=now - timedelta(days=60))

    def opened(at):
        Event.objects.create(workspace_id=workspace.pk, contact_id=quiet.pk, type="email.opened", occurred_at=at,
                             received_at=at)

    opened(now - timedelta(days=45))
    workflow = publish(workspace, [node("t", "trigger_inactivity", {"days": 30, "events": ["email.opened"]})], [],
                       settings={"reenrollment": {"mode": "always"}})
    _published_at(workflow, now - timedelta(hours=1))
    assert time_triggers_fire(now=now) == 2
    run_due()
    # Still quiet a day and a week later: the same spell, so nothing starts (it did every day, named by the day).
    assert time_triggers_fire(now=now + timedelta(days=1)) == 0
    assert time_triggers_fire(now=now + timedelta(days=7)) == 0
    # Active again, then quiet for 30 days: a new spell, a new entry; the never-active contact's spell goes on.
    opened(now + timedelta(days=8))
    assert time_triggers_fire(now=now + timedelta(days=20)) == 0
    assert time_triggers_fire(now=now + timedelta(days=39)) == 1
    entries = Enrollment.objects.filter(workflow=workflow).values_list("contact_id", flat=True)
    assert sorted(map(str, entries)) == sorted(map(str, [quiet.pk, quiet.pk, never_active.pk]))
