"""`/api/v1/webhooks`: subscriptions made, listed, changed, rotated and deleted; the REST-hooks form Zapier sends;
every bad input a 4xx in the contract's format with nothing written."""

from __future__ import annotations

import pytest

from events.services import event_emit
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/in"


def _error(response, status: int, code: str | None = None) -> dict:
    """The error, in the contract's format (§2) whole: a code, a sentence, details; nothing else."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json().keys() == {"error"}
    body = response.json()["error"]
    assert body.keys() == {"code", "message", "details"}
    assert isinstance(body["message"], str) and body["message"] and isinstance(body["details"], dict)
    if code:
        assert body["code"] == code
    return body


def test_create_answers_the_secret_once(api):
    response = api.post("/api/v1/webhooks", {"url": URL, "events": ["contact.created", "email.*"],
                                             "description": "CRM sync"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["contact.created", "email.*"] and body["status"] == "active"
    assert body["ordered"] is False and body["description"] == "CRM sync"
    shown = api.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in shown and shown["url"] == URL
    listed = api.get("/api/v1/webhooks").json()["results"]
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]


def test_rest_hooks_subscribe_and_unsubscribe(api):
    response = api.post("/api/v1/webhooks", {"target_url": URL, "event": "contact.created"}, format="json")
    assert response.status_code == 201, response.content
    sub_id = response.json()["id"]
    assert response.json()["events"] == ["contact.created"]
    assert api.delete(f"/api/v1/webhooks/{sub_id}").status_code == 204
    _error(api.get(f"/api/v1/webhooks/{sub_id}"), 404, "not_found")
    _error(api.delete(f"/api/v1/webhooks/{sub_id}"), 404)


@pytest.mark.parametrize("url, words", [
    ("http://127.0.0.1:8000/hook", "loopback"),
    ("http://10.0.0.5/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://localhost:8000/hook", "localhost resolves to"),  # a name is judged by what it resolves to
    ("ftp://example.com/x", "http"),
    ("http://user:pw@example.com/", "user name"),
    ("not a url", "spaces"),
])
def test_internal_or_unusable_urls_are_refused(api, url, words):
    body = _error(api.post("/api/v1/webhooks", {"url": url, "events": ["*"]}, format="json"), 400, "url_refused")
    assert words in body["details"]["url"]
    assert not WebhookSubscription.objects.exists()


def test_every_catalogue_type_and_family_can_be_subscribed_to(api):
    """CONTRACT §3's catalogue with §13's channel events, and a wildcard for each family."""
    from webhooks.event_types import CATALOGUE

    families = sorted({f"{t.split('.')[0]}.*" for t in CATALOGUE})
    assert {"sms.*", "push.*", "workflow.*", "campaign.*"} <= set(families)
    response = api.post("/api/v1/webhooks", {"url": URL, "events": [*sorted(CATALOGUE), *families]}, format="json")
    assert response.status_code == 201, response.content


def test_allowed_networks_exempt_loopback(api, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    response = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("events, path", [
    (["email.opend"], "events[0]"),
    (["contact.created", "nope"], "events[1]"),
    (["order.completed"], "events[0]"),  # custom, never seen in this workspace
    (["email.**"], "events[0]"),
    (["EMAIL.OPENED"], "events[0]"),
])
def test_unknown_event_types_are_refused(api, events, path):
    body = _error(api.post("/api/v1/webhooks", {"url": URL, "events": events}, format="json"), 400,
                  "unknown_event_type")
    assert path in body["details"]
    assert not WebhookSubscription.objects.exists()


def test_a_custom_type_the_workspace_recorded_is_accepted(api, workspace, other_api):
    event_emit(workspace=workspace, type="order.completed")
    assert api.post("/api/v1/webhooks", {"url": URL, "events": ["order.completed", "order.*"]},
                    format="json").status_code == 201
    # Another workspace has not recorded it.
    _error(other_api.post("/api/v1/webhooks", {"url": URL, "events": ["order.completed"]}, format="json"), 400)


def test_duplicate_subscription_is_a_conflict(api):
    assert api.post("/api/v1/webhooks", {"url": URL, "events": ["email.*", "contact.created"]},
                    format="json").status_code == 201
    _error(api.post("/api/v1/webhooks", {"url": URL, "events": ["contact.created", "email.*", "email.*"]},
                    format="json"), 409, "duplicate")
    # Other events to the same URL are another subscription.
    assert api.post("/api/v1/webhooks", {"url": URL, "events": ["email.*"]}, format="json").status_code == 201
    assert WebhookSubscription.objects.count() == 2


@pytest.mark.parametrize("body", [
    {},
    {"url": URL},
    {"events": ["*"]},
    {"url": URL, "events": []},
    {"url": URL, "events": "email.*"},
    {"url": URL, "events": [1]},
    {"url": 5, "events": ["*"]},
    {"url": URL, "target_url": URL, "events": ["*"]},
    {"url": URL, "events": ["*"], "event": "email.opened"},
    {"url": URL, "events": ["*"], "ordered": "yes"},
    {"url": URL, "events": ["*"], "description": "x" * 501},
    {"url": URL, "events": ["*"] * 101},
    {"url": "http://x\u0000y/", "events": ["*"]},
    [1, 2],
])
def test_malformed_bodies_are_400(api, body):
    _error(api.post("/api/v1/webhooks", body, format="json"), 400)
    assert not WebhookSubscription.objects.exists()


def test_update_disable_and_enable(api):
    sub = api.post("/api/v1/webhooks", {"url": URL, "events": ["*"]}, format="json").json()
    response = api.patch(f"/api/v1/webhooks/{sub['id']}", {"status": "disabled", "events": ["email.*"],
                                                          "ordered": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["events"], body["ordered"]) == ("disabled", ["email.*"], True)
    assert body["disabled_reason"] == "Disabled through the API."
    body = api.patch(f"/api/v1/webhooks/{sub['id']}", {"status": "active"}, format="json").json()
    assert body["status"] == "active" and body["disabled_at"] is None
    _error(api.patch(f"/api/v1/webhooks/{sub['id']}", {"status": "paused"}, format="json"), 400)
    _error(api.patch(f"/api/v1/webhooks/{sub['id']}", {"url": "http://127.0.0.1/"}, format="json"), 400,
           "url_refused")


def test_rotate_secret_bounds(api):
    sub = api.post("/api/v1/webhooks", {"url": URL, "events": ["*"]}, format="json").json()
    rotated = api.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", {}, format="json")
    assert rotated.status_code == 200 and rotated.json()["secret"] != sub["secret"]
    for bad in ({"overlap_hours": -1}, {"overlap_hours": 169}, {"overlap_hours": "2"}, {"overlap_hours": True}):
        _error(api.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", bad, format="json"), 400)


def test_other_workspaces_subscriptions_are_not_found(api, other_api):
    sub = api.post("/api/v1/webhooks", {"url": URL, "events": ["*"]}, format="json").json()
    for call in (lambda: other_api.get(f"/api/v1/webhooks/{sub['id']}"),
                 lambda: other_api.delete(f"/api/v1/webhooks/{sub['id']}"),
                 lambda: other_api.patch(f"/api/v1/webhooks/{sub['id']}", {"description": "x"}, format="json"),
                 lambda: other_api.get(f"/api/v1/webhooks/{sub['id']}/deliveries"),
                 lambda: other_api.post(f"/api/v1/webhooks/{sub['id']}/replay", {"since": "2026-01-01T00:00:00Z"},
                                        format="json")):
        _error(call(), 404)
    assert other_api.get("/api/v1/webhooks").json()["results"] == []
    assert WebhookSubscription.objects.get().description == ""


def test_unauthenticated_is_401(client):
    assert client.get("/api/v1/webhooks").status_code == 401


def test_prune_keeps_pending_and_recent_deliveries(api, workspace):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.models import WebhookDelivery
    from webhooks.services import deliveries_prune

    sub = WebhookSubscription.objects.get(pk=api.post("/api/v1/webhooks", {"url": URL, "events": ["*"]},
                                                       format="json").json()["id"])
    old, now = timezone.now() - timedelta(days=100), timezone.now()

    def delivery(event_id, status, created_at):
        return WebhookDelivery.objects.create(workspace=workspace, subscription=sub, event_id=event_id,
                                              event_type="contact.created", msg_id=f"msg_{event_id}", payload="{}",
                                              status=status, next_attempt_at=now, created_at=created_at)

    delivery(1, "succeeded", old)
    kept = [delivery(2, "pending", old).pk, delivery(3, "failed", now).pk]
    assert deliveries_prune(older_than=timedelta(days=90)) == 1
    assert sorted(WebhookDelivery.objects.values_list("pk", flat=True)) == sorted(kept)
