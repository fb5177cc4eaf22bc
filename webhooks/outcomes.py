"""What an attempt's outcome does to its delivery and to the subscription (the one place that moves a delivery's
status after an attempt).

- 2xx: succeeded. The subscription's failure record is cleared.
- 410 Gone: the endpoint asks to be forgotten (REST hooks): the subscription is disabled at once, the delivery
  failed, nobody notified (it is how Zapier unsubscribes a dead zap).
- Any other answer, no answer, or a refused address: the attempt failed; the next one follows the schedule
  (`webhooks.schedule`), counted from when the attempt ended and no sooner than a 429's or 503's Retry-After,
  or the delivery has failed for good after the last. A subscription failing without a success for a day is
  disabled and the workspace admins are told.
- No answer at all (timeout, refused connection): the subscription is also blocked for a while, and its other
  pending deliveries wait for the block to end instead of tying up senders.
- Released (not attempted: the subscription had enough attempts under way in this process): due again soon,
  no attempt counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from penguinflow.common.db import prepared_cursor
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.schedule import FAILING_LIMIT, no_answer_pause, retry_delay
from webhooks.services import failing_reason, subscription_disable

logger = logging.getLogger(__name__)
DeliveryStatus = WebhookDelivery.Status


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: UUID
    subscription_id: UUID
    round_attempts: int  # before this attempt
    at: datetime
    attempted: bool = True
    status_code: int | None = None
    latency_ms: int | None = None
    body: str = ""
    error: str = ""
    no_answer: bool = False  # timeout or connection failure: block the subscription for a while
    release_until: datetime | None = None  # not attempted: due again then
    retry_after: timedelta | None = None  # what a 429's or 503's Retry-After asked for

    @property
    def ended_at(self) -> datetime:
        """When the attempt ended (its answer, or its failure): the retry's wait counts from then."""
        return self.at + timedelta(milliseconds=self.latency_ms or 0)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


_UPDATE_SQL = """
    UPDATE webhooks_webhookdelivery d SET
        status = x.status, attempts = d.attempts + x.attempted::int, round_attempts = x.round_attempts,
        next_attempt_at = x.next_at, claimed_until = NULL,
        last_attempt_at = CASE WHEN x.attempted THEN x.at ELSE d.last_attempt_at END,
        response_status = CASE WHEN x.attempted THEN x.code ELSE d.response_status END,
        latency_ms = CASE WHEN x.attempted THEN x.latency ELSE d.latency_ms END,
        response_body = CASE WHEN x.attempted THEN x.body ELSE d.response_body END,
        error = CASE WHEN x.attempted THEN x.error ELSE d.error END,
        delivered_at = CASE WHEN x.status = 'succeeded' THEN x.at ELSE d.delivered_at END
    FROM unnest(%b::uuid[], %b::text[], %b::bool[], %b::int[], %b::timestamptz[], %b::timestamptz[], %b::int[],
                %b::int[], %b::text[], %b::text[]) AS x(id, status, attempted, round_attempts, next_at, at, code,
                latency, body, error)
    WHERE d.id = x.id AND d.status = 'pending'
"""


def _delivery_row(outcome: Outcome) -> tuple[Any, ...]:
    rounds = outcome.round_attempts + (1 if outcome.attempted else 0)
    status, next_at = DeliveryStatus.PENDING, outcome.release_until or outcome.at
    if outcome.attempted:
        if outcome.succeeded:
            status = DeliveryStatus.SUCCEEDED
        elif outcome.gone or (delay := retry_delay(rounds)) is None:
            status = DeliveryStatus.FAILED
        else:
            next_at = outcome.ended_at + max(delay, outcome.retry_after or timedelta(0))
    return (outcome.delivery_id, str(status), outcome.attempted, rounds, next_at, outcome.at, outcome.status_code,
            outcome.latency_ms, outcome.body.replace("\x00", ""), outcome.error.replace("\x00", ""))


def _subscriptions_update(outcomes: Sequence[Outcome], now: datetime) -> None:
    by_sub: dict[UUID, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.attempted:
            by_sub.setdefault(outcome.subscription_id, []).append(outcome)
    recovered = []
    for sub_id, own in by_sub.items():
        if any(outcome.gone for outcome in own):
            subscription_disable(subscription_id=sub_id, notify=False, now=now,
                                 reason="The endpoint answered 410 Gone.")
        elif max(own, key=lambda outcome: outcome.at).succeeded:
            recovered.append(sub_id)
        else:
            _failure_record(sub_id, min(outcome.at for outcome in own if not outcome.succeeded), now)
            if any(outcome.no_answer for outcome in own):
                _block(sub_id, now + no_answer_pause(), now)
    if recovered:  # one statement for the many healthy subscriptions of a busy batch
        WebhookSubscription.objects.filter(pk__in=recovered, failing_since__isnull=False).update(failing_since=None)


def _failure_record(sub_id: UUID, first_failure: datetime, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE webhooks_webhooksubscription SET failing_since = COALESCE(failing_since, %s) "
                       "WHERE id = %s RETURNING failing_since", [first_failure, sub_id])
        row = cursor.fetchone()
    if row and row[0] <= now - FAILING_LIMIT:
        subscription_disable(subscription_id=sub_id, notify=True, now=now, reason=failing_reason(row[0]))


def _block(sub_id: UUID, until: datetime, now: datetime) -> None:
    WebhookSubscription.objects.filter(pk=sub_id).update(blocked_until=until)
    # Its waiting deliveries wait for the block's end: the claim does not pick them up again meanwhile.
    (WebhookDelivery.objects.filter(subscription_id=sub_id, status=DeliveryStatus.PENDING, next_attempt_at__lt=until,
                                    claimed_until__isnull=True)
     .update(next_attempt_at=until))


def outcomes_record(outcomes: Sequence[Outcome], *, now: datetime | None = None) -> None:
    """Write the outcomes of attempts (and releases) in one transaction: the deliveries, then their
    subscriptions. A delivery no longer pending (cancelled meanwhile) keeps its status."""
    if not outcomes:
        return
    now = now or timezone.now()
    rows = [_delivery_row(outcome) for outcome in outcomes]
    columns = [list(column) for column in zip(*rows, strict=True)]
    with transaction.atomic():
        # Bound on the server, in binary: a text array is escaped element by element in Python (see fanout).
        with prepared_cursor() as cursor:
            cursor.execute(_UPDATE_SQL, columns, prepare=True)
        _subscriptions_update(outcomes, now)
