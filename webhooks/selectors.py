"""Reads: a subscription's delivery log, and sample payloads (recent real events in the hook's envelope)."""

from __future__ import annotations

from django.db import connection

from contacts.models import Contact
from contacts.selectors import contact_as_data
from penguinflow.common.validators import readable_json
from webhooks.envelope import StoredEvent, envelope
from webhooks.models import WebhookDelivery

SAMPLES = 3
# How far back samples are looked for: the (workspace, type, occurred_at) index makes this one short descent.
_SAMPLES_SQL = """
    SELECT id, workspace_id, type, contact_id, occurred_at, received_at, properties::text, source, client_id,
           processed_at
    FROM events_event
    WHERE workspace_id = %s AND type = %s AND NOT flags @> '{"bot": true}'
      AND occurred_at BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00'
    ORDER BY occurred_at DESC, id DESC
    LIMIT %s
"""


def deliveries_of(*, subscription, status: str | None = None):
    """The subscription's deliveries, newest first (the view paginates), optionally of one status."""
    deliveries = WebhookDelivery.objects.filter(subscription=subscription)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.defer("payload")


def samples_of(*, workspace, event_type: str, limit: int = SAMPLES) -> list[dict]:
    """The workspace's latest events of ``event_type`` in the envelope a subscription would get, newest first
    (Zapier's `performList`: the same shape as the hook, unique ids)."""
    with connection.cursor() as cursor:
        cursor.execute(_SAMPLES_SQL, [workspace.pk, event_type, limit])
        rows = cursor.fetchall()
    events = [StoredEvent(id=row[0], workspace_id=row[1], type=row[2], contact_id=row[3], occurred_at=row[4],
                          received_at=row[5], properties=readable_json(row[6]) or {},
                          source=row[7], client_id=row[8], processed_at=row[9]) for row in rows]
    contacts = {contact.pk: contact_as_data(contact)
                for contact in Contact.objects.filter(pk__in={e.contact_id for e in events if e.contact_id})}
    return [envelope(event, contacts.get(event.contact_id)) for event in events]
