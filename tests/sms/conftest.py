"""Real parts for the SMS tests: the local Twilio stand-in (bench/_twilio.py) on a free port, the "sms" queue on
the test run's Redis database (its fixtures, with the other channels' workers, are in tests/conftest.py),
contacts with a number and SMS consent."""

from __future__ import annotations

import pytest

from bench._twilio import TwilioServer

SENDER = "+15005550006"


@pytest.fixture(scope="session")
def _twilio_server():
    server = TwilioServer().start()
    yield server
    server.stop()


@pytest.fixture
def twilio(_twilio_server, settings):
    """The Twilio stand-in, empty and answering normally at the start of each test; SMS_URL points at it."""
    server = _twilio_server
    with server.lock:
        server.messages.clear()
        server.script.clear()
        server.callbacks_posted.clear()
        server.callbacks = ()
        server.hold = None
        server.on_accepted = None
    settings.SMS_URL = server.url
    settings.SMS_FROM = SENDER
    settings.PUBLIC_BASE_URL = "https://pf.example.test"
    return server


def opted_in(contact, *, phone: str = "+33612345678"):
    """Give `contact` a number and SMS consent (as a signup form would), and return it fresh."""
    from contacts.consent import consent_set

    contact.phone = phone
    contact.save(update_fields=["phone"])
    return consent_set(contact=contact, channel="sms", status="subscribed", source="form",
                       proof={"form": "signup", "ip": "203.0.113.7"})  # fmt: skip


@pytest.fixture
def contact(workspace):
    from tests.factories import ContactFactory

    return opted_in(ContactFactory(workspace=workspace, email="ada@example.com", first_name="Ada"))
