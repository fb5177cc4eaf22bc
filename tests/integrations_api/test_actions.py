"""Every action endpoint integrations call: it does what it says, and with an Idempotency-Key a repeat does it
no second time (same answer, `Idempotent-Replayed`), while the key with another body is a 409 and does nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from penguinflow.workspaces.models import IdempotentRequest
from tests.integrations_api.actions import ACTIONS, Action, world_make

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations-actions.md"


def _send(api, action: Action, world, body, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    call = getattr(api, action.method.lower())
    return call(action.path(world), body, format="json", **headers) if body is not None else call(
        action.path(world), format="json", **headers)


def test_there_are_at_least_twenty_actions():
    assert len(ACTIONS) >= 20
    assert len({a.name for a in ACTIONS}) == len(ACTIONS)


@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
def test_an_action_runs_once_for_a_repeated_idempotency_key(api, workspace, action):
    world = world_make(workspace)
    if action.prepare:
        action.prepare(world, api)
    before = action.effect(world)
    first = _send(api, action, world, action.body(world), "key-1")
    assert first.status_code == action.ok, first.content
    after = action.effect(world)
    assert after != before, "the action had no visible effect"

    repeat = _send(api, action, world, action.body(world), "key-1")
    assert (repeat.status_code, repeat.content) == (first.status_code, first.content)
    assert repeat["Idempotent-Replayed"] == "true"
    assert action.effect(world) == after  # not run a second time

    other = _send(api, action, world, action.other_body(world), "key-1")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"].keys() == {"code", "message", "details"} and other.json()["error"]["message"]
    assert action.effect(world) == after


def test_find_a_contact_by_email_external_id_or_text(api, workspace, other_api):
    """The one read among the actions (Zapier's Find Contact search): GET, so a retry is harmless by nature."""
    from tests.factories import ContactFactory

    ada = ContactFactory(workspace=workspace, email="ada@example.com", external_id="crm-1", first_name="Ada")
    ContactFactory(workspace=workspace, email="bob@example.com", first_name="Bob")

    def found(query: str, client=api) -> list[str]:
        response = client.get(f"/api/v1/contacts?{query}")
        assert response.status_code == 200, response.content
        return [contact["id"] for contact in response.json()["results"]]

    assert found("email=ADA@example.com") == found("email=ada@example.com") == [str(ada.pk)]
    assert found("external_id=crm-1") == [str(ada.pk)]
    assert found("q=ada") == [str(ada.pk)]
    assert found("email=nobody@example.com") == []
    assert found("email=ada@example.com", client=other_api) == []  # another workspace's contact
    assert "find a contact" in DOC.read_text()


def test_each_action_is_in_the_documentation_table():
    table = DOC.read_text()
    rows = {line.split("|")[1].strip().lower() for line in table.splitlines() if re.match(r"^\| [A-Za-z]", line)}
    missing = [a.name for a in ACTIONS if a.name not in rows]
    assert not missing, f"not in {DOC.name}: {missing}"


def test_a_key_is_scoped_to_its_sender(workspace, api, other_api):
    """Two API keys using the same Idempotency-Key do not see each other's answers."""
    from rest_framework.test import APIClient

    from penguinflow.workspaces.services import api_key_create

    _, secret = api_key_create(workspace=workspace, name="second")
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    first = api.post("/api/v1/contacts", {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    again = second.post("/api/v1/contacts", {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert first.status_code == 201
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"  # it ran: the email exists
    assert IdempotentRequest.objects.filter(key="shared").count() == 2


def test_json_bodies_that_differ_only_in_spacing_and_order_are_the_same_request(api, workspace):
    headers = {"HTTP_IDEMPOTENCY_KEY": "spacing", "content_type": "application/json"}
    first = api.post("/api/v1/contacts", '{"email": "b@example.com", "first_name": "B"}', **headers)
    repeat = api.post("/api/v1/contacts", '{"first_name":"B","email":"b@example.com"}', **headers)
    assert first.status_code == 201 and repeat.status_code == 201
    assert repeat["Idempotent-Replayed"] == "true"


def test_a_request_still_running_is_not_run_again(api, workspace):
    """A claim without an answer yet (another request holds it) answers 409 with Retry-After and runs nothing."""
    from django.utils import timezone

    from penguinflow.common.idempotency import request_fingerprint

    body = b'{"email": "c@example.com"}'
    owner = f"key:{_key_prefix(api)}"
    IdempotentRequest.objects.create(owner=owner, key="running", created_at=timezone.now(),
                                     fingerprint=request_fingerprint("POST", "/api/v1/contacts", "", body))
    response = api.post("/api/v1/contacts", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="running")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"
    assert response["Retry-After"] == "1"
    from contacts.models import Contact

    assert not Contact.objects.filter(email="c@example.com").exists()


def test_answers_that_did_not_run_are_not_kept(api, workspace):
    """A refused request (here a 400) is kept, as it ran; a 401 is not (the key was not valid), so it is not
    claimed at all."""
    bad = api.post("/api/v1/contacts", {"email": "not an email"}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert bad.status_code == 400
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer nope.nope")
    assert stranger.post("/api/v1/contacts", {"email": "d@example.com"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="x").status_code == 401
    assert not IdempotentRequest.objects.filter(key="x").exists()


@pytest.mark.parametrize("key", ["", "a b", "é", "x" * 256])
def test_a_malformed_idempotency_key_is_a_400(api, key):
    response = api.post("/api/v1/contacts", {"email": "e@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"


def test_keys_older_than_a_day_are_forgotten(api, workspace):
    from datetime import timedelta

    from django.utils import timezone

    from penguinflow.common.idempotency import idempotent_requests_forget

    api.post("/api/v1/contacts", {"email": "f@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    # A day later the key is free again: the same request runs (and finds the email taken).
    again = api.post("/api/v1/contacts", {"email": "f@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 409 and "Idempotent-Replayed" not in again
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotent_requests_forget() == 1


def _key_prefix(api) -> str:
    return api._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1].partition(".")[0]


def test_the_path_with_or_without_its_slash_is_the_same_request(api, workspace):
    first = api.post("/api/v1/contacts", {"email": "g@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="slash")
    repeat = api.post("/api/v1/contacts/", {"email": "g@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="slash")
    assert first.status_code == repeat.status_code == 201
    assert repeat["Idempotent-Replayed"] == "true"
