from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.models import Campaign
from tests.engine.graphs import chain, node
from tests.factories import CampaignFactory, ContactFactory, SegmentFactory
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment
from workflows.selectors import workflow_analytics
from workflows.services import enrollment_retry


def _failing_campaign_workflow(workspace):
    campaign = CampaignFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"),
                                   node("c", "add_to_campaign", {"campaign_id": str(campaign.pk)}),
                                   node("a", "add_tag", {"tag": "after"})], chain("t", "c", "a"))
    campaign_id, name = campaign.pk, campaign.name
    campaign.delete()
    return workflow, campaign_id, name


def _enroll(workflow, *contacts):
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    enrollments_start(version=published_version_of(workflow), entries=[Entry(c.pk, "t") for c in contacts])


def test_retry_resumes_a_failed_enrollment_at_its_failed_step(workspace):
    workflow, campaign_id, name = _failing_campaign_workflow(workspace)
    contact = ContactFactory(workspace=workspace, tags=[])
    _enroll(workflow, contact)
    run_due()
    enrollment = Enrollment.objects.get(workflow=workflow)
    assert enrollment.status == "failed"
    Campaign.objects.create(pk=campaign_id, workspace=workspace, name=name)  # the operator fixes the cause
    enrollment_retry(enrollment=enrollment)
    run_due()
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    contact.refresh_from_db()
    assert contact.tags == ["after"]
    steps = list(enrollment.step_runs.order_by("sequence").values_list("node_id", "status"))
    assert steps == [("t", "succeeded"), ("c", "failed"), ("c", "succeeded"), ("a", "succeeded")]
    assert workflow_analytics(workflow=workflow)["enrollments"]["failed"] == 0


def test_retry_failed_command_filters_and_dry_run_changes_nothing(workspace):
    workflow, campaign_id, name = _failing_campaign_workflow(workspace)
    contacts = [ContactFactory(workspace=workspace) for _ in range(3)]
    _enroll(workflow, *contacts)
    run_due()
    out = io.StringIO()
    call_command("retry_failed", "--workflow", str(workflow.pk), "--node", "c", "--error-type", "PortError",
                 "--dry-run", stdout=out)
    assert "would retry 3 enrollment(s)" in out.getvalue()
    assert Enrollment.objects.filter(workflow=workflow, status="failed").count() == 3
    out = io.StringIO()
    call_command("retry_failed", "--workflow", str(workflow.pk), "--node", "other", stdout=out)
    assert "retried 0 enrollment(s)" in out.getvalue()
    Campaign.objects.create(pk=campaign_id, workspace=workspace, name=name)
    call_command("retry_failed", "--workflow", str(workflow.pk), stdout=io.StringIO())
    run_due()
    assert Enrollment.objects.filter(workflow=workflow, status="completed").count() == 3


def test_retry_failed_refuses_a_zone_less_time():
    with pytest.raises(CommandError):
        call_command("retry_failed", "--since", "2026-11-22T10:00:00", stdout=io.StringIO())


def test_backfill_enrolls_matching_contacts_once_even_when_run_again(workspace):
    workflow = publish(workspace, [node("t", "trigger_manual")], [], settings={"reenrollment": {"mode": "always"}})
    vips = [ContactFactory(workspace=workspace, tags=["vip"]) for _ in range(5)]
    ContactFactory(workspace=workspace, tags=[])
    rule = json.dumps({"in": ["vip", {"var": "contact.tags"}]})
    out = io.StringIO()
    call_command("backfill_enrollments", "--workflow", str(workflow.pk), "--rule", rule, "--dry-run", stdout=out)
    assert "would enroll 5" in out.getvalue()
    assert not Enrollment.objects.exists()
    call_command("backfill_enrollments", "--workflow", str(workflow.pk), "--rule", rule, "--batch-size", "2",
                 stdout=io.StringIO())
    run_due()
    out = io.StringIO()
    call_command("backfill_enrollments", "--workflow", str(workflow.pk), "--rule", rule, stdout=out)
    assert "enrolled 0" in out.getvalue()
    assert sorted(Enrollment.objects.values_list("contact_id", flat=True)) == sorted(c.pk for c in vips)


def test_backfill_from_a_segment_and_bad_arguments(workspace):
    workflow = publish(workspace, [node("t", "trigger_manual")], [])
    segment = SegmentFactory(workspace=workspace)
    ContactFactory(workspace=workspace, tags=["vip"])
    out = io.StringIO()
    call_command("backfill_enrollments", "--workflow", str(workflow.pk), "--segment", str(segment.pk), stdout=out)
    assert "enrolled 1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("backfill_enrollments", "--workflow", str(workflow.pk), "--rule", "{nope", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("backfill_enrollments", "--workflow", str(workflow.pk), "--rule", '{"frob": 1}',
                     stdout=io.StringIO())
