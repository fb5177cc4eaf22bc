"""The website side: `GET /push/sites/<site key>` and `POST .../subscriptions`, CORS limited to the workspace's
allowed origins, the visitor vouched for by the site's backend (an HMAC of the address), and the served scripts."""

from __future__ import annotations

import json

import pytest

from contacts.models import Contact
from penguinflow.workspaces.services import workspace_settings_change
from push.engagement import identity_signature
from push.models import PushSubscription
from push.services import identity_secret_rotate
from push.vapid import push_settings_get
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

SITE = "https://www.acme.test"


@pytest.fixture
def site(workspace):
    workspace_settings_change(workspace=workspace, changes={"push_origins": [SITE]})
    secret = identity_secret_rotate(workspace=workspace)
    return push_settings_get(workspace=workspace), secret


def post(client, path, body, origin=SITE):
    return client.post(path, json.dumps(body), content_type="application/json", HTTP_ORIGIN=origin)


def test_an_allowed_origin_reads_the_key_and_subscribes_a_visitor_its_backend_vouched_for(
    client, workspace, site, push_service
):
    settings_, secret = site
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    browser = push_service.browser()

    preflight = client.options(
        f"/push/sites/{settings_.site_key}/subscriptions",
        HTTP_ORIGIN=SITE,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    key = client.get(f"/push/sites/{settings_.site_key}", HTTP_ORIGIN=SITE)
    stored = post(
        client,
        f"/push/sites/{settings_.site_key}/subscriptions",
        {
            "subscription": browser,
            "email": "Ada@Example.com",
            "signature": identity_signature(secret, "ada@example.com"),
        },
    )

    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == SITE
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert key.json() == {"vapid_public_key": settings_.vapid_public_key}
    assert key["Access-Control-Allow-Origin"] == SITE
    assert stored.status_code == 201, stored.content
    assert stored["Access-Control-Allow-Origin"] == SITE
    row = PushSubscription.objects.get()
    assert (row.contact_id, row.source) == (contact.pk, "website")
    assert Contact.objects.get(pk=contact.pk).channels["push"]["devices"] == 1

    gone = post(client, f"/push/sites/{settings_.site_key}/unsubscribe", {"endpoint": browser["endpoint"]})
    assert gone.status_code == 204 and not PushSubscription.objects.exists()
    assert Contact.objects.get(pk=contact.pk).channels["push"]["devices"] == 0


def test_another_origin_gets_no_cors_grant_and_stores_nothing(client, workspace, site, push_service):
    settings_, secret = site
    ContactFactory(workspace=workspace, email="ada@example.com")
    body = {
        "subscription": push_service.browser(),
        "email": "ada@example.com",
        "signature": identity_signature(secret, "ada@example.com"),
    }

    preflight = client.options(
        f"/push/sites/{settings_.site_key}/subscriptions", HTTP_ORIGIN="https://evil.test"
    )
    refused = post(
        client, f"/push/sites/{settings_.site_key}/subscriptions", body, origin="https://evil.test"
    )
    no_origin = client.post(
        f"/push/sites/{settings_.site_key}/subscriptions", json.dumps(body), content_type="application/json"
    )

    assert preflight.status_code == refused.status_code == no_origin.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight and "Access-Control-Allow-Origin" not in refused
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert not PushSubscription.objects.exists()


def test_a_page_cannot_attach_its_browser_to_somebody_else(client, workspace, site, push_service):
    settings_, secret = site
    ContactFactory(workspace=workspace, email="ada@example.com")
    path = f"/push/sites/{settings_.site_key}/subscriptions"

    forged = post(
        client,
        path,
        {
            "subscription": push_service.browser(),
            "email": "ada@example.com",
            "signature": identity_signature("guessed", "ada@example.com"),
        },
    )
    unknown = post(
        client,
        path,
        {
            "subscription": push_service.browser(),
            "email": "nobody@example.com",
            "signature": identity_signature(secret, "nobody@example.com"),
        },
    )

    assert forged.status_code == 403 and forged.json()["error"]["code"] == "identity_not_verified"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "contact_not_found"
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'"x"', b'{"subscription": {"endpoint": "https://10.1.1.1/x"}}']
)
def test_bad_bodies_are_a_400_with_cors_so_the_page_can_read_why(client, workspace, site, body):
    settings_, _ = site

    response = client.post(
        f"/push/sites/{settings_.site_key}/subscriptions",
        body,
        content_type="application/json",
        HTTP_ORIGIN=SITE,
    )

    assert response.status_code == 400 and response["Access-Control-Allow-Origin"] == SITE
    assert "error" in response.json()


def test_an_unknown_site_key_is_a_404(client, db):
    assert client.get("/push/sites/ps_nope", HTTP_ORIGIN=SITE).status_code == 404


def test_the_script_and_service_worker_are_served(client, db):
    script = client.get("/js/penguinflow-push.js")
    worker = client.get("/js/penguinflow-push-sw.js")

    assert script.status_code == worker.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert b"PenguinFlowPush" in script.content and b"notificationclick" in worker.content


def test_writes_through_a_site_are_throttled_per_address(client, workspace, site, settings):
    settings.PUSH_SITE_RATE = "3/min"
    settings_, _ = site
    path = f"/push/sites/{settings_.site_key}/unsubscribe"

    answers = [post(client, path, {"endpoint": f"https://push.example/{n}"}).status_code for n in range(4)]
    last = post(client, path, {"endpoint": "https://push.example/x"})

    assert answers == [204, 204, 204, 429]
    assert (
        last.status_code == 429
        and int(last["Retry-After"]) >= 1
        and last["Access-Control-Allow-Origin"] == SITE
    )
