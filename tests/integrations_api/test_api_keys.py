"""API keys fit for integrations, in process: scopes, label, /me, last use, per-key rate, the admin's and the
commands' changes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from penguinflow.workspaces.models import WorkspaceAPIKey
from penguinflow.workspaces.services import api_key_create
from tests.factories import ContactFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _client(workspace, **options) -> tuple[APIClient, WorkspaceAPIKey]:
    api_key, secret = api_key_create(workspace=workspace, name=options.pop("name", "zapier"), **options)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, api_key


def _insufficient(response, scope: str) -> None:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert error["details"]["required_scope"] == scope
    assert f"'{scope}'" in error["message"]


def test_a_read_key_reads_and_cannot_write(workspace):
    client, _ = _client(workspace, scopes=["read"])
    assert client.get("/api/v1/contacts").status_code == 200
    _insufficient(client.post("/api/v1/contacts", {"email": "a@example.com"}, format="json"), "write")
    _insufficient(client.post("/api/v1/events", {"type": "order.completed", "contact": {"email": "a@example.com"}},
                              format="json"), "events")
    contact = ContactFactory(workspace=workspace)
    _insufficient(client.delete(f"/api/v1/contacts/{contact.pk}"), "write")
    assert client.get(f"/api/v1/contacts/{contact.pk}").status_code == 200  # nothing was erased


def test_an_events_key_can_only_ingest_events(workspace):
    client, _ = _client(workspace, scopes=["events"])
    accepted = client.post("/api/v1/events", {"type": "order.completed", "contact": {"email": "a@example.com"}},
                           format="json")
    assert accepted.status_code == 202 and accepted.json()["accepted"] == 1
    _insufficient(client.get("/api/v1/events"), "read")
    _insufficient(client.get("/api/v1/contacts"), "read")
    _insufficient(client.post("/api/v1/contacts", {"email": "b@example.com"}, format="json"), "write")


def test_a_write_key_records_events_too(workspace):
    client, _ = _client(workspace, scopes=["write"])
    assert client.post("/api/v1/events", {"type": "order.completed", "contact": {"email": "a@example.com"}},
                       format="json").status_code == 202
    assert client.post("/api/v1/contacts", {"email": "b@example.com"}, format="json").status_code == 201
    _insufficient(client.get("/api/v1/contacts"), "read")


def test_keys_made_before_scopes_have_full_access(workspace, api):
    """The migration gives existing keys all three scopes; `api_key_create` without scopes does the same."""
    key = WorkspaceAPIKey.objects.get(workspace=workspace)
    assert sorted(key.scopes) == ["events", "read", "write"]
    assert api.post("/api/v1/contacts", {"email": "a@example.com"}, format="json").status_code == 201


def test_me_names_the_workspace_and_the_key(workspace):
    client, api_key = _client(workspace, scopes=["events"], name="Zapier (Ada)")
    response = client.get("/api/v1/me")
    assert response.status_code == 200  # any scope may ask: it is the connection test
    assert response.json() == {
        "workspace": {"id": str(workspace.pk), "slug": "acme", "name": "Acme"},
        "key": {"id": api_key.prefix, "label": "Zapier (Ada)", "scopes": ["events"]},
        "user": None,
    }
    assert api_key.hashed_key not in response.content.decode()


def test_me_describes_the_user_of_a_session(workspace):
    membership = MembershipFactory(workspace=workspace, role="viewer")
    client = APIClient()
    client.force_login(membership.user)
    body = client.get("/api/v1/me").json()
    assert body["key"] is None
    assert body["user"] == {"id": membership.user.pk, "username": membership.user.username,
                            "email": membership.user.email, "role": "viewer"}
    assert body["workspace"]["slug"] == "acme"


def test_me_without_a_key_is_a_401():
    response = APIClient().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_last_use_is_recorded_at_most_once_a_minute(workspace):
    from penguinflow.common import auth
    from penguinflow.common.redis_client import redis_client

    client, api_key = _client(workspace)
    redis_client().delete(auth.LAST_USED_MARK + api_key.pk)
    auth._last_used_here.clear()
    assert api_key.last_used_at is None
    assert client.get("/api/v1/contacts").status_code == 200
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    for _ in range(3):
        client.get("/api/v1/contacts")
    api_key.refresh_from_db()
    assert api_key.last_used_at == first  # no write per request
    # Another process (its own memory empty) within the minute: Redis says it was recorded; still no write.
    auth._last_used_here.clear()
    client.get("/api/v1/contacts")
    api_key.refresh_from_db()
    assert api_key.last_used_at == first


def test_a_key_with_its_own_rate_is_throttled_with_retry_after(workspace):
    client, _ = _client(workspace, rate_limit_per_minute=2)
    other, _ = _client(workspace, name="other")
    assert [client.get("/api/v1/contacts").status_code for _ in range(2)] == [200, 200]
    throttled = client.get("/api/v1/contacts")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert other.get("/api/v1/contacts").status_code == 200  # per key: the other key is not held back


def test_event_ingestion_counts_against_the_keys_own_rate(workspace):
    client, _ = _client(workspace, rate_limit_per_minute=1)
    event = {"type": "order.completed", "contact": {"email": "a@example.com"}}
    assert client.post("/api/v1/events", event, format="json").status_code == 202
    throttled = client.post("/api/v1/events", event, format="json")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    assert throttled.json()["error"]["code"] == "throttled"


def test_a_rescoped_key_is_held_to_its_new_scopes_on_the_next_request(workspace, django_capture_on_commit_callbacks):
    from penguinflow.workspaces.services import api_key_change

    client, api_key = _client(workspace)
    assert client.post("/api/v1/contacts", {"email": "a@example.com"}, format="json").status_code == 201
    with django_capture_on_commit_callbacks(execute=True):  # the key caches go stale once the change commits
        api_key_change(api_key=api_key, scopes=["read"])
    _insufficient(client.post("/api/v1/contacts", {"email": "b@example.com"}, format="json"), "write")


def test_the_commands_create_change_list_and_revoke_keys(workspace):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "--workspace", "acme", "--label", "Zapier", "--scopes", "read,events",
                 stdout=out, stderr=err)
    secret = out.getvalue().strip().splitlines()[-1]
    api_key = WorkspaceAPIKey.objects.get(name="Zapier")
    assert sorted(api_key.scopes) == ["events", "read"] and secret.startswith(api_key.prefix)

    out = io.StringIO()
    call_command("api_keys", "change", api_key.prefix, "--scopes", "read", "--label", "Zap", "--dry-run", stdout=out)
    api_key.refresh_from_db()
    assert "Dry run" in out.getvalue() and api_key.name == "Zapier"
    call_command("api_keys", "change", api_key.prefix, "--scopes", "read", "--label", "Zap", "--rate", "30",
                 stdout=io.StringIO())
    api_key.refresh_from_db()
    assert (api_key.name, api_key.scopes, api_key.rate_limit_per_minute) == ("Zap", ["read"], 30)

    out = io.StringIO()
    call_command("api_keys", "list", "--workspace", "acme", stdout=out)
    assert api_key.prefix in out.getvalue() and "scopes=read" in out.getvalue()

    call_command("api_keys", "revoke", api_key.prefix, stdout=io.StringIO())
    api_key.refresh_from_db()
    assert api_key.revoked
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/me").status_code == 401


def test_the_commands_refuse_unknown_scopes_and_prefixes(workspace):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Scopes are some of"):
        call_command("create_api_key", "--workspace", "acme", "--scopes", "admin", stdout=io.StringIO(),
                     stderr=io.StringIO())
    with pytest.raises(CommandError, match="No API key"):
        call_command("api_keys", "revoke", "nope", stdout=io.StringIO())


def test_the_admin_revokes_keys(admin_client, workspace):
    _, api_key = _client(workspace)
    response = admin_client.post("/admin/workspaces/workspaceapikey/",
                                 {"action": "revoke", "_selected_action": [api_key.pk]})
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked


def test_the_admin_form_offers_the_scopes(admin_client, workspace):
    _, api_key = _client(workspace)
    page = admin_client.get(f"/admin/workspaces/workspaceapikey/{api_key.pk}/change/").content.decode()
    assert 'name="scopes"' in page and 'value="events"' in page and "Label" in page


def test_a_refused_scope_does_not_use_up_the_idempotency_key(workspace, django_capture_on_commit_callbacks):
    from penguinflow.workspaces.models import IdempotentRequest
    from penguinflow.workspaces.services import api_key_change

    client, api_key = _client(workspace, scopes=["read"])
    body = {"email": "a@example.com"}
    _insufficient(client.post("/api/v1/contacts", body, format="json", HTTP_IDEMPOTENCY_KEY="k"), "write")
    assert not IdempotentRequest.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        api_key_change(api_key=api_key, scopes=["read", "write"])
    assert client.post("/api/v1/contacts", body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_a_read_key_may_call_the_posts_that_change_nothing(workspace):
    from tests.factories import EmailTemplateFactory

    client, _ = _client(workspace, scopes=["read"])
    contact = ContactFactory(workspace=workspace)
    template = EmailTemplateFactory(workspace=workspace)
    workflow = client.get("/api/v1/workflows").json()  # a read key cannot create one: made below
    assert workflow["results"] == []
    from workflows.services import workflow_create

    workflow = workflow_create(workspace=workspace, name="W")
    assert client.post(f"/api/v1/workflows/{workflow.pk}/validate", {}, format="json").status_code == 200
    assert client.post("/api/v1/expressions/compile", {"js": "contact.score > 3"}, format="json").status_code == 200
    assert client.post(f"/api/v1/templates/{template.pk}/preview", {"contact_id": str(contact.pk)},
                       format="json").status_code == 200
    _insufficient(client.post(f"/api/v1/workflows/{workflow.pk}/publish", format="json"), "write")


def test_a_session_is_throttled_at_the_session_rate_per_user_with_retry_after(workspace, settings):
    from django.test import Client

    from tests.factories import MembershipFactory

    settings.API_SESSION_THROTTLE_RATE = "3/min"
    people = []
    for _ in range(2):
        person = Client()
        person.force_login(MembershipFactory(workspace=workspace).user)
        people.append(person)
    assert [people[0].get("/api/v1/contacts").status_code for _ in range(3)] == [200, 200, 200]
    throttled = people[0].get("/api/v1/contacts")
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert people[1].get("/api/v1/contacts").status_code == 200  # per user: a colleague is not held back
    key_client, _ = _client(workspace)
    assert key_client.get("/api/v1/contacts").status_code == 200  # keys keep their own rate
