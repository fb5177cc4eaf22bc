"""`POST /api/v1/track` and the write key: what a public key may do (add events from a declared site) and what
it may not (read anything, send from elsewhere, forge the project's own events)."""

from __future__ import annotations

import json

import pytest

from contacts.models import Contact
from events.models import Event
from events.tracking import forget_cached_sites
from penguinflow.workspaces.services import workspace_settings_change, write_key_rotate

pytestmark = pytest.mark.django_db

SITE = "https://www.acme.test"


@pytest.fixture
def write_key(workspace):
    workspace_settings_change(workspace=workspace, changes={"tracking_origins": [SITE]})
    forget_cached_sites()
    yield write_key_rotate(workspace=workspace).write_key
    forget_cached_sites()


def track(client, body, *, key=None, origin=SITE, content_type="application/json", query=""):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    if key:
        headers["HTTP_X_WRITE_KEY"] = key
    return client.post(f"/api/v1/track{query}", json.dumps(body), content_type=content_type, **headers)


def page_view(event_id="e-1", **extra):
    return {"id": event_id, "type": "page.viewed", "anonymous_id": "anon-1",
            "properties": {"url": "https://www.acme.test/pricing"}, **extra}


def test_a_declared_site_adds_anonymous_and_identified_events_once(client, workspace, write_key):
    body = {"events": [page_view(), {"id": "e-2", "type": "visitor.identified", "anonymous_id": "anon-1",
                                     "contact": {"email": "Ada@Example.com"}, "properties": {"traits": {}}}]}

    first = track(client, body, key=write_key)
    again = track(client, body, key=write_key)  # the script's retry of a batch whose answer it lost

    assert first.status_code == 202, first.content
    assert first.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert first["Access-Control-Allow-Origin"] == SITE
    assert again.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    ada = Contact.objects.get(workspace=workspace, email="ada@example.com")
    stored = {e.type: e for e in Event.objects.filter(workspace=workspace, source=Event.Source.WEB)}
    assert set(stored) == {"page.viewed", "visitor.identified", "contact.created"}
    assert stored["page.viewed"].contact_id is None
    assert stored["page.viewed"].properties["anonymous_id"] == "anon-1"
    assert stored["visitor.identified"].contact_id == ada.pk


def test_a_beacon_carries_the_key_in_its_text_body(client, workspace, write_key):
    response = track(client, {"write_key": write_key, "events": [page_view()]}, content_type="text/plain")

    assert response.status_code == 202, response.content
    assert Event.objects.filter(workspace=workspace, type="page.viewed").count() == 1


def test_an_undeclared_origin_is_refused_and_stores_nothing(client, workspace, write_key):
    post = track(client, {"events": [page_view()]}, key=write_key, origin="https://evil.test")
    preflight = client.options("/api/v1/track", HTTP_ORIGIN="https://evil.test",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    declared = client.options("/api/v1/track", HTTP_ORIGIN=SITE, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")

    assert post.status_code == 403
    assert post.json()["error"]["code"] == "origin_not_allowed"
    assert preflight.status_code == 403 and "Access-Control-Allow-Origin" not in preflight
    assert declared.status_code == 204
    assert declared["Access-Control-Allow-Origin"] == SITE
    assert "X-Write-Key" in declared["Access-Control-Allow-Headers"]
    assert not Event.objects.filter(workspace=workspace).exists()


def test_the_write_key_reads_nothing(client, api, write_key):
    as_bearer = client.get("/api/v1/events", HTTP_AUTHORIZATION=f"Bearer {write_key}")
    as_header = client.get("/api/v1/contacts", HTTP_X_WRITE_KEY=write_key)
    on_track = client.get("/api/v1/track", HTTP_X_WRITE_KEY=write_key, HTTP_ORIGIN=SITE)

    assert as_bearer.status_code == 401
    assert as_header.status_code == 401
    assert on_track.status_code == 405
    assert on_track.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(("body", "key", "status", "detail"), [
    ({"type": "email.unsubscribed", "contact": {"email": "ada@example.com"}}, "good", 400, "type"),
    ({"type": "page.viewed", "properties": {}}, "good", 400, "contact"),
    ({"type": "page.viewed", "anonymous_id": 7}, "good", 400, "anonymous_id"),
    ({"events": [page_view(str(n)) for n in range(101)]}, "good", 400, "events"),
    ({"type": "page.viewed", "anonymous_id": "a"}, "wk_unknown", 401, None),
    ({"type": "page.viewed", "anonymous_id": "a"}, None, 401, None),
])
def test_bad_input_is_refused_in_the_contract_format(client, workspace, write_key, body, key, status, detail):
    response = track(client, body, key=write_key if key == "good" else key)

    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] and error["message"]
    if detail:
        assert detail in error["details"]
    assert not Event.objects.filter(workspace=workspace).exists()


def test_malformed_json_and_another_type_are_4xx(client, write_key):
    malformed = client.post("/api/v1/track", b"{nope", content_type="application/json", HTTP_X_WRITE_KEY=write_key,
                            HTTP_ORIGIN=SITE)
    form = client.post("/api/v1/track", {"a": "b"}, HTTP_X_WRITE_KEY=write_key, HTTP_ORIGIN=SITE)

    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    assert form.status_code == 415


def test_the_settings_show_the_snippet_and_a_rotation_retires_the_old_key(client, api, workspace, write_key):
    shown = api.get("/api/v1/workspace/write-key").json()
    rotated = api.post("/api/v1/workspace/write-key/rotate")
    forget_cached_sites()
    old = track(client, page_view(), key=write_key)
    new = track(client, page_view(), key=rotated.json()["write_key"])

    assert shown["write_key"] == write_key and shown["tracking_origins"] == [SITE]
    assert write_key in shown["snippet"] and "/js/penguinflow.js" in shown["snippet"]
    assert rotated.status_code == 201 and rotated.json()["write_key"] != write_key
    assert old.status_code == 401
    assert new.status_code == 202


def test_the_script_is_served(client):
    response = client.get("/js/penguinflow.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"sendBeacon" in response.content


def test_the_admin_settings_screen_shows_the_snippet_to_copy(admin_client, workspace, write_key):
    page = admin_client.get(f"/admin/workspaces/workspace/{workspace.pk}/change/").content.decode()

    assert "Website tracking snippet" in page
    assert write_key in page and "/js/penguinflow.js" in page
