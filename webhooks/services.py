"""Writes of webhook subscriptions: create, change, delete, rotate the secret, disable, replay deliveries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from penguinflow.common.errors import Conflict, InvalidInput, InvalidTransition
from penguinflow.outbound.addresses import OutboundRefused, allowed_networks, target_of
from penguinflow.outbound.client import OutboundFailed, checked_address, system_resolver
from penguinflow.outbound.signing import new_secret
from webhooks.event_types import events_key, is_custom, type_problem
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.schedule import FAILING_LIMIT

Status = WebhookSubscription.Status
DeliveryStatus = WebhookDelivery.Status

DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
MAX_EVENTS = 100
# The transitions a subscription's status may make; nothing else assigns `status`.
_TRANSITIONS = {Status.ACTIVE: {Status.DISABLED}, Status.DISABLED: {Status.ACTIVE}}


def url_refusal(url: str, *, resolver=system_resolver) -> str | None:
    """Return why the guard refuses ``url`` now (None: allowed): literal internal addresses, and names that
    resolve to one. A name that does not resolve yet is allowed (it is judged again at every attempt)."""
    try:
        target = target_of(url)
        checked_address(target.address, target.host, target.port, allowed=allowed_networks(), resolver=resolver)
    except OutboundRefused as error:
        return str(error)
    except OutboundFailed:
        return None
    return None


def _checked_events(workspace, events: Iterable[str]) -> list[str]:
    events = list(dict.fromkeys(events))
    if not events:
        raise InvalidInput("Name at least one event type.", details={"events": "At least one event type."})
    if len(events) > MAX_EVENTS:
        raise InvalidInput(f"At most {MAX_EVENTS} event types.", details={"events": f"At most {MAX_EVENTS}."})
    problems = {f"events[{index}]": problem for index, value in enumerate(events)
                if (problem := type_problem(value))}
    custom = [value for value in events if is_custom(value) and f"events[{events.index(value)}]" not in problems]
    if custom:
        with connection.cursor() as cursor:
            # One index probe per type ((workspace, type, occurred_at) index).
            cursor.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE NOT EXISTS "
                           "(SELECT 1 FROM events_event e WHERE e.workspace_id = %s AND e.type = t)",
                           [custom, workspace.pk])
            for (unseen,) in cursor.fetchall():
                problems[f"events[{events.index(unseen)}]"] = (
                    f"'{unseen}' is not a catalogue type and no event of that type was recorded in this workspace; "
                    "record one first (POST /api/v1/events), or check the spelling.")
    if problems:
        raise InvalidInput("Unknown event type.", details=problems, code="unknown_event_type")
    return events


def _checked_url(url: str) -> str:
    if reason := url_refusal(url):
        raise InvalidInput(f"This URL cannot be called: {reason}", details={"url": reason}, code="url_refused")
    return url


def _save_unique(subscription: WebhookSubscription, **kwargs: Any) -> WebhookSubscription:
    try:
        with transaction.atomic():
            subscription.save(**kwargs)
    except IntegrityError:
        raise Conflict("This workspace already has a subscription to this URL for these events.",
                       details={"url": "Already subscribed with the same events."}, code="duplicate") from None
    return subscription


def subscription_create(*, workspace, url: str, events: Iterable[str], description: str = "",
                        ordered: bool = False) -> WebhookSubscription:
    """Create an active subscription with a new signing secret (on the returned object: show it this once).
    Raises InvalidInput (refused URL, unknown type) or Conflict (same URL and events)."""
    events = _checked_events(workspace, events)
    subscription = WebhookSubscription(workspace=workspace, url=_checked_url(url), events=events,
                                       events_key=events_key(events), description=description, ordered=ordered,
                                       secret=new_secret())
    return _save_unique(subscription)


@transaction.atomic
def subscription_update(*, subscription: WebhookSubscription, url: str | None = None,
                        events: Iterable[str] | None = None, description: str | None = None,
                        ordered: bool | None = None, status: str | None = None) -> WebhookSubscription:
    """Change what is given. Enabling clears the failure record; disabling by hand cancels what is pending."""
    if url is not None:
        subscription.url = _checked_url(url)
    if events is not None:
        subscription.events = _checked_events(subscription.workspace, events)
        subscription.events_key = events_key(subscription.events)
    if description is not None:
        subscription.description = description
    if ordered is not None:
        subscription.ordered = ordered
    _save_unique(subscription)
    if status is not None and status != subscription.status:
        _set_status(subscription, status, reason="Disabled through the API.")
    return subscription


def _set_status(subscription: WebhookSubscription, status: str, *, reason: str = "",
                now: datetime | None = None) -> None:
    """Move the subscription to ``status`` (the one place that does). Caller holds a transaction."""
    if status not in _TRANSITIONS[subscription.status]:
        raise InvalidTransition(f"A subscription that is {subscription.status} cannot become {status}.")
    now = now or timezone.now()
    subscription.status = status
    if status == Status.DISABLED:
        subscription.disabled_reason, subscription.disabled_at = reason[:500], now
        subscription.deliveries.filter(status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.CANCELLED, claimed_until=None, error="The subscription was disabled.")
    else:
        subscription.disabled_reason, subscription.disabled_at = "", None
        subscription.failing_since = subscription.blocked_until = None
    subscription.save(update_fields=["status", "disabled_reason", "disabled_at", "failing_since", "blocked_until",
                                     "updated_at"])


@transaction.atomic
def subscription_disable(*, subscription_id, reason: str, notify: bool, now: datetime | None = None) -> bool:
    """Disable an active subscription (410, a day of failures); return False when it was not active. With
    ``notify`` the workspace's admins are told."""
    from webhooks.notifications import admins_notify_disabled

    subscription = (WebhookSubscription.objects.select_for_update().select_related("workspace")
                    .filter(pk=subscription_id, status=Status.ACTIVE).first())
    if subscription is None:
        return False
    _set_status(subscription, Status.DISABLED, reason=reason, now=now)
    if notify:
        admins_notify_disabled(subscription=subscription)
    return True


