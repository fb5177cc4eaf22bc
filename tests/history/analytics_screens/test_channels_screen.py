"""The analytics screen's messages by channel, in a real Chromium, over counters made by the real runtime and
event processing: a send_message step (SMS not consented, so email), a send_email step a frequency cap skips for
some, a contact who unsubscribed before their email, and the deliveries and opens that came back."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.builder.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def _node(id_, type_, label, y, config):
    return {
        "id": id_,
        "type": type_,
        "position": {"x": 200, "y": y},
        "data": {"label": label, "config": config},
    }


@pytest.fixture
def sent(workspace):
    from contacts.models import Contact
    from tests.factories import ContactFactory, EmailTemplateFactory
    from tests.workflows.builders import publish, run_due
    from tests.workflows.test_runtime import event_record
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of
    from workflows.runtime_gateway import RuntimeGateway

    workspace.settings = {
        "frequency_caps": [{"channels": ["email"], "max": 1, "per": "P1D", "policy": "skip"}]
    }
    workspace.save(update_fields=["settings"])
    template = EmailTemplateFactory(workspace=workspace)
    nodes = [
        _node("t", "trigger_manual", "Signed up", 0, {}),
        _node(
            "m",
            "send_message",
            "Welcome message",
            150,
            {"channels": ["preferred", "email"], "email": {"template_id": str(template.pk)}},
        ),
        _node("e", "send_email", "Tips email", 300, {"template_id": str(template.pk)}),
    ]
    edges = [
        {"id": "t-m", "source": "t", "target": "m", "sourceHandle": "default"},
        {"id": "m-e", "source": "m", "target": "e", "sourceHandle": "default"},
    ]
    workflow = publish(workspace, nodes, edges, name="Welcome")
    contacts = [ContactFactory(workspace=workspace) for _ in range(4)]
    leaver = contacts[-1]
    enrollments_start(version=published_version_of(workflow), entries=[Entry(c.pk, "t") for c in contacts])
    Contact.objects.filter(pk=leaver.pk).update(status="unsubscribed")
    run_due()
    about = {"workflow_id": str(workflow.pk), "node_id": "m"}
    RuntimeGateway().process(
        events=[
            *(event_record(contact, "email.delivered", about) for contact in contacts[:3]),
            event_record(contacts[0], "email.opened", about),
        ]
    )
    return workflow


def test_messages_by_channel_show_what_went_out_and_what_held_it(logged_in, sent, screenshot):
    page: Page = logged_in
    page.goto(f"/builder/workflows/{sent.id}/analytics")
    table = page.get_by_role("table", name="Messages by step and channel")
    expect(table).to_be_visible()
    welcome = table.locator("tr[data-node=m][data-channel=email]")
    expect(welcome.get_by_role("rowheader")).to_have_text("Welcome message")
    for cell, value in {
        "sent": "3",
        "delivered": "3",
        "engaged": "1",
        "suppressed": "1",
        "capped_skipped": "0",
    }.items():
        expect(welcome.locator(f"[data-cell={cell}]")).to_have_text(value)
    tips = table.locator("tr[data-node=e][data-channel=email]")
    # Each reader had the welcome email today: the cap of one a day skips the tips email for all three.
    expect(tips.locator("[data-cell=capped_skipped]")).to_have_text("3")
    expect(tips.locator("[data-cell=sent]")).to_have_text("0")
    total = table.locator("tr[data-total=email]")
    expect(total.locator("[data-cell=sent]")).to_have_text("3")
    expect(total.locator("[data-cell=suppressed]")).to_have_text("2")
    expect(table.get_by_role("columnheader", name="Suppressed by consent")).to_be_visible()
    table.scroll_into_view_if_needed()
    screenshot("analytics-messages-by-channel")
    assert_accessible(page)
