"""`/api/v1/credentials`: a secret goes in once and never comes out (not in any answer, not in the database's
column), each workspace sees and uses only its own, and bad input is a 4xx in the contract's error format."""

from __future__ import annotations

import pytest

from penguinflow.common.errors import NotFound
from penguinflow.workspaces.credentials import CredentialUnreadable, secret_decrypt
from penguinflow.workspaces.models import Credential
from penguinflow.workspaces.services import credential_secret
from tests.stored import raw_column

BASE = "/api/v1/credentials"
SECRET = "sk_live_0123456789-abcdef"



def _raw_column(row_id: str) -> bytes:
    return raw_column("workspaces_credential", "secret_encrypted", row_id)


def test_a_credential_is_write_only_and_encrypted_at_rest(api, workspace):
    created = api.post(BASE, {"name": "Billing API", "secret": SECRET, "description": "Bearer token"}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == {"id", "name", "description", "created_at", "updated_at"}
    assert SECRET not in created.content.decode()
    assert SECRET not in api.get(BASE).content.decode() + api.get(f"{BASE}/{body['id']}").content.decode()
    raw = _raw_column(body["id"])
    assert SECRET.encode() not in raw and b"sk_live" not in raw
    assert credential_secret(workspace=workspace, credential_id=body["id"]) == SECRET
    # The builder's picker reads the list this way (`x-reference: credentials`).
    assert [row["name"] for row in api.get(f"{BASE}?limit=100").json()["results"]] == ["Billing API"]


def test_another_workspaces_credential_is_not_found_nor_usable(api, other_api, workspace, other_workspace):
    theirs = other_api.post(BASE, {"name": "Theirs", "secret": SECRET}, format="json").json()

    assert api.get(f"{BASE}/{theirs['id']}").status_code == 404
    assert api.delete(f"{BASE}/{theirs['id']}").status_code == 404
    assert api.get(BASE).json()["results"] == []
    with pytest.raises(NotFound):
        credential_secret(workspace=workspace, credential_id=theirs["id"])
    # A ciphertext copied into another workspace's row does not decrypt there.
    with pytest.raises(CredentialUnreadable):
        secret_decrypt(workspace_id=workspace.pk, encrypted=_raw_column(theirs["id"]))
    assert Credential.objects.filter(pk=theirs["id"]).exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "No secret"}, "secret"),
    ({"secret": SECRET}, "name"),
    ({"name": "Broken", "secret": "line\r\nX-Injected: 1"}, "secret"),
    ({"name": "Blank", "secret": "   "}, "secret"),
    ({"name": "x" * 101, "secret": SECRET}, "name"),
])
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, body, field):
    response = api.post(BASE, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert SECRET not in response.content.decode()
    assert not Credential.objects.exists()


def test_a_name_used_twice_is_a_409_and_delete_is_a_204(api):
    first = api.post(BASE, {"name": "API", "secret": SECRET}, format="json").json()
    again = api.post(BASE, {"name": "API", "secret": "other"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "credential_name_taken"
    assert api.delete(f"{BASE}/{first['id']}").status_code == 204
    assert not Credential.objects.exists()
