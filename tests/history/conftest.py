"""Fixtures of the execution-history tests: a workflow whose middle step fails until its campaign exists again."""

from __future__ import annotations

import pytest

from tests.templates.conftest import _smtp_controller, email_queue, run_email_jobs, smtp  # noqa: F401
from tests.workflows.conftest import _fresh_trigger_index  # noqa: F401


class Failing:
    """t (manual) → c (add_to_campaign, whose campaign was deleted: fails) → a (add_tag); `fix()` restores it."""

    def __init__(self, workspace, extra_nodes=(), name="W"):
        from tests.engine.graphs import chain, node
        from tests.factories import CampaignFactory
        from tests.workflows.builders import publish

        campaign = CampaignFactory(workspace=workspace)
        nodes = [node("t", "trigger_manual"), *extra_nodes,
                 node("c", "add_to_campaign", {"campaign_id": str(campaign.pk)}), node("a", "add_tag", {"tag": "after"})]
        ids = [n["id"] for n in nodes]
        self.workflow = publish(workspace, nodes, chain(*ids), name=name)
        self.workspace, self.campaign_id, self.campaign_name = workspace, campaign.pk, campaign.name
        campaign.delete()

    def enroll(self, *contacts):
        from workflows.enrollment_starts import Entry, enrollments_start
        from workflows.live_versions import published_version_of

        enrollments_start(version=published_version_of(self.workflow), entries=[Entry(c.pk, "t") for c in contacts])

    def fix(self):
        from campaigns.models import Campaign

        Campaign.objects.create(pk=self.campaign_id, workspace=self.workspace, name=self.campaign_name)


@pytest.fixture
def failing(workspace):
    return Failing(workspace)
