"""Template analytics: installs and publications counted across workspaces; completion and goal rates shown only
above a minimum sample, so that no workspace's own figures can be read through a template's."""

from __future__ import annotations

import pytest

from marketplace.services import template_install
from marketplace.stats import MIN_ENROLLMENTS, MIN_WORKSPACES, template_stats_refresh
from tests.factories import ContactFactory, WorkspaceFactory
from workflows.services import workflow_enroll, workflow_publish

pytestmark = pytest.mark.django_db


def _live_install(workspace, contacts: int):
    """Install lead-qualification (its path ends at once: no delay), publish it and enroll ``contacts`` people."""
    workflow = template_install(workspace=workspace, slug="lead-qualification").workflow
    workflow_publish(workflow=workflow)
    workflow.refresh_from_db()
    people = [ContactFactory(workspace=workspace, fields={"seats": 5}) for _ in range(contacts)]
    workflow_enroll(workflow=workflow, contacts=[{"id": str(c.pk)} for c in people])
    return workflow


def _stats(api):
    return api.get("/api/v1/workflow-templates/lead-qualification").json()["stats"]


def test_a_workspaces_own_figures_show_to_it_and_to_nobody_else(api, other_api, workspace):
    _live_install(workspace, MIN_ENROLLMENTS)
    template_stats_refresh()
    mine, theirs = _stats(api), _stats(other_api)
    assert (mine["installs"], mine["published"], mine["enrollments"]) == (1, 1, MIN_ENROLLMENTS)
    assert mine["rates_hidden_because"] is None and mine["completion_rate"] is not None
    assert theirs["installs"] == 1
    assert (theirs["enrollments"], theirs["completion_rate"], theirs["goal_rate"]) == (None, None, None)
    assert "workspaces" in theirs["rates_hidden_because"]


def test_rates_show_to_everyone_from_enough_workspaces_and_enrollments(api, workspace):
    for index in range(MIN_WORKSPACES):
        _live_install(WorkspaceFactory(slug=f"shop-{index}"), MIN_ENROLLMENTS // MIN_WORKSPACES + 1)
    template_stats_refresh()
    stats = _stats(api)  # a workspace that never installed it
    assert stats["installs"] == MIN_WORKSPACES and stats["published"] == MIN_WORKSPACES
    assert stats["enrollments"] >= MIN_ENROLLMENTS
    assert stats["completion_rate"] is not None and 0 <= stats["completion_rate"] <= 1
    assert stats["goal_rate"] == 0.0


def test_too_few_enrollments_hide_the_rates_even_from_many_workspaces(api):
    for index in range(MIN_WORKSPACES):
        _live_install(WorkspaceFactory(slug=f"tiny-{index}"), 2)
    template_stats_refresh()
    assert _stats(api)["completion_rate"] is None
