"""Open pixel, click redirect and one-click unsubscribe (CONTRACT §10): signed tokens, scanner flags, no CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from contacts.models import Contact, Suppression
from events.models import Event
from templates import tracking
from templates.delivery import outbox_deliver
from templates.models import OutboxMessage
from templates.outbox import email_send

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari"
WORKFLOW_ID = "0b8f6a8e-3f7e-4c59-9d5e-6f1d2c3b4a59"


@pytest.fixture
def sent(workspace, contact, template, settings, mailoutbox):
    """A message delivered (locmem backend) an hour ago, by node n7 of a workflow."""
    settings.PUBLIC_BASE_URL = "https://pf.example.test"
    result = email_send(key="e:n7:1", workspace=workspace, contact=contact, template=template, context={},
                        node_id="n7", workflow_id=WORKFLOW_ID)  # fmt: skip
    outbox_deliver(outbox_ids=[result.message_id])
    OutboxMessage.objects.filter(pk=result.message_id).update(sent_at=timezone.now() - timedelta(hours=1))
    return OutboxMessage.objects.get(pk=result.message_id)


def path_of(url: str) -> str:
    return url.removeprefix("https://pf.example.test")


def tracked_paths(row, kind: str) -> list[str]:
    return [path_of(url) for url in re.findall(rf"""["'](https://pf\.example\.test/t/{kind}/[^"']+)["']""", row.html)]


def test_open_pixel_answers_a_gif_and_records_email_opened(client, sent):
    (pixel,) = tracked_paths(sent, "o")

    response = client.get(pixel, HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a") and "no-store" in response["Cache-Control"]
    event = Event.objects.get(type="email.opened")
    assert (event.contact_id, event.source, event.flags) == (sent.contact_id, "tracking", {})
    assert event.properties == {"message_id": str(sent.pk), "node_id": "n7", "workflow_id": WORKFLOW_ID}


def test_click_redirects_to_the_stored_link_and_records_email_clicked(client, sent):
    first, second = tracked_paths(sent, "c")

    response = client.get(first, HTTP_USER_AGENT=BROWSER)
    other = client.get(second + "?url=https://evil.test/", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302 and response["Location"] == "https://example.com/pricing?a=1&b=2"
    assert other.status_code == 302 and other["Location"] == "http://example.com/docs"  # the query is ignored
    urls = sorted(e.properties["url"] for e in Event.objects.filter(type="email.clicked"))
    assert urls == ["http://example.com/docs", "https://example.com/pricing?a=1&b=2"]
    assert all(e.flags == {} for e in Event.objects.filter(type="email.clicked"))


def test_forged_tampered_or_foreign_tokens_answer_404_and_write_nothing(client, sent, other_workspace):
    (click,) = tracked_paths(sent, "c")[:1]
    (pixel,) = tracked_paths(sent, "o")
    token = click.removeprefix("/t/c/")
    unknown_message = tracking.make_token(tracking.CLICK, __import__("uuid").uuid4(), 0)
    bad = [
        f"/t/c/{token[:-2]}xx",  # tampered signature
        f"/t/c/{token.replace('.0:', '.1:')}",  # another index, old signature
        f"/t/c/{tracking.make_token(tracking.CLICK, sent.pk, 99)}",  # signed, but no such link
        f"/t/c/{unknown_message}",  # signed, but no such message
        f"/t/c/{pixel.removeprefix('/t/o/').removesuffix('.gif')}",  # an open token is no click token
        f"/t/o/{token}.gif",
        "/t/c/not-a-token",
        f"/u/{token}",
        "/u/garbage",
    ]
    before = Contact.objects.get(pk=sent.contact_id).status
    for path in bad:
        assert client.get(path, HTTP_USER_AGENT=BROWSER).status_code == 404, path
    assert client.post(f"/u/{token}").status_code == 404
    assert Event.objects.count() == Event.objects.filter(type="email.sent").count() == 1
    assert Contact.objects.get(pk=sent.contact_id).status == before
    assert not Suppression.objects.exists()


@pytest.mark.parametrize(
    ("method", "agent", "reason"),
    [
        ("head", BROWSER, "head_request"),
        ("get", "Mozilla/5.0 (compatible; Barracuda Sentinel)", "scanner_user_agent:barracuda"),
        ("get", "", "no_user_agent"),
    ],
)
def test_scanner_and_prefetch_clicks_are_recorded_but_flagged_bot(client, sent, method, agent, reason):
    (click, _) = tracked_paths(sent, "c")

    response = getattr(client, method)(click, HTTP_USER_AGENT=agent)

    assert response.status_code == 302
    event = Event.objects.get(type="email.clicked")
    assert event.flags == {"bot": True, "reason": reason}


def test_click_seconds_after_delivery_is_flagged_bot(client, sent):
    OutboxMessage.objects.filter(pk=sent.pk).update(sent_at=timezone.now() - timedelta(seconds=2))
    (click, _) = tracked_paths(sent, "c")

    client.get(click, HTTP_USER_AGENT=BROWSER)

    assert Event.objects.get(type="email.clicked").flags == {"bot": True, "reason": "click_right_after_delivery"}


def test_open_fetched_by_apple_mail_privacy_proxy_is_flagged_machine_not_bot(client, sent):
    (pixel,) = tracked_paths(sent, "o")

    assert client.get(pixel, HTTP_USER_AGENT="Mozilla/5.0").status_code == 200

    event = Event.objects.get(type="email.opened")
    assert event.flags == {"machine_open": True, "reason": "apple_mail_privacy_protection"}


def unsubscribe_path(row) -> str:
    return f"/u/{tracking.make_token(tracking.UNSUBSCRIBE, row.pk)}"


def test_unsubscribe_get_shows_a_confirmation_form_and_changes_nothing(client, sent):
    response = client.get(unsubscribe_path(sent), HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 200
    assert b'<form method="post"' in response.content and b"<button" in response.content
    assert Contact.objects.get(pk=sent.contact_id).status == "subscribed"
    assert not Suppression.objects.exists()
    assert not Event.objects.filter(type__in=["email.unsubscribed", "contact.updated"]).exists()


def test_one_click_post_unsubscribes_without_cookie_or_csrf_token(sent):
    client = Client(enforce_csrf_checks=True)

    response = client.post(unsubscribe_path(sent), data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")  # fmt: skip

    assert response.status_code == 200
    contact = Contact.objects.get(pk=sent.contact_id)
    assert contact.status == "unsubscribed"
    assert list(Suppression.objects.values_list("reason", flat=True)) == ["unsubscribed"]
    event = Event.objects.get(type="email.unsubscribed")
    assert event.properties == {"message_id": str(sent.pk), "node_id": "n7", "workflow_id": WORKFLOW_ID,
                                "via": "one_click"}  # fmt: skip
    assert Event.objects.get(type="contact.updated").properties == {"changes": {"status": ["subscribed", "unsubscribed"]}}


def test_one_click_post_for_an_already_unsubscribed_contact_is_a_harmless_200(client, sent):
    assert client.post(unsubscribe_path(sent)).status_code == 200
    events = Event.objects.count()

    again = client.post(unsubscribe_path(sent))

    assert again.status_code == 200
    assert Event.objects.count() == events
    assert Suppression.objects.count() == 1


def test_after_unsubscribing_the_next_send_is_skipped(client, sent, workspace, contact, template, mailoutbox):
    client.post(unsubscribe_path(sent))
    mailoutbox.clear()

    result = email_send(key="e:n9:1", workspace=workspace, contact=contact, template=template, context={})

    assert (result.outcome, result.status) == ("not_subscribed", "skipped")
    outbox_deliver(outbox_ids=[result.message_id])
    assert mailoutbox == []
