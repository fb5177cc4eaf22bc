"""The fan-out's cost per batch does not grow with the batch, and what it freezes into each envelope is whole."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact, ContactScores
from contacts.selectors import contact_as_data
from events.gateway import EventRecord
from events.models import Event
from tests.factories import ContactFactory
from webhooks.fanout import deliveries_fan_out
from webhooks.models import WebhookDelivery
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db


def _events(workspace, count: int) -> list[EventRecord]:
    now = timezone.now()
    records = []
    for n in range(count):
        contact = ContactFactory(workspace=workspace, fields={"plan": f"p{n}"}, tags=["vip"], interests={"topics": []})
        ContactScores.objects.create(contact=contact, predictions={"churn_risk": {"score": 50}})
        event = Event.objects.create(workspace=workspace, contact_id=contact.pk, type="email.opened", occurred_at=now,
                                     received_at=now, properties={"n": n})
        records.append(EventRecord(id=event.pk, workspace_id=workspace.pk, contact_id=contact.pk, type=event.type,
                                   occurred_at=now, properties={"n": n}))
    return records


def _queries_to_fan_out(events: list[EventRecord]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert deliveries_fan_out(events=events, now=timezone.now()) == len(events) * 2
    return len(queries)


def test_a_batch_costs_the_same_queries_whatever_its_size_and_freezes_whole_contacts(workspace, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    for path in ("a", "b"):
        subscription_create(workspace=workspace, url=f"http://127.0.0.1:9/{path}", events=["email.*"])
    subscription_create(workspace=workspace, url="http://127.0.0.1:9/c", events=["form.submitted"])

    one, many = _events(workspace, 1), _events(workspace, 12)
    # A contact loaded with only some of its columns would load the others one query each: the count would grow.
    assert _queries_to_fan_out(one) == _queries_to_fan_out(many)

    delivery = WebhookDelivery.objects.filter(event_id=many[-1].id).first()
    body = json.loads(delivery.payload)
    whole = contact_as_data(Contact.objects.get(pk=many[-1].contact_id))
    assert body["data"]["contact"] == json.loads(json.dumps(whole, default=str))
    assert body["data"]["properties"] == {"n": 11} and body["type"] == "email.opened"
    assert WebhookDelivery.objects.filter(event_id__in=[e.id for e in many]).count() == 24  # a and b, not c
