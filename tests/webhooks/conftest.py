"""Fixtures of the webhook subscription tests: a real receiver on 127.0.0.1 (allowed by OUTBOUND_ALLOWED_NETWORKS,
as a development setup allows it), and the pipeline run for real: event processing (the runtime's gateway fans
out), the dispatcher's claim, the `webhooks` RQ queue worked by a real SimpleWorker in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import django_rq
import pytest
from rq import SimpleWorker

from events.processing import events_process_pending
from tests.factories import MembershipFactory, UserFactory
from tests.webhook_receiver import receiver_server
from webhooks.dispatch import QUEUE, deliveries_dispatch
from webhooks.models import WebhookDelivery, WebhookSubscription


@pytest.fixture
def allow_loopback(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def receiver(allow_loopback):
    with receiver_server() as receiver:
        yield receiver


@pytest.fixture
def second_receiver(allow_loopback):
    with receiver_server() as receiver:
        yield receiver


@pytest.fixture
def admin_user(workspace):
    user = UserFactory(email="boss@acme.test")
    MembershipFactory(user=user, workspace=workspace, role="admin")
    return user


def subscribe(api, url: str, events: list[str], **extra) -> dict:
    response = api.post("/api/v1/webhooks", {"url": url, "events": events, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def ingest(api, *events: dict) -> None:
    response = api.post("/api/v1/events", {"events": list(events)}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == len(events)


def work_queue() -> None:
    queue = django_rq.get_queue(QUEUE)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def pump(now: datetime | None = None) -> int:
    """Process stored events (fan-out included), claim due deliveries, and work the queue once."""
    events_process_pending()
    handed = deliveries_dispatch(now=now)
    work_queue()
    return handed


def wait_until(condition: Callable[[], object], *, timeout: float = 60, what: str = "the condition") -> object:
    """Poll ``condition`` until it is truthy (generous deadline: the machine is busy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"Timed out waiting for {what}")


def settled(subscription_id) -> bool:
    """Whether no delivery of the subscription is being attempted."""
    return not WebhookDelivery.objects.filter(subscription_id=subscription_id, status="pending",
                                              claimed_until__isnull=False).exists()


def subscription(sub_id) -> WebhookSubscription:
    return WebhookSubscription.objects.get(pk=sub_id)
