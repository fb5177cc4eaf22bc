"""Reading a claimed batch: the deliveries still under its claim, with their subscriptions' URL and secrets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.sending import Attempt
from webhooks.services import secrets_in_use


def attempts_load(*, delivery_ids: Sequence[str], claimed_until: datetime) -> list[Attempt]:
    """The pending deliveries among ``delivery_ids`` still claimed until exactly ``claimed_until`` (a job run
    twice, or after its lease was taken over, finds none), in event order."""
    now = timezone.now()
    rows = list(WebhookDelivery.objects.filter(pk__in=delivery_ids, status=WebhookDelivery.Status.PENDING,
                                               claimed_until=claimed_until)
                .values_list("pk", "subscription_id", "msg_id", "payload", "round_attempts")
                .order_by("event_id"))
    subscriptions = {sub.pk: sub for sub in WebhookSubscription.objects.filter(
        pk__in={row[1] for row in rows}, status=WebhookSubscription.Status.ACTIVE)}
    orphans = [row[0] for row in rows if row[1] not in subscriptions]
    if orphans:
        # Fanned out while their subscription was being disabled (the fan-out read it as active): cancel them
        # as the disabling did its other pending deliveries, rather than claim them again forever.
        WebhookDelivery.objects.filter(pk__in=orphans, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.CANCELLED, claimed_until=None, error="The subscription was disabled.")
    secrets = {pk: tuple(secrets_in_use(sub, now)) for pk, sub in subscriptions.items()}
    return [Attempt(delivery_id=pk, subscription_id=sub_id, url=subscriptions[sub_id].url, secrets=secrets[sub_id],
                    msg_id=msg_id, payload=payload, round_attempts=rounds)
            for pk, sub_id, msg_id, payload, rounds in rows if sub_id in subscriptions]
