"""Fan-out: the events of a processed batch become deliveries for the subscriptions that want them.

Ingestion (the hot path) does nothing for webhooks. Event processing (`events.processing`) hands each batch of
stored events to the runtime's gateway, which calls `deliveries_fan_out` inside the batch's transaction: the
deliveries commit with the events' `processed_at`, so every event is fanned out once (a rolled-back batch is
claimed again; a replay of events inserts nothing twice: a delivery is unique per subscription and event).
Events the project emits itself (workflow, contact, campaign, email, channel events) are stored events too and
come the same way.

The cost per batch is constant in round trips: the workspaces' active subscriptions (one query), then, only
when something matched, the matched events' remaining columns and their contacts (one query each) and one
INSERT of every delivery. The statements bind their parameters on the server, in binary: Django's client-side
binding escapes a text array element by element in Python, and for the INSERT's envelopes (a JSON text per
delivery, full of quotes) that cost ~25 us a delivery, more than the rest of the fan-out together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from contacts.models import Contact
from contacts.selectors import CONTACT_DATA_FIELDS, contact_as_data
from events.gateway import EventRecord
from penguinflow.common.db import prepared_cursor
from webhooks.envelope import StoredEvent, envelope, envelope_text, event_message_id
from webhooks.event_types import Matcher
from webhooks.models import WebhookSubscription

__all__ = ["deliveries_fan_out", "subscriptions_want"]

_ACTIVE_SQL = ("SELECT id, workspace_id, events, blocked_until FROM webhooks_webhooksubscription "
               "WHERE workspace_id = ANY(%b::uuid[]) AND status = %b")

_INSERT_SQL = """
    INSERT INTO webhooks_webhookdelivery (id, workspace_id, subscription_id, event_id, event_type, contact_id,
        msg_id, payload, status, attempts, round_attempts, next_attempt_at, response_body, error, created_at)
    SELECT gen_random_uuid(), w, s, e, t, c, m, p, 'pending', 0, 0, n, '', '', %b::timestamptz
    FROM unnest(%b::uuid[], %b::uuid[], %b::bigint[], %b::text[], %b::uuid[], %b::text[], %b::text[],
                %b::timestamptz[]) AS x(w, s, e, t, c, m, p, n)
    ON CONFLICT (subscription_id, event_id) DO NOTHING
"""


def _subscriptions(workspace_ids: set[UUID]) -> dict[UUID, list[tuple[UUID, Matcher, datetime | None]]]:
    by_workspace: dict[UUID, list[tuple[UUID, Matcher, datetime | None]]] = {}
    with prepared_cursor() as cursor:
        cursor.execute(_ACTIVE_SQL, [list(workspace_ids), str(WebhookSubscription.Status.ACTIVE)], prepare=True)
        for sub_id, workspace_id, events, blocked_until in cursor.fetchall():
            by_workspace.setdefault(workspace_id, []).append((sub_id, _matcher(tuple(events)), blocked_until))
    return by_workspace


def subscriptions_want(workspace_id: UUID, event_types: set[str]) -> set[str]:
    """Return those of `event_types` that an active subscription of the workspace wants (one query)."""
    matchers = [matcher for _, matcher, _ in _subscriptions({workspace_id}).get(workspace_id, ())]
    return {event_type for event_type in event_types if any(m.matches(event_type) for m in matchers)}


@lru_cache(maxsize=4096)
def _matcher(events: tuple[str, ...]) -> Matcher:
    # Every batch reads every subscription of its workspaces: their few distinct lists are parsed once.
    return Matcher.of(events)


def _stored_events(records: Sequence[EventRecord], now: datetime) -> dict[int, StoredEvent]:
    """The columns the envelope shows that the record does not carry (read for matched events only)."""
    moments = [record.occurred_at for record in records]
    with prepared_cursor() as cursor:
        cursor.execute("SELECT id, received_at, source, client_id FROM events_event "
                       "WHERE id = ANY(%b::bigint[]) AND occurred_at BETWEEN %b::timestamptz AND %b::timestamptz",
                       [[record.id for record in records], min(moments), max(moments)], prepare=True)
        extra = {row[0]: row[1:] for row in cursor.fetchall()}
    stored = {}
    for record in records:
        received_at, source, client_id = extra.get(record.id, (record.occurred_at, "api", None))
        stored[record.id] = StoredEvent(id=record.id, workspace_id=record.workspace_id, type=record.type,
                                        contact_id=record.contact_id, occurred_at=record.occurred_at,
                                        received_at=received_at, properties=dict(record.properties), source=source,
                                        client_id=client_id, processed_at=now)
    return stored


def _contacts(contact_ids: set[UUID]) -> dict[UUID, dict[str, Any]]:
    if not contact_ids:
        return {}
    contacts = Contact.objects.filter(pk__in=contact_ids).only(*CONTACT_DATA_FIELDS).prefetch_related("scores")
    return {contact.pk: contact_as_data(contact) for contact in contacts}


def deliveries_fan_out(*, events: Sequence[EventRecord], now: datetime) -> int:
    """Create a pending delivery for each (active subscription, event of its workspace that it wants); return
    how many were new. Bot-flagged events (link scanners) are nobody's activity and are not sent.

    Caller holds the events' processing transaction (or any transaction: a repeat inserts nothing twice).
    """
    wanted = [event for event in events if not event.is_bot]
    if not wanted:
        return 0
    subscriptions = _subscriptions({event.workspace_id for event in wanted})
    if not subscriptions:
        return 0
    pairs = [(event, sub_id, max(now, blocked_until or now))
             for event in wanted
             for sub_id, matcher, blocked_until in subscriptions.get(event.workspace_id, ())
             if matcher.matches(event.type)]
    if not pairs:
        return 0
    matched = list({id(event): event for event, _, _ in pairs}.values())
    stored = _stored_events(matched, now)
    contacts = _contacts({event.contact_id for event in matched if event.contact_id})
    payloads = {event.id: envelope_text(envelope(stored[event.id], contacts.get(event.contact_id)))
                for event in matched}
    columns: list[list[Any]] = [[] for _ in range(8)]
    for event, sub_id, due in pairs:
        values = (event.workspace_id, sub_id, event.id, event.type, event.contact_id,
                  event_message_id(event.workspace_id, event.id), payloads[event.id], due)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with prepared_cursor() as cursor:
        cursor.execute(_INSERT_SQL, [now, *columns], prepare=True)
        return cursor.rowcount
