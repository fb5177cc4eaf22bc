"""Fixtures of the web push tests: a real local push service over TLS (bench/_push_service.py: it checks the VAPID
JWT and decrypts every message with the browser's keys), allowed by OUTBOUND_ALLOWED_NETWORKS as a development
setup allows loopback (the "push" queue and its worker are fixtures of tests/conftest.py)."""

from __future__ import annotations

import pytest

from bench._push_service import PushService
from push.subscriptions import subscription_store


@pytest.fixture(scope="session")
def _push_service():
    service = PushService().start()
    yield service
    service.stop()


@pytest.fixture
def push_service(_push_service, settings):
    """The local push service, emptied for this test; PenguinFlow trusts its certificate and may reach it."""
    _push_service.received.clear()
    _push_service.refused.clear()
    _push_service.answers.clear()
    _push_service.hold = None
    _push_service.on_accepted = None
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.PUSH_CA_CERTS = _push_service.ca_file
    settings.PUBLIC_BASE_URL = "https://pf.example.test"
    return _push_service


@pytest.fixture
def contact(workspace):
    from tests.factories import ContactFactory

    return ContactFactory(
        workspace=workspace, email="ada@example.com", first_name="Ada", last_name="Lovelace"
    )


def subscribe(workspace, contact, browser: dict):
    """Store a browser of the local push service for `contact` (as the API does)."""
    subscription, _ = subscription_store(
        workspace=workspace,
        contact=contact,
        endpoint=browser["endpoint"],
        p256dh=browser["keys"]["p256dh"],
        auth=browser["keys"]["auth"],
    )
    return subscription
