"""The delivery log (`GET /api/v1/webhooks/{id}/deliveries`), replays of one delivery and of everything since a
time, samples shaped exactly like the hook's payload, and the admin's replay calling the same service."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.webhook_receiver import Answer
from tests.webhooks.conftest import ingest, pump, settled, subscribe, wait_until
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def _sent(api, receiver, count: int, *, answers=()) -> dict:
    sub = subscribe(api, receiver.url, ["email.opened"])
    if answers:
        receiver.answer(*answers)
    ingest(api, *[{"type": "email.opened", "contact": {"email": f"c{n}@example.com"}} for n in range(count)])
    pump()
    wait_until(lambda: settled(sub["id"]) and WebhookDelivery.objects.filter(attempts__gte=1).count() == count,
               what="the deliveries")
    return sub


def test_log_is_paginated_newest_first_and_filtered_by_status(api, receiver):
    sub = _sent(api, receiver, 3, answers=(Answer(status=500, body=b"oops " * 2000), Answer(status=200)))
    page = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries?limit=2")
    assert page.status_code == 200, page.content
    first = page.json()
    assert len(first["results"]) == 2 and first["next"]
    rest = api.get(first["next"]).json()
    ids = [d["id"] for d in first["results"] + rest["results"]]
    assert len(set(ids)) == 3
    failed = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries?status=pending").json()["results"]
    assert len(failed) == 1
    entry = failed[0]
    assert entry["response_status"] == 500 and entry["attempts"] == 1 and entry["next_attempt_at"]
    assert entry["latency_ms"] >= 0 and len(entry["response_body"]) == 4096
    assert entry["webhook_id"].startswith("msg_")
    ok = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries?status=succeeded").json()["results"]
    assert len(ok) == 2 and all(d["next_attempt_at"] is None and d["delivered_at"] for d in ok)
    for bad in ("status=done", "limit=0", "cursor=zzz", "status=failed&status=pending"):
        response = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries?{bad}")
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_replay_one_delivery_sends_it_again_with_the_same_id(api, receiver):
    sub = _sent(api, receiver, 1)
    delivery = WebhookDelivery.objects.get()
    response = api.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{delivery.pk}/replay")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    pump()
    wait_until(lambda: len(receiver.requests) == 2 and settled(sub["id"]), what="the replay")
    first, again = receiver.requests
    assert first.headers["webhook-id"] == again.headers["webhook-id"] and first.body == again.body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    missing = api.post(f"/api/v1/webhooks/{sub['id']}/deliveries/00000000-0000-0000-0000-000000000000/replay")
    assert missing.status_code == 404


def test_replay_since_resends_what_is_no_longer_pending(api, receiver):
    sub = _sent(api, receiver, 3)
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.order_by("event_id").first().pk).update(
        created_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    response = api.post(f"/api/v1/webhooks/{sub['id']}/replay", {"since": since}, format="json")
    assert response.status_code == 202 and response.json() == {"replayed": 2}
    pump()
    wait_until(lambda: len(receiver.requests) == 5 and settled(sub["id"]), what="the replays")
    for bad in ({}, {"since": "yesterday"}, {"since": 5}):
        assert api.post(f"/api/v1/webhooks/{sub['id']}/replay", bad, format="json").status_code == 400


def test_replay_of_a_disabled_subscription_is_a_conflict(api, receiver):
    sub = _sent(api, receiver, 1)
    api.patch(f"/api/v1/webhooks/{sub['id']}", {"status": "disabled"}, format="json")
    response = api.post(f"/api/v1/webhooks/{sub['id']}/replay", {"since": "2020-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "subscription_disabled"
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_samples_are_shaped_exactly_like_the_hook_newest_first(api, receiver):
    _sent(api, receiver, 4)
    samples = api.get("/api/v1/webhooks/samples?event=email.opened")
    assert samples.status_code == 200, samples.content
    samples = samples.json()
    assert len(samples) == 3 and len({s["id"] for s in samples}) == 3
    delivered = {json.loads(r.body)["id"]: json.loads(r.body) for r in receiver.requests}
    for sample in samples:
        hooked = delivered[sample["id"]]
        assert sample.keys() == hooked.keys() and sample["data"].keys() == hooked["data"].keys()
        assert sample["data"]["contact"] == hooked["data"]["contact"]
        assert {k: v for k, v in sample["data"].items() if k != "processed_at"} == \
               {k: v for k, v in hooked["data"].items() if k != "processed_at"}
    moments = [(s["occurred_at"], s["data"]["id"]) for s in samples]
    assert moments == sorted(moments, reverse=True)
    assert api.get("/api/v1/webhooks/samples?event=contact.tagged").json() == []
    for bad in ("", "?event=", "?event=email.*", "?event=email.opend", "?event=email.opened&event=email.sent"):
        assert api.get(f"/api/v1/webhooks/samples{bad}").status_code == 400


def test_admin_sees_the_log_and_replays_through_the_service(api, receiver, client):
    sub = _sent(api, receiver, 1)
    staff = UserFactory(username="ops", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/webhooks/webhooksubscription/").status_code == 200
    page = client.get("/admin/webhooks/webhookdelivery/")
    assert page.status_code == 200 and b"email.opened" in page.content
    delivery = WebhookDelivery.objects.get()
    assert client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").status_code == 200
    response = client.post("/admin/webhooks/webhookdelivery/", {
        "action": "replay_deliveries", "_selected_action": [str(delivery.pk)]}, follow=True)
    assert b"1 deliveries are due again now." in response.content
    pump()
    wait_until(lambda: len(receiver.requests) == 2 and settled(sub["id"]), what="the replay")
