"""A session that ends mid-edit loses nothing: the builder logs in again on the page and saves the held edit."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = {
    "nodes": [
        {"id": "t", "type": "trigger_manual", "position": {"x": 0, "y": 0}, "data": {"label": "Start", "config": {}}},
        {"id": "a", "type": "add_tag", "position": {"x": 0, "y": 160},
         "data": {"label": "Tag them", "config": {"tag": "vip"}}},
    ],
    "edges": [{"id": "e", "source": "t", "target": "a", "sourceHandle": "default"}],
}


def _draft_labels(workflow) -> dict[str, str]:
    from workflows.models import Workflow
    from workflows.serializers import WorkflowSerializer

    fresh = Workflow.objects.prefetch_related("versions").get(pk=workflow.pk)
    return {node["id"]: node["data"]["label"] for node in WorkflowSerializer(fresh).data["draft"]["graph"]["nodes"]}


def test_an_edit_made_after_the_session_ended_is_saved_after_logging_in_again(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Session", graph=GRAPH)
    open_canvas(page, workflow)
    page.locator(".react-flow__node", has_text="Tag them").click()
    expect(page.get_by_label("Name on the canvas")).to_have_value("Tag them")

    page.context.clear_cookies(name="sessionid")
    page.get_by_label("Name on the canvas").fill("Tag the VIPs")

    dialog = page.get_by_role("dialog", name="Your session ended — log in again")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("status").filter(has_text=re.compile("Saving|Unsaved"))).to_be_visible()
    backup = page.evaluate(f"() => localStorage.getItem('penguinflow:draft:{workflow.id}:1')")
    assert backup is not None and "Tag the VIPs" in backup
    assert _draft_labels(workflow)["a"] == "Tag them"  # nothing was written without a session
    screenshot("session-ended")
    assert_accessible(page)

    dialog.get_by_label("Password").fill("wrong")
    dialog.get_by_label("User name").fill("marketer")
    dialog.get_by_role("button", name="Log in").click()
    expect(dialog.get_by_role("alert")).to_contain_text("do not match")
    screenshot("wrong-password")
    dialog.get_by_label("Password").fill("pw")
    dialog.get_by_role("button", name="Log in").click()

    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    assert _draft_labels(workflow)["a"] == "Tag the VIPs"
    assert page.evaluate(f"() => localStorage.getItem('penguinflow:draft:{workflow.id}:1')") is None
    page.reload()
    expect(page.locator(".react-flow__node", has_text="Tag the VIPs")).to_be_visible()
    screenshot("saved-after-login")


def test_json_login_checks_csrf_and_answers_errors_in_the_api_format(client, marketer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    refused = strict.post("/builder/session", json.dumps({"username": "marketer", "password": "pw"}),
                          content_type="application/json")
    assert refused.status_code == 403
    assert "_auth_user_id" not in strict.session

    wrong = client.post("/builder/session", json.dumps({"username": "marketer", "password": "nope"}),
                        content_type="application/json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    malformed = client.post("/builder/session", "{", content_type="application/json")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "invalid_json"
    missing = client.post("/builder/session", json.dumps({"username": 3}), content_type="application/json")
    assert missing.status_code == 400 and set(missing.json()["error"]["details"]) == {"username", "password"}
    assert client.get("/builder/session").status_code == 405

    ok = client.post("/builder/session", json.dumps({"username": "marketer", "password": "pw"}),
                     content_type="application/json")
    assert ok.status_code == 200 and ok.json() == {"username": "marketer"}
    assert client.get("/api/v1/workflows").status_code == 200


@pytest.fixture
def forget_login_attempts():
    """Drop the attempts a test counted (the counters live in Redis for a minute, past the test)."""
    from django.test import RequestFactory

    from penguinflow.common.throttling import SessionLoginThrottle

    def forget():
        for address in ("127.0.0.1", "10.0.0.9"):
            for username in ("marketer", "someone-else"):
                SessionLoginThrottle(username).forget(RequestFactory().post("/", REMOTE_ADDR=address))

    forget()
    yield
    forget()


def test_json_login_is_throttled_per_address_and_user_name_with_retry_after(client, marketer, forget_login_attempts):
    def attempt(username: str, password: str, address: str = "127.0.0.1"):
        return client.post("/builder/session", json.dumps({"username": username, "password": password}),
                           content_type="application/json", REMOTE_ADDR=address)

    for _ in range(5):
        assert attempt("marketer", "nope").status_code == 400
    refused = attempt("marketer", "pw")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session  # the right password is not even checked once throttled

    # Another user name from the same address, and the same name from elsewhere, are counted apart.
    assert attempt("someone-else", "nope").status_code == 400
    assert attempt("marketer", "pw", address="10.0.0.9").status_code == 200


def test_a_successful_login_forgets_the_failed_attempts_before_it(client, marketer, forget_login_attempts):
    def attempt(password: str):
        return client.post("/builder/session", json.dumps({"username": "marketer", "password": password}),
                           content_type="application/json")

    for _ in range(4):
        assert attempt("nope").status_code == 400
    assert attempt("pw").status_code == 200
    for _ in range(5):
        assert attempt("nope").status_code == 400
    assert attempt("nope").status_code == 429


def _backup_offer(page):
    return page.get_by_role("region", name=re.compile("^Edits kept in this browser were never saved"))


def test_edits_kept_while_the_session_had_ended_are_offered_back_when_the_canvas_opens(logged_in, screenshot,
                                                                                         workspace):
    from workflows import services

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Session", graph=GRAPH)
    open_canvas(page, workflow)
    page.locator(".react-flow__node", has_text="Tag them").click()
    page.context.clear_cookies(name="sessionid")
    page.get_by_label("Name on the canvas").fill("Tag the VIPs")
    expect(page.get_by_role("dialog", name="Your session ended — log in again")).to_be_visible()
    key = f"penguinflow:draft:{workflow.id}:1"
    page.wait_for_function(f"() => (localStorage.getItem('{key}') || '').includes('Tag the VIPs')")

    # The tab is left without logging in again (the browser asks first: the edit is unsaved), then the user
    # logs in on the login page and opens the workflow.
    page.on("dialog", lambda prompt: prompt.accept())
    page.goto("/builder/")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    open_canvas(page, workflow)

    offer = _backup_offer(page)
    expect(offer).to_contain_text("made on revision 1, which is still the saved draft's revision")
    expect(offer).to_contain_text("changed step “Tag the VIPs”")
    expect(page.locator(".react-flow__node", has_text="Tag them")).to_be_visible()  # nothing applied unasked
    screenshot("backup-offered")
    assert_accessible(page)

    offer.get_by_role("button", name="Restore my edits").click()
    expect(offer).to_have_count(0)
    expect(page.locator(".react-flow__node", has_text="Tag the VIPs")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    assert _draft_labels(workflow)["a"] == "Tag the VIPs"
    assert page.evaluate(f"() => localStorage.getItem('{key}')") is None
    page.reload()
    expect(page.locator(".react-flow__node", has_text="Tag the VIPs")).to_be_visible()
    expect(_backup_offer(page)).to_have_count(0)


def test_a_declined_backup_and_one_the_server_has_moved_past_are_discarded(logged_in, screenshot, workspace):
    from workflows import services

    page = logged_in
    workflow = services.workflow_create(workspace=workspace, name="Session", graph=GRAPH)
    saved = json.loads(json.dumps(GRAPH))
    saved["nodes"][1]["data"]["label"] = "Tag them all"
    services.workflow_draft_save(workflow=workflow, graph=saved, settings={}, revision=1)  # now at revision 2

    later = json.loads(json.dumps(saved))
    later["nodes"][1]["data"]["label"] = "Tag them later"
    stale, current = f"penguinflow:draft:{workflow.id}:1", f"penguinflow:draft:{workflow.id}:2"
    page.evaluate("""([stale, current, graph]) => {
        localStorage.setItem(stale, JSON.stringify({savedAt: new Date().toISOString(), graph}));
        localStorage.setItem(current, JSON.stringify({savedAt: new Date().toISOString(), graph}));
    }""", [stale, current, later])
    open_canvas(page, workflow)

    offer = _backup_offer(page)
    expect(offer).to_contain_text("made on revision 2")
    expect(offer).to_contain_text("changed step “Tag them later”")
    # Made on revision 1, which the server's draft has moved past: dropped without asking.
    assert page.evaluate(f"() => localStorage.getItem('{stale}')") is None
    offer.get_by_role("button", name="Discard them").click()
    expect(offer).to_have_count(0)
    assert page.evaluate(f"() => localStorage.getItem('{current}')") is None
    expect(page.locator(".react-flow__node", has_text="Tag them all")).to_be_visible()
    assert _draft_labels(workflow)["a"] == "Tag them all"
    page.reload()
    expect(page.locator(".canvas-flow[data-view-ready=true]")).to_be_visible()
    expect(_backup_offer(page)).to_have_count(0)
