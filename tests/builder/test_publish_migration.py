"""Publishing with a move of contacts in flight, in Chromium: the plan in the publish dialog, a removed step
mapped by hand, and the contacts on the new version afterwards."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.live import enroll
from tests.builder.pages import open_canvas
from tests.engine.graphs import chain, node


def _waiting_at_the_delay(workspace, workflow, count: int) -> None:
    from tests.factories import ContactFactory
    from workflows.models import Enrollment
    from workflows.runtime import enrollments_advance

    enroll(workflow, *(ContactFactory(workspace=workspace) for _ in range(count)))
    enrollments_advance(
        enrollment_ids=list(Enrollment.objects.filter(workflow=workflow).values_list("pk", flat=True))
    )
    assert set(Enrollment.objects.filter(workflow=workflow).values_list("status", "current_node_id")) == {
        ("waiting", "d")
    }


def test_the_publish_dialog_plans_the_move_and_publishing_moves_the_contacts(
    logged_in, screenshot, workspace, onboarding
):
    from workflows.models import Enrollment, StepRun, WorkflowVersion
    from workflows.services import workflow_draft_save

    page = logged_in
    _waiting_at_the_delay(workspace, onboarding, 2)
    # The draft drops the delay: its two contacts need somewhere to go.
    draft = WorkflowVersion.objects.get(workflow=onboarding, number__isnull=True)
    workflow_draft_save(
        workflow=onboarding,
        revision=draft.revision,
        settings={},
        graph={
            "nodes": [
                node("t", "trigger_manual", y=0),
                node("a", "add_tag", {"tag": "onboarded"}, "Tag them", y=150),
            ],
            "edges": chain("t", "a"),
        },
    )

    open_canvas(page, onboarding)
    page.get_by_role("button", name="Publish", exact=True).click()
    dialog = page.get_by_role("dialog", name="Publish version 2?")
    expect(dialog.get_by_text("2 contacts on version 1 stay on version 1 until they finish.")).to_be_visible()
    dialog.get_by_label("Move the 2 contacts on version 1", exact=True).check()
    plan = dialog.get_by_label("Migration plan")
    expect(plan.get_by_role("row", name="v1 d Not mapped yet 2")).to_be_visible()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Choose where the contacts of each removed step go before publishing with the move."
    )
    confirm = dialog.get_by_role("button", name="Publish version 2 and move 2 contacts")
    expect(confirm).to_be_disabled()
    screenshot("migration-plan-needs-mapping")

    dialog.get_by_label("Contacts at removed step d go to", exact=True).select_option("a")
    expect(plan.get_by_role("row", name=re.compile(r"v1 d a 2 2 fired"))).to_be_visible()
    expect(dialog.get_by_role("alert")).to_have_count(0)
    expect(confirm).to_be_enabled()
    assert_accessible(page)
    screenshot("migration-plan-mapped")
    # A dry run so far: nothing was published and nobody moved.
    assert not WorkflowVersion.objects.filter(workflow=onboarding, number=2).exists()

    confirm.click()
    expect(page.get_by_role("status").filter(has_text="Published version 2.")).to_have_text(
        "Published version 2. New contacts enter it; 2 contact(s) moved to it."
    )
    assert set(
        Enrollment.objects.filter(workflow=onboarding).values_list(
            "version__number", "current_node_id", "status"
        )
    ) == {(2, "a", "active")}
    assert StepRun.objects.filter(type="migration").count() == 2
