"""Templates: CRUD through the API, Liquid rendering with contact/event/enrollment/workspace variables, and the
preview endpoint."""

from __future__ import annotations

import pytest

from templates.models import OutboxMessage
from templates.rendering import TemplateRenderError, html_to_text, render_parts
from tests.factories import ContactFactory, EmailTemplateFactory

pytestmark = pytest.mark.django_db


def test_preview_for_a_stored_contact_renders_subject_html_and_derived_text(api, workspace):
    contact = ContactFactory(workspace=workspace, first_name="Ada", fields={"plan": "pro"}, tags=["vip"])
    template = EmailTemplateFactory(
        workspace=workspace,
        subject="{{ contact.first_name }}, your {{ contact.fields.plan | upcase }} plan at {{ workspace.name }}",
        html="<h1>Hi {{ contact.first_name }}</h1><p>{% if contact.tags contains 'vip' %}VIP{% endif %} "
             "<a href=\"https://example.com/x\">Go</a></p>",
    )  # fmt: skip

    response = api.post(f"/api/v1/templates/{template.id}/preview", {"contact_id": str(contact.id)}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "subject": "Ada, your PRO plan at Acme",
        "html": '<h1>Hi Ada</h1><p>VIP <a href="https://example.com/x">Go</a></p>',
        "text": "Hi Ada\n\nVIP Go (https://example.com/x)\n",
    }
    assert OutboxMessage.objects.count() == 0


def test_preview_with_inline_contact_uses_defaults_and_escapes_html(api, workspace):
    template = EmailTemplateFactory(
        workspace=workspace, subject="Hi {{ contact.first_name | default: 'there' }}",
        html="<p>{{ contact.last_name }} / {{ event.properties.url }}</p>", text="Plain {{ contact.last_name }}",
    )  # fmt: skip

    response = api.post(
        f"/api/v1/templates/{template.id}/preview",
        {"contact": {"email": "x@example.com", "last_name": "<b>Bold</b>"},
         "event": {"type": "page.viewed", "properties": {"url": "https://example.com/p"}}},
        format="json",
    )  # fmt: skip

    assert response.json() == {"subject": "Hi there", "html": "<p>&lt;b&gt;Bold&lt;/b&gt; / https://example.com/p</p>",
                               "text": "Plain <b>Bold</b>"}  # fmt: skip


def test_preview_of_a_contact_in_another_workspace_is_404(api, workspace, other_workspace):
    template = EmailTemplateFactory(workspace=workspace)
    stranger = ContactFactory(workspace=other_workspace)

    response = api.post(f"/api/v1/templates/{template.id}/preview", {"contact_id": str(stranger.id)}, format="json")

    assert response.status_code == 404


def test_preview_needs_exactly_one_of_contact_id_or_contact(api, workspace):
    template = EmailTemplateFactory(workspace=workspace)

    response = api.post(f"/api/v1/templates/{template.id}/preview", {}, format="json")

    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_preview_that_fails_to_render_answers_422_with_the_part_and_line(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="ok", html="<p>\n\n{{ 1 | divided_by: 0 }}</p>")

    response = api.post(f"/api/v1/templates/{template.id}/preview", {"contact": {}}, format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "template_render_error" and error["details"] == {"html": "line 3: divided_by: can't divide by 0"}


def test_syntax_error_in_the_text_part_is_reported_at_save_with_its_line(api):
    response = api.post("/api/v1/templates", {"name": "T", "subject": "s", "html": "<p>x</p>",
                                              "text": "a\nb\n{% if x %}never closed"}, format="json")  # fmt: skip

    assert response.status_code == 400
    assert response.json()["error"]["details"]["text"].startswith("line 3:")


def test_render_error_raises_instead_of_producing_a_partial_email(workspace):
    template = EmailTemplateFactory.build(workspace=workspace, subject="fine", html="<p>{{ 'x' | nosuchfilter }}</p>")

    with pytest.raises(TemplateRenderError) as caught:
        render_parts(template=template, variables={"contact": {}})
    assert list(caught.value.details) == ["html"]


def test_html_to_text_keeps_paragraphs_lists_and_link_targets():
    text = html_to_text(
        "<html><head><style>p{color:red}</style></head><body><p>Hello&nbsp;there</p>"
        "<ul><li>One</li><li>Two</li></ul><p><a href='https://x.test/a'>Read</a><br>bye</p></body></html>"
    )

    assert text == "Hello there\n\n- One\n- Two\n\nRead (https://x.test/a)\nbye\n"


def test_html_to_text_drops_comments_scripts_and_nul_and_keeps_nested_link_labels():
    text = html_to_text(
        "<!-- hidden --><script>var a = '<p>x</p>';</script><p>A\x00B &amp; C</p>"
        "<p><a href='https://x.test/a'><b>Bold</b> label</a> <a href='https://x.test/b'>https://x.test/b</a></p>"
        "<p><a href='/relative'>Rel</a><img alt='Logo' src='x.png'></p>"
    )

    assert text == "AB & C\n\nBold label (https://x.test/a) https://x.test/b\n\nRelLogo\n"


def test_template_crud(api):
    response = api.post(
        "/api/v1/templates", {"name": "Welcome", "subject": "Hi {{ contact.first_name }}", "html": "<p>Hi</p>"},
        format="json",
    )
    assert response.status_code == 201, response.content
    template_id = response.json()["id"]
    assert api.patch(f"/api/v1/templates/{template_id}", {"subject": "Hello"}, format="json").json()["subject"] == "Hello"
    assert api.get("/api/v1/templates").json()["results"][0]["id"] == template_id
    assert api.delete(f"/api/v1/templates/{template_id}").status_code == 204


def test_template_with_liquid_syntax_error_reports_line_and_is_not_saved(api):
    response = api.post(
        "/api/v1/templates",
        {"name": "Broken", "subject": "Fine", "html": "<p>one</p>\n<p>{% if contact.first_name %}two</p>"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "template_syntax_error"
    assert error["details"]["html"] == "line 2: expected tag endif, found end of expression"
    assert api.get("/api/v1/templates").json()["results"] == []


def test_template_subject_with_newline_is_refused(api):
    response = api.post(
        "/api/v1/templates", {"name": "X", "subject": "Hi\r\nBcc: evil@x.test", "html": "<p>x</p>"}, format="json"
    )
    assert response.status_code == 400
    assert "subject" in response.json()["error"]["details"]


def test_template_factory_template_is_listed(api, workspace):
    EmailTemplateFactory(workspace=workspace, name="From factory")
    assert [t["name"] for t in api.get("/api/v1/templates").json()["results"]] == ["From factory"]
