"""`GET /api/v1/push/vapid-public-key` and `POST /api/v1/contacts/{id}/push-subscriptions` (CONTRACT §13): keys
made once per workspace (the private one encrypted, never shown), subscriptions checked (keys, https, the SSRF
guard), the contact's device count and push consent kept with them."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from contacts.models import Contact
from push.models import PushSettings, PushSubscription
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def url(contact) -> str:
    return f"/api/v1/contacts/{contact.pk}/push-subscriptions"


def test_the_vapid_public_key_is_made_once_per_workspace_and_the_private_key_is_never_shown(api, other_api):
    first = api.get("/api/v1/push/vapid-public-key")
    again = api.get("/api/v1/push/vapid-public-key")
    other = other_api.get("/api/v1/push/vapid-public-key")
    settings_ = api.get("/api/v1/push/settings")

    assert first.status_code == 200 and first.json() == again.json()
    key = base64.urlsafe_b64decode(first.json()["public_key"] + "=")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)  # a P-256 point
    assert len(key) == 65 and other.json()["public_key"] != first.json()["public_key"]
    stored = PushSettings.objects.get(vapid_public_key=first.json()["public_key"])
    assert "PRIVATE KEY" not in stored.vapid_private_key_encrypted  # encrypted at rest
    for body in (first.content, settings_.content):
        assert b"private" not in body.lower() and b"identity_secret" not in body


def test_a_browser_subscription_is_stored_with_push_consent_and_counted(api, workspace, push_service):
    contact = ContactFactory(workspace=workspace)
    browser = push_service.browser()

    created = api.post(url(contact), browser, format="json", HTTP_USER_AGENT="Firefox/140")
    again = api.post(url(contact), browser, format="json")

    assert created.status_code == 201, created.content
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert created.json()["push_service"] == push_service.origin
    contact.refresh_from_db()
    assert contact.channels["push"]["devices"] == 1
    assert contact.channels["push"]["status"] == "subscribed"
    assert contact.channels["push"]["source"] == "push_subscription"
    listed = api.get(url(contact))
    assert [row["endpoint"] for row in listed.json()] == [browser["endpoint"]]


def test_an_endpoint_stored_for_another_contact_moves_to_it(api, workspace, push_service):
    ada, bob = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    browser = push_service.browser()
    api.post(url(ada), browser, format="json")

    moved = api.post(url(bob), browser, format="json")

    assert moved.status_code == 200
    assert PushSubscription.objects.get().contact_id == bob.pk
    assert Contact.objects.get(pk=ada.pk).channels["push"]["devices"] == 0
    assert Contact.objects.get(pk=bob.pk).channels["push"]["devices"] == 1


def test_deleting_a_subscription_updates_the_count(api, workspace, push_service):
    contact = ContactFactory(workspace=workspace)
    created = api.post(url(contact), push_service.browser(), format="json").json()

    deleted = api.delete(f"{url(contact)}/{created['id']}")
    again = api.delete(f"{url(contact)}/{created['id']}")

    assert (deleted.status_code, again.status_code) == (204, 404)
    assert Contact.objects.get(pk=contact.pk).channels["push"]["devices"] == 0


def _keys(push_service) -> dict:
    return push_service.browser()["keys"]


@pytest.mark.parametrize(("endpoint", "why"), [
    ("http://127.0.0.1:9/push/x", "https"),
    ("https://10.0.0.7/push/x", "private"),
    ("https://169.254.169.254/latest", "metadata"),
    ("https://[::1]/push/x", "loopback"),
    ("https://0x7f000002/push/x", "loopback"),
    ("https://user:pw@push.example/x", "user name"),
    ("ftp://push.example/x", "http"),
    ("not a url", "spaces"),
    ("", "endpoint"),
])  # fmt: skip
def test_an_endpoint_that_is_not_https_or_on_a_private_address_is_a_400(
    api, workspace, push_service, endpoint, why
):
    contact = ContactFactory(workspace=workspace)

    response = api.post(url(contact), {"endpoint": endpoint, "keys": _keys(push_service)}, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] in ("invalid_push_endpoint", "validation_error")
    assert why in str(error["details"]).lower() or why in error["message"].lower()
    assert not PushSubscription.objects.exists() and "push" not in Contact.objects.get(pk=contact.pk).channels


def test_loopback_is_refused_unless_outbound_allowed_networks_exempts_it(
    api, workspace, push_service, settings
):
    contact = ContactFactory(workspace=workspace)
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    response = api.post(url(contact), push_service.browser(), format="json")

    assert response.status_code == 400 and "loopback" in response.json()["error"]["details"]["endpoint"]


@pytest.mark.parametrize(("keys", "field"), [
    ({"p256dh": "BBBB", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys.p256dh"),
    ({"p256dh": "B" + "A" * 86, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys.p256dh"),  # 65 bytes, not on the curve
    ({"p256dh": None, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys.p256dh"),
    ({"p256dh": "valid", "auth": "AAAA"}, "keys.auth"),
    ({"p256dh": "valid", "auth": "!!!!not base64!!!!!!!!"}, "keys.auth"),
])  # fmt: skip
def test_keys_that_cannot_encrypt_a_message_are_a_400(api, workspace, push_service, keys, field):
    contact = ContactFactory(workspace=workspace)
    browser = push_service.browser()
    if keys["p256dh"] == "valid":
        keys = {**keys, "p256dh": browser["keys"]["p256dh"]}

    response = api.post(url(contact), {"endpoint": browser["endpoint"], "keys": keys}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "body", [[], "x", {"endpoint": "https://a.example/x"}, {"keys": {}}, {"endpoint": 5, "keys": 5}]
)
def test_malformed_bodies_are_a_400(api, workspace, body):
    contact = ContactFactory(workspace=workspace)

    response = api.post(url(contact), body, format="json")

    assert response.status_code == 400 and "error" in response.json()


def test_another_workspaces_contact_is_a_404_and_nothing_is_stored(other_api, workspace, push_service):
    contact = ContactFactory(workspace=workspace)

    response = other_api.post(url(contact), push_service.browser(), format="json")

    assert response.status_code == 404 and not PushSubscription.objects.exists()


def test_push_settings_take_a_vapid_subject_and_show_the_identity_secret_once(api):
    updated = api.patch("/api/v1/push/settings", {"subject": "mailto:ops@acme.test"}, format="json")
    bad = api.patch("/api/v1/push/settings", {"subject": "ops@acme.test"}, format="json")
    secret = api.post("/api/v1/push/settings/identity-secret")
    shown = api.get("/api/v1/push/settings")

    assert updated.status_code == 200 and updated.json()["subject"] == "mailto:ops@acme.test"
    assert bad.status_code == 400 and "subject" in bad.json()["error"]["details"]
    assert secret.status_code == 200 and len(secret.json()["identity_secret"]) > 30
    assert secret.json()["identity_secret"] not in shown.content.decode()


def test_a_contact_keeps_its_most_recently_stored_browsers_up_to_the_cap(api, workspace, push_service):
    from push.subscriptions import PUSH_MAX_DEVICES_PER_CONTACT

    contact = ContactFactory(workspace=workspace)
    browsers = [push_service.browser() for _ in range(PUSH_MAX_DEVICES_PER_CONTACT + 2)]
    for browser in browsers:
        assert api.post(url(contact), browser, format="json").status_code == 201
    api.post(url(contact), browsers[0], format="json")  # the first stored again: recent, but already let go

    kept = {row["endpoint"] for row in api.get(url(contact)).json()}
    assert kept == {b["endpoint"] for b in [browsers[0], *browsers[-(PUSH_MAX_DEVICES_PER_CONTACT - 1):]]}
    contact.refresh_from_db()
    assert contact.channels["push"]["devices"] == PUSH_MAX_DEVICES_PER_CONTACT
