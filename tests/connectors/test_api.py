"""`/api/v1/connectors`: a CRM or social account's secret goes in and never comes out, each workspace sees only its
own, a new secret clears a refusal, and bad input is a 4xx in the contract's error format."""

from __future__ import annotations

import pytest

from connectors.models import Connector
from connectors.services import connector_get, connector_refused, connector_secret
from penguinflow.common.errors import NotFound
from tests.stored import raw_column

BASE = "/api/v1/connectors"
SECRET = "pat-na1-0123456789-abcdef"



def _raw_column(row_id: str) -> bytes:
    return raw_column("connectors_connector", "secret_encrypted", row_id)


def test_a_connector_is_shown_without_its_secret_which_is_encrypted_at_rest(api, workspace):
    created = api.post(BASE, {"kind": "hubspot", "name": "Sales CRM", "secret": SECRET}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["category"] == "crm" and body["status"] == "active" and body["base_url"] == ""
    assert "secret" not in body
    assert SECRET not in api.get(BASE).content.decode() + api.get(f"{BASE}/{body['id']}").content.decode()
    assert SECRET.encode() not in _raw_column(body["id"])
    assert connector_secret(connector_get(workspace=workspace, connector_id=body["id"])) == SECRET
    assert [row["name"] for row in api.get(BASE).json()["results"]] == ["Sales CRM"]


def test_a_new_secret_clears_a_refusal(api, workspace):
    body = api.post(BASE, {"kind": "facebook", "name": "Our page", "secret": SECRET,
                           "settings": {"page_id": "1234"}}, format="json").json()
    connector_refused(connector=Connector.objects.get(pk=body["id"]), reason="The token expired (code 190).")
    assert api.get(f"{BASE}/{body['id']}").json()["status"] == "needs_attention"

    renamed = api.patch(f"{BASE}/{body['id']}", {"name": "Brand page"}, format="json").json()
    assert (renamed["name"], renamed["status"]) == ("Brand page", "needs_attention")
    fixed = api.patch(f"{BASE}/{body['id']}", {"secret": "new-token"}, format="json").json()
    assert (fixed["status"], fixed["last_error"]) == ("active", "")
    assert connector_secret(Connector.objects.get(pk=body["id"])) == "new-token"


def test_another_workspaces_connector_is_not_found(api, other_api, workspace):
    theirs = other_api.post(BASE, {"kind": "pipedrive", "name": "Theirs", "secret": SECRET}, format="json").json()

    assert api.get(f"{BASE}/{theirs['id']}").status_code == 404
    assert api.delete(f"{BASE}/{theirs['id']}").status_code == 404
    with pytest.raises(NotFound):
        connector_get(workspace=workspace, connector_id=theirs["id"])
    assert Connector.objects.filter(pk=theirs["id"]).exists()


def test_a_name_used_twice_is_a_409(api):
    assert api.post(BASE, {"kind": "x", "name": "X", "secret": SECRET}, format="json").status_code == 201
    again = api.post(BASE, {"kind": "x", "name": "X", "secret": SECRET}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "connector_name_taken"


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "hubspot", "name": "No secret"}, "secret"),
    ({"kind": "zoho", "name": "Unknown", "secret": SECRET}, "kind"),
    ({"kind": "hubspot", "name": "Broken", "secret": "line\r\nX-Injected: 1"}, "secret"),
    ({"kind": "salesforce", "name": "No instance", "secret": SECRET}, "base_url"),
    ({"kind": "linkedin", "name": "No organisation", "secret": SECRET}, "settings"),
    ({"kind": "hubspot", "name": "Bad address", "secret": SECRET, "base_url": "not a url"}, "base_url"),
])
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, body, field):
    response = api.post(BASE, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Connector.objects.exists()


def test_the_kind_cannot_change(api):
    body = api.post(BASE, {"kind": "hubspot", "name": "CRM", "secret": SECRET}, format="json").json()
    api.patch(f"{BASE}/{body['id']}", {"kind": "pipedrive"}, format="json")
    assert api.get(f"{BASE}/{body['id']}").json()["kind"] == "hubspot"
