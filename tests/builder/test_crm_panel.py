"""The crm_create form in Chromium, drawn from its schema alone: the CRM connector is picked by name from
/api/v1/connectors (its kind and status beside it), and what is picked is what the draft stores."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.builder.pages import open_canvas
from tests.builder.test_panel import chain, config_when, node, open_panel, pick

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_crm_connector_is_picked_by_name_and_stored_by_id(logged_in, workspace):
    from connectors.services import connector_create
    from workflows import services

    page = logged_in
    connector = connector_create(workspace=workspace, kind="hubspot", name="Sales CRM", secret="pat-123")
    workflow = services.workflow_create(workspace=workspace, name="CRM", graph=chain(
        node("start", "trigger_manual", "Start", {}, 0),
        node("crm", "crm_create", "Copy to CRM", {"connector_id": "", "fields": {"email": "{{ contact.email }}"}},
             150),
    ))  # fmt: skip
    open_canvas(page, workflow)
    panel = open_panel(page, "Copy to CRM")
    pick(panel, "CRM connector", "Sales", "Sales CRM")
    saved = config_when(workflow, "crm", lambda config: config.get("connector_id") == str(connector.pk))
    assert saved["connector_id"] == str(connector.pk)
    assert saved["fields"] == {"email": "{{ contact.email }}"}
    expect(panel.get_by_text("hubspot · active")).to_be_visible()
