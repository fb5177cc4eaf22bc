"""Reading a claimed batch: the deliveries still under its claim, with their subscriptions' URL and secrets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from penguinflow.common.db import prepared_cursor
from webhooks.models import WebhookDelivery
from webhooks.sending import Attempt
from webhooks.services import signing_secrets

# One statement for the batch and its subscriptions, bound on the server (a job runs it for every batch).
_LOAD_SQL = """
    SELECT d.id, d.subscription_id, d.msg_id, d.payload, d.round_attempts, s.status = 'active', s.url, s.secret,
           s.previous_secret, s.previous_secret_expires_at
    FROM webhooks_webhookdelivery d JOIN webhooks_webhooksubscription s ON s.id = d.subscription_id
    WHERE d.id = ANY(%b::uuid[]) AND d.status = 'pending' AND d.claimed_until = %b::timestamptz
    ORDER BY d.event_id
"""


def attempts_load(*, delivery_ids: Sequence[str], claimed_until: datetime) -> list[Attempt]:
    """The pending deliveries among ``delivery_ids`` still claimed until exactly ``claimed_until`` (a job run
    twice, or after its lease was taken over, finds none), in event order."""
    now = timezone.now()
    with prepared_cursor() as cursor:
        cursor.execute(_LOAD_SQL, [[str(pk) for pk in delivery_ids], claimed_until], prepare=True)
        rows = cursor.fetchall()
    orphans = [row[0] for row in rows if not row[5]]
    if orphans:
        # Fanned out while their subscription was being disabled (the fan-out read it as active): cancel them
        # as the disabling did its other pending deliveries, rather than claim them again forever.
        WebhookDelivery.objects.filter(pk__in=orphans, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.CANCELLED, claimed_until=None, error="The subscription was disabled.")
    secrets: dict = {}
    attempts = []
    for pk, sub_id, msg_id, payload, rounds, active, url, secret, previous, previous_expires_at in rows:
        if not active:
            continue
        if sub_id not in secrets:
            secrets[sub_id] = tuple(signing_secrets(secret=secret, previous_secret=previous,
                                                    previous_expires_at=previous_expires_at, now=now))
        attempts.append(Attempt(delivery_id=pk, subscription_id=sub_id, url=url, secrets=secrets[sub_id],
                                msg_id=msg_id, payload=payload, round_attempts=rounds))
    return attempts
