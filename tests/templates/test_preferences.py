"""The contact's preference page (CONTRACT §13): a signed link, channels and topics, recorded with proof."""

from __future__ import annotations

import uuid

import pytest

from contacts.consent import consent_set
from contacts.models import ConsentRecord, Contact
from events.models import Event
from templates.rendering import message_variables
from templates.tracking import preferences_token, preferences_url, read_preferences_token
from tests.factories import ContactFactory

TOPICS = [{"id": "news", "label": "Product news"}, {"id": "offers", "label": "Offers"}]


@pytest.fixture
def contact(workspace):
    workspace.settings = {"topics": TOPICS}
    workspace.save()
    contact = ContactFactory(workspace=workspace, email="ada@example.com", phone="+14155550100",
                             topic_opt_outs=["legacy"])
    return consent_set(contact=contact, channel="sms", status="subscribed", source="form")


def test_every_message_carries_the_contacts_preference_link(contact):
    variables = message_variables(workspace=contact.workspace, contact=contact, context={}, unsubscribe="")
    assert variables["preferences_url"] == preferences_url(contact.pk)
    assert variables["preferences_url"].endswith(f"/p/{preferences_token(contact.pk)}")


def test_preference_and_push_click_tokens_are_those_djangos_signer_makes_so_old_links_still_work(settings):
    """The hot paths sign from a cached key; a link signed before (by `Signer`) must still open the same page."""
    from django.core import signing

    from penguinflow.common.tokens import b64
    from push.tracking import click_token

    contact_id, message_id = uuid.uuid4(), uuid.uuid4()
    salt = f"{settings.EMAIL_TOKEN_SALT}:preferences"
    assert preferences_token(contact_id) == signing.Signer(salt=salt).sign(b64(contact_id.bytes))
    assert click_token(message_id) == signing.Signer(salt="penguinflow.push.v1:click").sign(b64(message_id.bytes))
    assert read_preferences_token(signing.Signer(salt=salt).sign(b64(contact_id.bytes))) == contact_id


def test_the_page_shows_the_channels_the_contact_has_and_the_workspaces_topics(client, contact):
    page = client.get(f"/p/{preferences_token(contact.pk)}").content.decode()
    assert 'name="channel_email" checked' in page
    assert 'name="channel_sms" checked' in page and "+14155550100" in page
    assert "channel_push" not in page  # no browser subscribed
    assert 'name="topic_news" checked' in page and "Product news" in page
    assert Event.objects.filter(contact_id=contact.pk, type="contact.updated").count() == 1  # GET changes nothing


def test_saving_withdraws_and_gives_consent_with_the_requests_proof(client, contact):
    response = client.post(f"/p/{preferences_token(contact.pk)}",
                           {"channel_email": "on", "topic_offers": "on", "preferred": "email"},
                           HTTP_USER_AGENT="Browser/1.0")
    assert response.status_code == 200
    assert "Your preferences are saved." in response.content.decode()
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.channels["sms"]["status"] == "unsubscribed"
    assert contact.channels["sms"]["source"] == "preference_page"
    assert contact.status == Contact.Status.SUBSCRIBED
    assert sorted(contact.topic_opt_outs) == ["legacy", "news"]  # a topic the page does not show stays
    assert contact.preferred_channel == "email"
    record = ConsentRecord.objects.filter(contact=contact, source="preference_page").get()
    assert record.proof == {"ip": "127.0.0.1", "user_agent": "Browser/1.0", "page": "preferences"}


def test_a_preferred_channel_the_contact_cannot_be_reached_on_is_not_kept(client, contact):
    client.post(f"/p/{preferences_token(contact.pk)}", {"channel_email": "on", "preferred": "push"})
    assert Contact.objects.get(pk=contact.pk).preferred_channel == ""


@pytest.mark.parametrize("token", ["nope", "x" * 300])
def test_a_forged_or_unknown_token_is_a_404_that_changes_nothing(client, contact, token):
    assert client.post(f"/p/{token}", {}).status_code == 404
    assert client.get(f"/p/{preferences_token(contact.pk)[:-2]}xx").status_code == 404
    assert Contact.objects.get(pk=contact.pk).channels["sms"]["status"] == "subscribed"
