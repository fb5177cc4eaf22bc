"""Executions the builder's executions screens are tested on: real runs through the engine (a condition, a failing
step, a completed path) and a page's worth of waiting ones, written directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from tests.engine.graphs import edge, node


@dataclass
class Seeded:
    onboarding: object  # the workflow with the condition: ada and bob failed at "c", carol completed
    drip: object  # a workflow whose executions only wait (the list's second page)
    ada: object
    bob: object
    carol: object
    fix: object  # restores the deleted campaign, so a retried execution can get past "c"


def seed_executions(workspace, *, waiting: int = 0) -> Seeded:
    """t → if (plan is "pro") → yes: c (its campaign is deleted: fails) → a; no: a. Ada and Bob are on "pro"."""
    from campaigns.models import Campaign
    from tests.factories import CampaignFactory, ContactFactory
    from tests.workflows.builders import publish, run_due
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of
    from workflows.models import Enrollment

    campaign = CampaignFactory(workspace=workspace, name="Launch")
    nodes = [node("t", "trigger_manual", label="Entered by hand"),
             node("if", "condition", {"rule": {"==": [{"var": "contact.fields.plan"}, "pro"]}}, "Is on pro"),
             node("c", "add_to_campaign", {"campaign_id": str(campaign.pk)}, "Add to launch"),
             node("a", "add_tag", {"tag": "onboarded"}, "Tag onboarded")]
    edges = [edge("t", "if"), edge("if", "c", "yes"), edge("if", "a", "no"), edge("c", "a")]
    onboarding = publish(workspace, nodes, edges, name="Onboarding")
    campaign_id = campaign.pk
    campaign.delete()
    ada = ContactFactory(workspace=workspace, email="ada@lovelace.test", fields={"plan": "pro"})
    bob = ContactFactory(workspace=workspace, email="bob@builder.test", fields={"plan": "pro"})
    carol = ContactFactory(workspace=workspace, email="carol@example.com", fields={"plan": "free"})
    enrollments_start(version=published_version_of(onboarding),
                      entries=[Entry(contact.pk, "t") for contact in (ada, bob, carol)])
    run_due()
    drip = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P1D"})],
                   [edge("t", "d")], name="Drip")
    _waiting_executions(workspace, drip, waiting)
    rows = {row.contact_id: row for row in Enrollment.objects.filter(workflow=onboarding)}
    _with_traceback(rows[ada.pk])

    def fix():
        Campaign.objects.create(pk=campaign_id, workspace=workspace, name="Launch")

    return Seeded(onboarding, drip, rows[ada.pk], rows[bob.pk], rows[carol.pk], fix)


def _with_traceback(enrollment) -> None:
    """Give the failed step the traceback the runner records when a step raises unexpectedly (a port's refusal,
    as here, has none): a real one, of a real raise."""
    import traceback

    from workflows.engine.ports import PortError

    try:
        raise PortError("Campaign does not exist (deleted?).")
    except PortError:
        trace = traceback.format_exc()
    enrollment.step_runs.filter(node_id="c", status="failed").update(error_traceback=trace)


def _waiting_executions(workspace, workflow, count: int) -> None:
    """`count` executions waiting at "d", entered a minute apart, a day ago and earlier (older than the real runs)."""
    from tests.factories import ContactFactory
    from workflows.models import Enrollment, WorkflowVersion

    version = WorkflowVersion.objects.filter(workflow=workflow, number=1).get()
    start = timezone.now() - timedelta(days=1)
    contacts = ContactFactory.create_batch(count, workspace=workspace)
    Enrollment.objects.bulk_create(
        Enrollment(workspace=workspace, workflow=workflow, version=version, contact=contact, status="waiting",
                   current_node_id="d", entered_at=start - timedelta(minutes=index), entry_key="once")
        for index, contact in enumerate(contacts))
