"""ESP webhooks through django-anymail: real payload shapes of Postmark, Mailgun and SendGrid, posted to anymail's
own endpoints; every event replayed 20 times in shuffled order is recorded once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid

import pytest

from contacts.models import Contact, Suppression
from events.models import Event
from templates.models import OutboxMessage
from tests.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailWarning")]

BASIC = "Basic " + base64.b64encode(b"hook:s3cret").decode()
MAILGUN_KEY = "key-0123456789abcdef0123456789abcdef"
WORKFLOW_ID = "3f9b1c2e-7d4a-4e8b-9a61-2c5d8e7f1a3b"


@pytest.fixture(autouse=True)
def _anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret", "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


def sent_row(workspace, contact, *, esp_message_id: str, node_id="n4") -> OutboxMessage:
    row_id = uuid.uuid4()
    return OutboxMessage.objects.create(
        id=row_id, workspace=workspace, key=f"enr:{node_id}:{row_id}", contact=contact, node_id=node_id,
        workflow_id=WORKFLOW_ID, status="sent", to_email=contact.email, from_email="hello@acme.test",
        subject="Hello", text="Hi", message_id=f"<{row_id}@penguinmails.test>", esp_message_id=esp_message_id,
    )  # fmt: skip


def replay(client, posts: list[tuple[str, str]], times: int = 20) -> None:
    """POST every (url, body) `times` times, all shuffled together; each answer must be 200."""
    order = [post for post in posts for _ in range(times)]
    random.Random(8058).shuffle(order)
    for url, body in order:
        response = client.post(url, data=body, content_type="application/json", HTTP_AUTHORIZATION=BASIC)
        assert response.status_code == 200, response.content


def by_type() -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in Event.objects.filter(source="esp", type__startswith="email."):
        counts[event.type] = counts.get(event.type, 0) + 1
    return counts


# --- Postmark (https://postmarkapp.com/developer/webhooks/webhooks-overview) -----------------------------------

def postmark_payloads(message_id: str, email: str) -> list[dict]:
    client = {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"}
    os_ = {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"}
    geo = {"CountryISOCode": "RS", "Country": "Serbia", "RegionISOCode": "VO", "Region": "Autonomna Pokrajina Vojvodina",
           "City": "Novi Sad", "Zip": "21000", "Coords": "45.2517,19.8369", "IP": "188.2.95.4"}  # fmt: skip
    agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0"
    return [
        {"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": message_id,
         "Recipient": email, "Tag": "welcome-email", "DeliveredAt": "2026-11-22T16:33:54.9070259Z",
         "Details": "Test delivery webhook details", "Metadata": {}},
        {"RecordType": "Open", "MessageStream": "outbound", "FirstOpen": True, "Client": client, "OS": os_,
         "Platform": "WebMail", "UserAgent": agent, "ReadSeconds": 5, "Geo": geo, "MessageID": message_id,
         "Metadata": {}, "ReceivedAt": "2026-11-22T16:40:54.9070259Z", "Tag": "welcome-email", "Recipient": email},
        {"RecordType": "Click", "MessageStream": "outbound", "ClickLocation": "HTML", "Client": client, "OS": os_,
         "Platform": "Desktop", "UserAgent": agent, "OriginalLink": "https://example.com/pricing", "Geo": geo,
         "MessageID": message_id, "Metadata": {}, "ReceivedAt": "2026-11-22T16:41:11.0000000Z",
         "Tag": "welcome-email", "Recipient": email},
        {"RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807, "Type": "HardBounce",
         "TypeCode": 1, "Name": "Hard bounce", "Tag": "Invitation", "MessageID": message_id, "Metadata": {},
         "ServerID": 23, "Description": "The server was unable to deliver your message (ex: unknown user, mailbox "
         "not found).", "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
         "Email": email, "From": "hello@acme.test", "BouncedAt": "2026-11-22T16:33:54.9070259Z",
         "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Hello", "Content": "<dump>"},
        {"RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 42, "Type": "SpamComplaint",
         "TypeCode": 512, "Name": "Spam complaint", "Tag": "Test", "MessageID": message_id, "Metadata": {},
         "ServerID": 1234, "Description": "", "Details": "Test spam complaint details", "Email": email,
         "From": "hello@acme.test", "BouncedAt": "2026-11-22T17:33:54.9070259Z", "DumpAvailable": True,
         "Inactive": True, "CanActivate": False, "Subject": "Hello", "Content": "<Abuse report dump>"},
    ]  # fmt: skip


def test_postmark_events_replayed_twenty_times_are_recorded_once_each(client, workspace):
    contact = ContactFactory(workspace=workspace, email="john@example.com")
    row = sent_row(workspace, contact, esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483")
    posts = [("/anymail/postmark/tracking/", json.dumps(p)) for p in postmark_payloads(row.esp_message_id, contact.email)]

    replay(client, posts)

    assert by_type() == {"email.delivered": 1, "email.opened": 1, "email.clicked": 1, "email.bounced": 1,
                         "email.complained": 1}  # fmt: skip
    bounce = Event.objects.get(type="email.bounced")
    assert bounce.contact_id == contact.pk
    assert bounce.properties["message_id"] == str(row.pk) and bounce.properties["node_id"] == "n4"
    assert bounce.properties["workflow_id"] == WORKFLOW_ID and bounce.properties["bounce_type"] == "hard"
    assert Event.objects.get(type="email.clicked").properties["url"] == "https://example.com/pricing"
    # Bounce, then complaint: the stronger status stays, and the address is suppressed once.
    assert Contact.objects.get(pk=contact.pk).status == "complained"
    assert Suppression.objects.filter(workspace=workspace).count() == 1


def test_hard_bounce_sets_the_contact_bounced_and_suppresses_further_sends(client, workspace, template):
    from templates.outbox import email_send

    contact = ContactFactory(workspace=workspace, email="john@example.com")
    row = sent_row(workspace, contact, esp_message_id="pm-1")
    bounce = postmark_payloads("pm-1", contact.email)[3]

    client.post("/anymail/postmark/tracking/", data=json.dumps(bounce), content_type="application/json",
                HTTP_AUTHORIZATION=BASIC)  # fmt: skip

    assert Contact.objects.get(pk=contact.pk).status == "bounced"
    assert Suppression.objects.get(workspace=workspace).reason == "bounced"
    assert row.pk
    result = email_send(key="next", workspace=workspace, contact=contact, template=template, context={})
    assert result.status == "skipped"


def test_soft_bounce_is_recorded_but_changes_nothing(client, workspace):
    contact = ContactFactory(workspace=workspace, email="john@example.com")
    sent_row(workspace, contact, esp_message_id="pm-2")
    soft = {**postmark_payloads("pm-2", contact.email)[3], "Type": "SoftBounce", "TypeCode": 4096, "ID": 77}

    client.post("/anymail/postmark/tracking/", data=json.dumps(soft), content_type="application/json",
                HTTP_AUTHORIZATION=BASIC)  # fmt: skip

    assert Event.objects.get(type="email.bounced").properties["bounce_type"] == "soft"
    assert Contact.objects.get(pk=contact.pk).status == "subscribed"
    assert not Suppression.objects.exists()


def test_webhook_without_the_shared_secret_is_refused_and_writes_nothing(client, workspace):
    contact = ContactFactory(workspace=workspace, email="john@example.com")
    sent_row(workspace, contact, esp_message_id="pm-3")
    body = json.dumps(postmark_payloads("pm-3", contact.email)[3])

    wrong = "Basic " + base64.b64encode(b"hook:guess").decode()
    assert client.post("/anymail/postmark/tracking/", data=body, content_type="application/json").status_code == 400
    assert client.post("/anymail/postmark/tracking/", data=body, content_type="application/json",
                       HTTP_AUTHORIZATION=wrong).status_code == 400  # fmt: skip
    assert not Event.objects.filter(source="esp").exists()
    assert Contact.objects.get(pk=contact.pk).status == "subscribed"


def test_event_for_an_unknown_message_is_kept_when_the_recipient_is_one_contact(client, workspace, other_workspace):
    contact = ContactFactory(workspace=workspace, email="solo@example.com")
    payloads = postmark_payloads("unknown-id", "solo@example.com")[:1] + postmark_payloads("x", "nobody@example.com")[:1]
    ContactFactory(workspace=workspace, email="twice@example.com")
    ContactFactory(workspace=other_workspace, email="twice@example.com")
    payloads += postmark_payloads("y", "twice@example.com")[:1]  # ambiguous: two workspaces

    for payload in payloads:
        client.post("/anymail/postmark/tracking/", data=json.dumps(payload), content_type="application/json",
                    HTTP_AUTHORIZATION=BASIC)  # fmt: skip

    (event,) = Event.objects.filter(source="esp")
    assert (event.type, event.contact_id, event.workspace_id) == ("email.delivered", contact.pk, workspace.pk)
    assert event.properties["message_id"] is None


# --- Mailgun (https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#webhooks) ----------

def mailgun_post(event_data: dict, token: str) -> str:
    timestamp = "1763829234"
    signature = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": timestamp, "token": token, "signature": signature},
                       "event-data": event_data})  # fmt: skip


def mailgun_payloads(message_id: str, email: str, metadata: dict) -> list[str]:
    base = {
        "tags": ["welcome"], "timestamp": 1763829234.908181,
        "storage": {"url": "https://se.api.mailgun.net/v3/domains/mg.acme.test/messages/message_key",
                    "key": "message_key"},
        "envelope": {"transport": "smtp", "sender": "hello@mg.acme.test", "sending-ip": "209.61.154.250",
                     "targets": email},
        "recipient-domain": "example.com", "campaigns": [], "user-variables": metadata,
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False, "is-test-mode": False},
        "log-level": "info",
        "message": {"headers": {"to": f"Alice <{email}>", "message-id": message_id,
                                "from": "Acme <hello@mg.acme.test>", "subject": "Hello"},
                    "attachments": [], "size": 111},
        "recipient": email,
    }  # fmt: skip
    client_info = {"client-type": "browser", "client-os": "Linux", "device-type": "desktop", "client-name": "Chrome",
                   "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0"}  # fmt: skip
    geo = {"country": "US", "region": "CA", "city": "San Francisco"}
    events = [
        {"id": "CPgfbmQMTCKtHW6uIWtuVe", "event": "delivered",
         "delivery-status": {"tls": True, "mx-host": "smtp-in.example.com", "attempt-no": 1, "description": "",
                             "session-seconds": 0.43, "utf8": True, "code": 250, "message": "OK",
                             "certificate-verified": True}},
        {"id": "Ase7i2zsRYeDXztHGENqRA", "event": "opened", "ip": "50.56.129.169", "geolocation": geo,
         "client-info": client_info},
        {"id": "Ase7i2zsRYeDXztHGENqRB", "event": "clicked", "ip": "50.56.129.169", "geolocation": geo,
         "client-info": client_info, "url": "https://example.com/book-demo"},
        {"id": "G9Bn5sl1TC6nu79C8C0bwg", "event": "failed", "severity": "permanent", "reason": "bounce",
         "delivery-status": {"attempt-no": 1, "message": "No such mailbox", "code": 550,
                             "description": "Not delivering to previously bounced address", "session-seconds": 0.0}},
        {"id": "-Agny091SquKnsrW2NEKUA", "event": "complained"},
        {"id": "Ase7i2zsRYeDXztHGENqRC", "event": "unsubscribed", "ip": "50.56.129.169", "geolocation": geo,
         "client-info": client_info},
    ]  # fmt: skip
    return [mailgun_post({**base, **event}, token=f"tok{n}-a8ce0edb2dd8301dee6c24052355") for n, event in
            enumerate(events)]  # fmt: skip


def test_mailgun_events_replayed_twenty_times_are_recorded_once_each(client, workspace):
    contact = ContactFactory(workspace=workspace, email="alice@example.com")
    row = sent_row(workspace, contact, esp_message_id="<20261122182626.18666.16540@mg.acme.test>")
    bodies = mailgun_payloads("20261122182626.18666.16540@mg.acme.test", contact.email, {"pf_message_id": str(row.pk)})

    replay(client, [("/anymail/mailgun/tracking/", body) for body in bodies])

    assert by_type() == {"email.delivered": 1, "email.opened": 1, "email.clicked": 1, "email.bounced": 1,
                         "email.complained": 1, "email.unsubscribed": 1}  # fmt: skip
    assert all(e.properties["message_id"] == str(row.pk) for e in Event.objects.filter(source="esp", type__startswith="email."))
    assert Event.objects.get(type="email.clicked").properties["url"] == "https://example.com/book-demo"
    assert Contact.objects.get(pk=contact.pk).status == "complained"


def test_mailgun_event_with_a_bad_signature_is_refused(client, workspace):
    contact = ContactFactory(workspace=workspace, email="alice@example.com")
    body = json.loads(mailgun_payloads("m@mg.acme.test", contact.email, {})[3])
    body["signature"]["signature"] = "0" * 64

    response = client.post("/anymail/mailgun/tracking/", data=json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=BASIC)  # fmt: skip

    assert response.status_code == 400
    assert not Event.objects.filter(source="esp").exists()
    assert Contact.objects.get(pk=contact.pk).status == "subscribed"


def mailgun_legacy_forms(message_id: str, email: str, pf_message_id: str) -> list[str]:
    """Mailgun's legacy (pre-2018, still sent by old routes) form-encoded webhooks: the signature fields sit
    among the event's, and custom variables are merged into them."""
    from urllib.parse import urlencode

    headers = json.dumps([["Message-Id", f"<{message_id}>"], ["To", email], ["From", "hello@mg.acme.test"],
                          ["Subject", "Hello"]])  # fmt: skip
    opened = {"ip": "50.56.129.169", "country": "US", "region": "CA", "city": "San Francisco",
              "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0", "device-type": "desktop",
              "client-type": "browser", "client-name": "Chrome", "client-os": "Linux", "tag": "welcome",
              "message-id": message_id}  # fmt: skip
    events = [
        {"event": "delivered", "message-headers": headers, "Message-Id": f"<{message_id}>"},
        {"event": "opened", **opened},
        {"event": "clicked", **opened, "url": "https://example.com/docs"},
        {"event": "bounced", "message-headers": headers, "Message-Id": f"<{message_id}>", "code": "550",
         "error": "5.1.1 The email account that you tried to reach does not exist.",
         "notification": "550 5.1.1 No such user"},
        {"event": "complained", "message-headers": headers, "Message-Id": f"<{message_id}>"},
        {"event": "unsubscribed", **opened},
    ]  # fmt: skip
    forms = []
    for n, event in enumerate(events):
        token = f"legacy{n}-5f1e0a0d7a3b4c2e9d8f7a6b5c4d3e2f"
        timestamp = str(1763829300 + n)
        signature = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
        forms.append(urlencode({**event, "recipient": email, "domain": "mg.acme.test", "pf_message_id": pf_message_id,
                                "timestamp": timestamp, "token": token, "signature": signature}))
    return forms