def failing_reason(since: datetime) -> str:
    """Why a subscription failing for a day was disabled (the subscription's `disabled_reason`)."""
    hours = round(FAILING_LIMIT.total_seconds() / 3600)
    return f"Every attempt failed for {hours} hours (since {since:%Y-%m-%d %H:%M} UTC)."


def subscriptions_disable_failing(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Disable the active subscriptions whose attempts have all failed for a day, telling the admins; return how
    many. An attempt's outcome does this too, but only when there is an attempt: a subscription whose last retry
    came before the day was over (the schedule's jitter) and that gets no new event would stay active, failing.
    The scheduler calls this hourly."""
    now = now or timezone.now()
    failing = list(WebhookSubscription.objects.filter(status=Status.ACTIVE, failing_since__lte=now - FAILING_LIMIT)
                   .values_list("pk", "failing_since")[:limit])
    return sum(subscription_disable(subscription_id=pk, notify=True, now=now, reason=failing_reason(since))
               for pk, since in failing)


def subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete the subscription and its delivery log (REST hooks' unsubscribe)."""
    subscription.delete()


@transaction.atomic
def subscription_rotate_secret(*, subscription: WebhookSubscription, overlap: timedelta = DEFAULT_OVERLAP,
                               now: datetime | None = None) -> WebhookSubscription:
    """Give the subscription a new secret; the current one keeps signing beside it for ``overlap`` (0: stops
    now). A secret still in an earlier overlap stops at once (two at most sign). The new one is on the returned
    object: show it this once."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidInput("The overlap must be between 0 and 168 hours.",
                           details={"overlap_hours": "Must be between 0 and 168."})
    now = now or timezone.now()
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.previous_secret = subscription.secret if overlap else ""
    subscription.previous_secret_expires_at = now + overlap if overlap else None
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return subscription


def secrets_in_use(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    return signing_secrets(secret=subscription.secret, previous_secret=subscription.previous_secret,
                           previous_expires_at=subscription.previous_secret_expires_at, now=now)


def signing_secrets(*, secret: str, previous_secret: str, previous_expires_at: datetime | None,
                    now: datetime) -> list[str]:
    """`secrets_in_use` from a subscription's columns (a batch read with SQL makes no model instances)."""
    found = [secret]
    if previous_secret and (previous_expires_at or now) > now:
        found.append(previous_secret)
    return found


def _restart(deliveries, now: datetime) -> int:
    return deliveries.exclude(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.PENDING, round_attempts=0, next_attempt_at=now, claimed_until=None)


def delivery_replay(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery again (a new round of attempts, the same webhook-id and body). One that is still pending
    is due now instead of at its next retry. The subscription must be active."""
    now = now or timezone.now()
    _require_active(delivery.subscription)
    with transaction.atomic():
        if not _restart(WebhookDelivery.objects.filter(pk=delivery.pk), now):
            WebhookDelivery.objects.filter(pk=delivery.pk, claimed_until__isnull=True).update(next_attempt_at=now)
    delivery.refresh_from_db()
    return delivery


def deliveries_replay_since(*, subscription: WebhookSubscription, since: datetime,
                            now: datetime | None = None) -> int:
    """Send again every delivery of the subscription created at or after ``since`` that is no longer pending
    (succeeded, failed, cancelled); return how many."""
    now = now or timezone.now()
    _require_active(subscription)
    with transaction.atomic():
        return _restart(subscription.deliveries.filter(created_at__gte=since), now)


def _require_active(subscription: WebhookSubscription) -> None:
    if subscription.status != Status.ACTIVE:
        raise InvalidTransition("The subscription is disabled: enable it first (PATCH with {\"status\": "
                                "\"active\"}), then replay.", code="subscription_disabled")


def deliveries_prune(*, older_than: timedelta, limit: int = 10_000, now: datetime | None = None) -> int:
    """Delete up to ``limit`` finished deliveries (not pending) made more than ``older_than`` ago; return how many.
    The scheduler calls this hourly with the events' retention, so the log keeps what the event log keeps."""
    cutoff = (now or timezone.now()) - older_than
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM webhooks_webhookdelivery WHERE id IN (SELECT id FROM webhooks_webhookdelivery "
                       "WHERE created_at < %s AND status <> 'pending' LIMIT %s)", [cutoff, limit])
        return cursor.rowcount
