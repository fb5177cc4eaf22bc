"""Consent per channel (CONTRACT §13): the API's fields, the proof log, the events, and who may be reached."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from contacts.consent import channels_view, consent_set, reachability
from contacts.models import ConsentRecord, Contact
from contacts.phones import phone_normalise, phone_region
from events.models import Event
from penguinflow.common.errors import InvalidInput
from tests.factories import ContactFactory


def updates_of(contact):
    return [event.properties for event in Event.objects.filter(contact_id=contact.pk, type="contact.updated")
            .order_by("id")]


def test_a_contact_is_created_with_a_phone_in_e164_and_sms_consent_with_its_proof(api, workspace):
    response = api.post("/api/v1/contacts", {
        "email": "ada@example.com", "phone": "+44 20 7946 0958", "preferred_channel": "sms",
        "channels": {"sms": {"status": "subscribed", "source": "checkout_form", "proof": {"ip": "203.0.113.9"}}},
        "topic_opt_outs": ["promotions", " promotions "],
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "+442079460958"
    assert body["preferred_channel"] == "sms"
    assert body["topic_opt_outs"] == ["promotions"]
    assert body["channels"]["sms"]["status"] == "subscribed"
    assert body["channels"]["sms"]["source"] == "checkout_form"
    assert body["channels"]["email"]["status"] == "subscribed"
    assert "push" not in body["channels"]  # never asked
    record = ConsentRecord.objects.get(contact_id=body["id"])
    assert (record.channel, record.status, record.proof) == ("sms", "subscribed", {"ip": "203.0.113.9"})
    assert updates_of(Contact.objects.get(pk=body["id"]))[-1]["changes"] == {"channels.sms": [None, "subscribed"]}


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "12345"}, "phone"),
    ({"phone": "+1 555 0100"}, "phone"),
    ({"channels": {"fax": {"status": "subscribed"}}}, "channels"),
    ({"channels": {"sms": {"status": "maybe"}}}, "channels"),
    ({"channels": {"sms": "yes"}}, "channels"),
    ({"preferred_channel": "pigeon"}, "preferred_channel"),
])
def test_bad_phone_or_consent_is_a_400_naming_the_field_and_nothing_is_written(api, workspace, body, field):
    response = api.post("/api/v1/contacts", {"email": "bad@example.com", **body}, format="json")
    assert response.status_code == 400, response.content
    assert any(key.split(".")[0] == field for key in response.json()["error"]["details"]), response.content
    assert not Contact.objects.filter(email="bad@example.com").exists()


def test_a_number_without_its_country_code_is_refused_with_a_hint():
    with pytest.raises(InvalidInput) as refused:
        phone_normalise("020 7946 0958")
    assert "country code" in refused.value.details["phone"]
    assert phone_normalise("020 7946 0958", "gb") == "+442079460958"
    assert phone_region("+442079460958") == "GB"
    with pytest.raises(InvalidInput, match="region"):
        phone_normalise("020 7946 0958", "XX")


def test_unsubscribing_sms_by_patch_is_recorded_and_emits_contact_updated(api, workspace):
    contact = ContactFactory(workspace=workspace, phone="+14155550100")
    consent_set(contact=contact, channel="sms", status="subscribed", source="form")
    response = api.patch(f"/api/v1/contacts/{contact.pk}", {"channels": {"sms": {"status": "unsubscribed"}}},
                         format="json")
    assert response.status_code == 200, response.content
    assert response.json()["channels"]["sms"]["source"] == "api"
    assert [r.status for r in ConsentRecord.objects.filter(contact=contact).order_by("at")] == [
        "subscribed", "unsubscribed"]
    assert updates_of(contact)[-1]["changes"] == {"channels.sms": ["subscribed", "unsubscribed"]}
    assert reachability(Contact.objects.get(pk=contact.pk), "sms").reason == "unsubscribed"


def test_email_consent_is_the_contacts_status_both_ways(workspace):
    contact = ContactFactory(workspace=workspace)
    contact = consent_set(contact=contact, channel="email", status="unsubscribed", source="preference_page")
    assert contact.status == Contact.Status.UNSUBSCRIBED
    assert channels_view(contact)["email"]["source"] == "preference_page"
    contact = consent_set(contact=contact, channel="email", status="subscribed", source="preference_page")
    assert contact.status == Contact.Status.SUBSCRIBED
    Contact.objects.filter(pk=contact.pk).update(status=Contact.Status.BOUNCED)
    contact = consent_set(contact=Contact.objects.get(pk=contact.pk), channel="email", status="subscribed",
                          source="api")
    assert contact.status == Contact.Status.BOUNCED  # consent does not cure an address that does not exist
    assert channels_view(contact)["email"] == {"status": "unsubscribed", "source": "status:bounced", "at": None}


def test_reachability_says_why_a_channel_cannot_be_used(workspace):
    contact = ContactFactory(workspace=workspace, phone="")
    assert reachability(contact, "email").ok
    assert reachability(contact, "sms").reason == "no_address"
    contact.phone = "+14155550100"
    assert reachability(contact, "sms").reason == "no_consent"  # SMS needs an explicit opt-in
    contact.channels = {"sms": {"status": "subscribed"}, "push": {"status": "subscribed", "devices": 0}}
    assert reachability(contact, "sms").ok
    assert reachability(contact, "push").reason == "no_address"
    contact.channels["push"]["devices"] = 2
    assert reachability(contact, "push").ok
    contact.topic_opt_outs = ["promotions"]
    assert reachability(contact, "push", topic="promotions").reason == "topic_opted_out"
    assert reachability(contact, "push", topic="receipts").ok


@pytest.mark.django_db(transaction=True)
def test_two_consent_changes_at_once_both_land_in_the_log_and_the_last_one_wins(workspace):
    contact = ContactFactory(workspace=workspace, phone="+14155550100")
    barrier = threading.Barrier(2)

    def change(status):
        try:
            barrier.wait(timeout=30)
            consent_set(contact=contact, channel="sms", status=status, source="race")
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(status,)) for status in ("subscribed", "unsubscribed")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    records = list(ConsentRecord.objects.filter(contact=contact).order_by("created_at"))
    assert len(records) == 2
    assert Contact.objects.get(pk=contact.pk).channels["sms"]["status"] == records[-1].status