def test_mailgun_legacy_form_webhooks_replayed_twenty_times_are_recorded_once_each(client, workspace):
    contact = ContactFactory(workspace=workspace, email="alice@example.com")
    row = sent_row(workspace, contact, esp_message_id="<20261122190000.1.2@mg.acme.test>")
    forms = mailgun_legacy_forms("20261122190000.1.2@mg.acme.test", contact.email, str(row.pk))
    order = [form for form in forms for _ in range(20)]
    random.Random(2018).shuffle(order)

    for form in order:
        response = client.post("/anymail/mailgun/tracking/", data=form,
                               content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=BASIC)
        assert response.status_code == 200, response.content

    assert by_type() == {"email.delivered": 1, "email.opened": 1, "email.clicked": 1, "email.bounced": 1,
                         "email.complained": 1, "email.unsubscribed": 1}  # fmt: skip
    assert all(e.properties["message_id"] == str(row.pk) for e in Event.objects.filter(type__startswith="email."))
    assert Event.objects.get(type="email.clicked").properties["url"] == "https://example.com/docs"
    assert Contact.objects.get(pk=contact.pk).status == "complained"  # a complaint outranks a bounce
    assert Suppression.objects.filter(workspace=workspace).exists()
    # A form whose signature does not match is refused and writes nothing.
    forged = forms[0].replace("legacy0-", "legacyX-")
    response = client.post("/anymail/mailgun/tracking/", data=forged,
                           content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=BASIC)
    assert response.status_code == 400 and sum(by_type().values()) == 6


