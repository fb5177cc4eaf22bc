"""A poison event never blocks the queue: it is retried with backoff, then parked, visible and replayable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events import processing
from events.models import Event
from tests.events.test_processing import Queue, emit
from tests.factories import ContactFactory


class PoisonGateway:
    """Fails on any batch that holds an event whose properties say so; records what it was handed."""

    handed: list[int] = []

    def process(self, *, events, now) -> None:
        if any(event.properties.get("poison") for event in events):
            raise ValueError("this event cannot be processed")
        PoisonGateway.handed += [event.id for event in events]

    def count_entries(self, *, events, now) -> int:
        return 0

    def unreacted(self, *, workspace_id, events) -> list[bool]:
        return [False] * len(events)


@pytest.fixture
def poison_gateway(settings):
    settings.ENGINE_GATEWAY = "tests.events.test_poison.PoisonGateway"
    PoisonGateway.handed = []
    yield PoisonGateway
    PoisonGateway.handed = []


def _run_due(now) -> int:
    queue = Queue()
    handed = processing.events_dispatch(now=now, enqueue=queue)
    for event_ids, first, last in queue.batches:
        processing.events_process(event_ids=event_ids, first=first, last=last, now=now)
    return handed


def test_a_poison_event_fails_alone_and_everything_behind_it_is_processed(workspace, poison_gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    good_before = emit(workspace, contact)
    poison = emit(workspace, contact, properties={"poison": True})
    good_after = [emit(workspace, contact) for _ in range(3)]
    _run_due(timezone.now())
    assert sorted(poison_gateway.handed) == sorted([good_before.id, *(event.id for event in good_after)])
    stored = Event.objects.get(pk=poison.pk)
    assert stored.processed_at is None and stored.attempts == 1 and stored.parked_at is None
    assert stored.last_error == "ValueError: this event cannot be processed"


def test_a_poison_event_is_retried_with_growing_backoff_then_parked(workspace, poison_gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    poison = emit(workspace, contact, properties={"poison": True})
    now = timezone.now()
    waits = []
    for attempt in range(1, processing.MAX_ATTEMPTS + 1):
        assert _run_due(now) == 1, f"attempt {attempt} was not claimed"
        stored = Event.objects.get(pk=poison.pk)
        assert stored.attempts == attempt
        if attempt < processing.MAX_ATTEMPTS:
            assert _run_due(now) == 0, "claimed again before its backoff ran out"
            waits.append((stored.claimed_until - now).total_seconds())
            now = stored.claimed_until + timedelta(seconds=1)
    assert waits == [10, 20, 40, 80]
    stored = Event.objects.get(pk=poison.pk)
    assert stored.parked_at is not None and stored.processed_at is not None and stored.claimed_until is None
    assert _run_due(now + timedelta(days=1)) == 0, "a parked event is never claimed again by itself"


def test_an_event_no_reader_can_load_is_parked_by_the_claim_and_the_queue_moves_on(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    poison = emit(workspace, contact)
    # As stored by versions that accepted "0001-01-01T00:00:00+14:00": a timestamp before year 1 in UTC.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET occurred_at = '0001-12-31 10:00:00+00 BC' WHERE id = %s", [poison.id])
    good = [emit(workspace, contact) for _ in range(3)]
    queue = Queue()
    assert processing.events_dispatch(enqueue=queue) == 3
    queue.run_all()
    assert sorted(gateway.event_ids()) == sorted(event.id for event in good)
    with connection.cursor() as cursor:
        cursor.execute("SELECT parked_at IS NOT NULL, last_error FROM events_event WHERE id = %s", [poison.id])
        parked, error = cursor.fetchone()
    assert parked and "outside years 1-9999" in error


def test_an_event_whose_properties_no_reader_can_load_is_isolated(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    good_before = emit(workspace, contact)
    poison = emit(workspace, contact)
    with connection.cursor() as cursor:  # as stored before ingestion refused integers of 5,000 digits
        cursor.execute("UPDATE events_event SET properties = jsonb_build_object('n', (repeat('9', 5000))::numeric) "
                       "WHERE id = %s", [poison.id])
    good_after = emit(workspace, contact)
    queue = Queue()
    processing.events_dispatch(enqueue=queue)
    queue.run_all()
    assert sorted(gateway.event_ids()) == sorted([good_before.id, good_after.id])
    assert Event.objects.filter(pk=poison.pk).values_list("attempts", flat=True).get() == 1


def test_parked_events_are_listed_and_replayed_through_the_api(workspace, other_workspace, poison_gateway, redis_db,
                                                               api):
    contact = ContactFactory(workspace=workspace)
    poison = emit(workspace, contact, properties={"poison": True})
    stranger = emit(other_workspace, ContactFactory(workspace=other_workspace), properties={"poison": True})
    Event.objects.filter(pk__in=[poison.pk, stranger.pk]).update(attempts=processing.MAX_ATTEMPTS - 1)
    _run_due(timezone.now())

    listed = api.get("/api/v1/events/parked")
    assert listed.status_code == 200
    assert [(row["id"], row["attempts"]) for row in listed.json()["results"]] == [(poison.id, processing.MAX_ATTEMPTS)]
    assert listed.json()["results"][0]["error"] == "ValueError: this event cannot be processed"

    refused = api.post("/api/v1/events/parked/replay", {}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"]
    replayed = api.post("/api/v1/events/parked/replay", {"ids": [poison.id, stranger.id]}, format="json")
    assert replayed.json() == {"replayed": 1}, "another workspace's parked event is not ours to replay"
    stored = Event.objects.get(pk=poison.pk)
    assert (stored.parked_at, stored.processed_at, stored.attempts) == (None, None, 0)
    assert Event.objects.get(pk=stranger.pk).parked_at is not None
    assert api.get("/api/v1/events/parked").json()["results"] == []


def test_a_bad_page_size_for_parked_events_is_a_400(api):
    for limit in ("abc", "0", "-1", "501"):
        answer = api.get(f"/api/v1/events/parked?limit={limit}")
        assert answer.status_code == 400, limit
        assert set(answer.json()["error"]) == {"code", "message", "details"}
