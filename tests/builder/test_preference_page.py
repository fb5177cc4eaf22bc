"""The contact's preference page in a real browser: reached by its link, keyboard-usable, saved for real."""

from __future__ import annotations

from playwright.sync_api import expect

from contacts.consent import consent_set
from contacts.models import ConsentRecord, Contact
from templates.tracking import preferences_token
from tests.builder.conftest import assert_accessible
from tests.factories import ContactFactory


def test_a_contact_turns_off_sms_and_a_topic_and_the_choice_is_recorded(page, workspace, screenshot):
    workspace.settings = {"topics": [{"id": "news", "label": "Product news"}, {"id": "offers", "label": "Offers"}]}
    workspace.save()
    contact = ContactFactory(workspace=workspace, email="ada@example.com", phone="+14155550100")
    consent_set(contact=contact, channel="sms", status="subscribed", source="form")

    page.goto(f"/p/{preferences_token(contact.pk)}")
    expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
    sms = page.get_by_role("checkbox", name="Text messages (SMS) (+14155550100)")
    expect(sms).to_be_checked()
    sms.uncheck()
    page.get_by_role("checkbox", name="Offers", exact=True).uncheck()
    page.get_by_label("Preferred channel").select_option(label="Email")
    assert_accessible(page)
    screenshot("preference-page")
    page.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
    expect(page.get_by_role("checkbox", name="Text messages (SMS) (+14155550100)")).not_to_be_checked()

    contact = Contact.objects.get(pk=contact.pk)
    assert contact.channels["sms"]["status"] == "unsubscribed"
    assert contact.topic_opt_outs == ["offers"]
    assert contact.preferred_channel == "email"
    assert ConsentRecord.objects.filter(contact=contact, source="preference_page").count() == 1