# --- SendGrid (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event) -----------------------

def sendgrid_payloads(anymail_id: str, email: str) -> list[dict]:
    common = {"email": email, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "category": ["welcome"],
              "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "anymail_id": anymail_id}
    agent = "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)"
    return [
        {**common, "timestamp": 1763829200, "event": "processed", "sg_event_id": "cHJvY2Vzc2VkLTEyMzQ1"},
        {**common, "timestamp": 1763829201, "event": "delivered", "response": "250 OK",
         "sg_event_id": "ZGVsaXZlcmVkLTEyMzQ1", "ip": "168.1.1.1", "tls": 1},
        {**common, "timestamp": 1763829300, "event": "open", "useragent": agent, "ip": "255.255.255.255",
         "sg_event_id": "b3Blbi0xMjM0NQ", "sg_machine_open": False},
        {**common, "timestamp": 1763829310, "event": "click", "useragent": agent, "ip": "255.255.255.255",
         "url": "https://example.com/pricing", "url_offset": {"index": 0, "type": "html"},
         "sg_event_id": "Y2xpY2stMTIzNDU"},
        {**common, "timestamp": 1763829320, "event": "bounce", "type": "bounce", "status": "5.0.0",
         "reason": "500 unknown recipient", "bounce_classification": "Invalid Address",
         "sg_event_id": "Ym91bmNlLTEyMzQ1", "ip": "168.1.1.1", "tls": 0},
        {**common, "timestamp": 1763829330, "event": "spamreport", "sg_event_id": "c3BhbXJlcG9ydC0xMjM0NQ"},
        {**common, "timestamp": 1763829340, "event": "unsubscribe", "sg_event_id": "dW5zdWJzY3JpYmUtMTIzNDU"},
    ]  # fmt: skip


def test_sendgrid_events_replayed_twenty_times_are_recorded_once_each(client, workspace):
    contact = ContactFactory(workspace=workspace, email="example@test.com")
    row = sent_row(workspace, contact, esp_message_id="5f1b6b5e-0d36-4e28-9e4b-0f0e5c0c8d1a")
    payloads = sendgrid_payloads(row.esp_message_id, contact.email)
    # SendGrid posts batches: singles, and the whole lot again as one batch.
    posts = [("/anymail/sendgrid/tracking/", json.dumps([p])) for p in payloads]
    posts.append(("/anymail/sendgrid/tracking/", json.dumps(payloads)))

    replay(client, posts)

    assert by_type() == {"email.delivered": 1, "email.opened": 1, "email.clicked": 1, "email.bounced": 1,
                         "email.complained": 1, "email.unsubscribed": 1}  # fmt: skip
    assert Event.objects.get(type="email.bounced").properties["bounce_type"] == "hard"
    assert all(e.properties["node_id"] == "n4" for e in Event.objects.filter(source="esp", type__startswith="email."))


# --- Replies (anymail inbound) --------------------------------------------------------------------------------

def test_reply_through_postmark_inbound_becomes_email_replied(client, workspace):
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    row = sent_row(workspace, contact, esp_message_id="pm-9", node_id="n8")
    payload = {
        "FromName": "Ada Lovelace", "MessageStream": "inbound", "From": "ada@example.com",
        "FromFull": {"Email": "ada@example.com", "Name": "Ada Lovelace", "MailboxHash": ""},
        "To": "\"Acme\" <hello@acme.test>", "ToFull": [{"Email": "hello@acme.test", "Name": "Acme", "MailboxHash": ""}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": "hello@acme.test",
        "Subject": "Re: Hello", "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b", "ReplyTo": "",
        "MailboxHash": "", "Date": "Sun, 22 Nov 2026 16:45:32 +0000", "TextBody": "Yes please!",
        "HtmlBody": "<p>Yes please!</p>", "StrippedTextReply": "Yes please!", "Tag": "",
        "Headers": [{"Name": "Return-Path", "Value": "<ada@example.com>"},
                    {"Name": "In-Reply-To", "Value": row.message_id},
                    {"Name": "References", "Value": f"<older@example.com> {row.message_id}"},
                    {"Name": "Message-ID", "Value": "<CAF=reply-1@mail.example.com>"}],
        "Attachments": [],
    }  # fmt: skip

    replay(client, [("/anymail/postmark/inbound/", json.dumps(payload))], times=3)

    event = Event.objects.get(type="email.replied")
    assert (event.contact_id, event.properties["message_id"], event.properties["node_id"]) == (
        contact.pk, str(row.pk), "n8")
    assert event.properties["subject"] == "Re: Hello"


def postmark_inbound(*, to: str, subject: str, sender: str = "ada@example.com") -> str:
    return json.dumps({
        "FromName": "Ada Lovelace", "MessageStream": "inbound", "From": sender,
        "FromFull": {"Email": sender, "Name": "Ada Lovelace", "MailboxHash": ""},
        "To": to, "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}], "Cc": "", "CcFull": [], "Bcc": "",
        "BccFull": [], "OriginalRecipient": to, "Subject": subject,
        "MessageID": str(uuid.uuid5(uuid.NAMESPACE_URL, subject)), "ReplyTo": "", "MailboxHash": "",
        "Date": "Sun, 22 Nov 2026 16:45:32 +0000", "TextBody": "", "HtmlBody": "", "StrippedTextReply": "",
        "Tag": "", "Headers": [{"Name": "Message-ID", "Value": f"<{uuid.uuid5(uuid.NAMESPACE_DNS, subject)}@x>"}],
        "Attachments": [],
    })  # fmt: skip


def test_mail_to_the_list_unsubscribe_mailto_unsubscribes_once(client, workspace, settings):
    """The mailto: of List-Unsubscribe, as a mail client uses it: a message to that mailbox with the subject it
    names, arriving through the ESP's inbound webhook."""
    from urllib.parse import parse_qs, urlsplit

    from templates.headers import list_unsubscribe

    settings.EMAIL_UNSUBSCRIBE_MAILTO = "unsubscribe@mail.acme.test"
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    row = sent_row(workspace, contact, esp_message_id="pm-10", node_id="n3")
    mailto = urlsplit(list_unsubscribe(row.id).split(", ")[1].strip("<>"))
    assert (mailto.scheme, mailto.path) == ("mailto", "unsubscribe@mail.acme.test")
    subject = parse_qs(mailto.query)["subject"][0]
    forged = subject[:-4] + ("AAAA" if not subject.endswith("AAAA") else "BBBB")

    replay(client, [("/anymail/postmark/inbound/", postmark_inbound(to=mailto.path, subject=forged))], times=2)
    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED and not Suppression.objects.exists()  # a forged token

    replay(client, [("/anymail/postmark/inbound/", postmark_inbound(to=mailto.path, subject=subject)),
                    ("/anymail/postmark/inbound/", postmark_inbound(to=mailto.path, subject=forged))], times=3)

    contact.refresh_from_db()
    assert contact.status == Contact.Status.UNSUBSCRIBED
    assert Suppression.objects.filter(workspace=workspace, reason="unsubscribed").count() == 1
    event = Event.objects.get(type="email.unsubscribed")
    assert (event.properties["via"], event.properties["message_id"], event.properties["node_id"]) == (
        "mailto", str(row.pk), "n3")
    assert not Event.objects.filter(type="email.replied").exists()  # a mail to the mailbox is not a reply


def test_mail_to_the_unsubscribe_mailbox_without_a_valid_token_changes_nothing(client, workspace, settings):
    settings.EMAIL_UNSUBSCRIBE_MAILTO = "unsubscribe@mail.acme.test"
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    sent_row(workspace, contact, esp_message_id="pm-11")

    replay(client, [("/anymail/postmark/inbound/",
                     postmark_inbound(to="unsubscribe@mail.acme.test", subject="unsubscribe please"))], times=2)

    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED
    assert not Suppression.objects.exists() and not Event.objects.filter(type__startswith="email.").exists()
