"""The send_sms form in Chromium: beneath the text, how it would travel (GSM-7 or UCS-2, segments, characters),
counted on the text as rendered for the preview contact, and a text too long to send said with what to do."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.builder.conftest import assert_accessible
from tests.builder.pages import open_canvas
from tests.builder.test_panel import chain, config_when, node, open_panel, pick

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sms_text_says_its_encoding_and_segments_as_it_is_typed(logged_in, screenshot, workspace):
    from tests.factories import ContactFactory
    from workflows import services

    page = logged_in
    ContactFactory(workspace=workspace, first_name="Zoë", last_name="Martin", email="zoe@example.com")
    workflow = services.workflow_create(workspace=workspace, name="SMS", graph=chain(
        node("start", "trigger_manual", "Start", {}, 0),
        node("text", "send_sms", "Text them", {"text": "Hello"}, 150),
    ))  # fmt: skip
    open_canvas(page, workflow)
    panel = open_panel(page, "Text them")
    segments = panel.get_by_test_id("sms-segments")
    expect(segments).to_have_text("GSM-7 · 1 segment · 5 characters")

    text = panel.get_by_label(re.compile(r"^Text\W*$"))  # "Text*": required
    text.fill("a" * 161)
    expect(segments).to_have_text("GSM-7 · 2 segments · 161 characters")

    # Liquid: counted as written until a contact is chosen, then as rendered for them (ë forces UCS-2).
    text.fill("Bonjour {{ contact.first_name }} !")
    expect(segments).to_contain_text("(as written)")
    pick(panel, "Preview for (a contact)", "Zo", "Zoë Martin")
    expect(segments).to_have_text(
        "UCS-2 because of “ë” · 1 segment · 13 characters (as rendered for Zoë Martin)"
    )
    screenshot("sms-segments")
    assert_accessible(page)

    text.fill("ç" * 700)
    expect(segments).to_contain_text(
        "too long to send (at most 10 segments and 1,600 characters); shorten the text."
    )
    expect(segments.locator(".field-problem")).to_be_visible()

    text.fill("Your order has shipped.")
    saved = config_when(workflow, "text", lambda config: config.get("text") == "Your order has shipped.")
    assert saved["text"] == "Your order has shipped."
