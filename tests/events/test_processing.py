from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from events import processing
from events.gateway import EventRecord
from events.models import Event
from events.services import NewEvent, event_emit, events_emit
from tests.factories import ContactFactory
from tests.plans import executed_plans, plan_of
from workflows.models import Step, Workflow, WorkflowVersion


def published_workflow(workspace, *, event="order.completed", filter=None, status=Workflow.Status.ACTIVE,
                       node_id="t1"):
    workflow = Workflow.objects.create(workspace=workspace, name=f"On {event}", status=status, published_version=1)
    version = WorkflowVersion.objects.create(workflow=workflow, number=1)
    config = {"event": event, **({"filter": filter} if filter is not None else {})}
    Step.objects.create(version=version, node_id=node_id, type="trigger_event", config=config)
    draft = WorkflowVersion.objects.create(workflow=workflow, number=None)
    Step.objects.create(version=draft, node_id="draft-trigger", type="trigger_event", config={"event": event})
    return workflow, version


def record(event: Event) -> EventRecord:
    return EventRecord(id=event.id, workspace_id=event.workspace_id, contact_id=event.contact_id, type=event.type,
                       occurred_at=event.occurred_at, properties=event.properties, flags=event.flags)


def emit(workspace, contact, type_="order.completed", **extra):
    return event_emit(workspace=workspace, type=type_, contact_id=contact.id, **extra)


class Queue:
    """Stands in for RQ: records the batches the dispatcher enqueues."""

    def __init__(self):
        self.batches = []

    def __call__(self, event_ids, first, last):
        self.batches.append((event_ids, first, last))

    def run_all(self):
        for event_ids, first, last in self.batches:
            processing.events_process(event_ids=event_ids, first=first, last=last)


# --- dispatch and processing -----------------------------------------------------------------------------------


def test_dispatch_claims_in_batches_and_jobs_hand_each_event_once(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    _, version = published_workflow(workspace)
    stored = events_emit(workspace=workspace, events=[
        NewEvent(type="order.completed", contact_id=contact.id) for _ in range(7)
    ])
    queue = Queue()
    assert processing.events_dispatch(batch_size=3, enqueue=queue) == 7
    assert [len(ids) for ids, _, _ in queue.batches] == [3, 3, 1]
    assert processing.events_dispatch(batch_size=3, enqueue=queue) == 0  # all leased
    queue.run_all()
    assert sorted(gateway.event_ids()) == sorted(e.id for e in stored)
    assert len(gateway.matches()) == 7
    assert {version_id for version_id, _ in gateway.matches()} == {version.id}
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    assert not Event.objects.filter(claimed_until__isnull=False).exists()


def test_a_job_run_twice_hands_nothing_twice(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    events = [emit(workspace, contact) for _ in range(3)]
    queue = Queue()
    processing.events_dispatch(enqueue=queue)
    queue.run_all()
    queue.run_all()
    assert processing.events_process(event_ids=[e.id for e in events]) == 0
    assert sorted(gateway.event_ids()) == sorted(e.id for e in events)


def test_dispatch_enqueues_rq_jobs_on_the_events_queue(workspace, gateway, redis_db,
                                                       django_capture_on_commit_callbacks):
    import django_rq

    contact = ContactFactory(workspace=workspace)
    events = [emit(workspace, contact) for _ in range(2)]
    queue = django_rq.get_queue("events")
    with django_capture_on_commit_callbacks(execute=True):  # django-rq enqueues when the transaction commits
        assert processing.events_dispatch() == 2
    (job,) = queue.jobs
    assert job.func_name == "events.jobs.process_batch"
    assert job.args[0] == sorted(e.id for e in events)
    job.perform()
    assert sorted(gateway.event_ids()) == sorted(e.id for e in events)


def test_a_failing_gateway_leaves_the_event_unprocessed_with_its_failure_counted(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    event = emit(workspace, contact)
    gateway.fail_next = True
    assert processing.events_process(event_ids=[event.id]) == 0
    stored = Event.objects.get(pk=event.pk)
    assert (stored.processed_at, stored.attempts, stored.parked_at) == (None, 1, None)
    assert stored.last_error == "RuntimeError: the engine failed"
    assert processing.events_process(event_ids=[event.id]) == 1


def test_after_redis_flush_unprocessed_events_are_claimed_again_once_the_lease_expires(
    workspace, gateway, redis_db, django_capture_on_commit_callbacks
):
    import django_rq

    contact = ContactFactory(workspace=workspace)
    events = [emit(workspace, contact) for _ in range(4)]
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert processing.events_dispatch(now=start) == 4
    assert django_rq.get_queue("events").count == 1
    redis_db.flushdb()  # FLUSH of this test run's Redis database only: the enqueued jobs are gone
    assert django_rq.get_queue("events").count == 0
    assert processing.events_dispatch(now=start + timedelta(seconds=5)) == 0  # still leased
    queue = Queue()
    later = start + processing.LEASE + timedelta(seconds=1)
    assert processing.events_dispatch(now=later, enqueue=queue) == 4
    queue.run_all()
    assert sorted(gateway.event_ids()) == sorted(e.id for e in events)


def test_failed_enqueue_keeps_the_claim_until_the_lease_expires(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    emit(workspace, contact)

    def broken(*args):
        raise ConnectionError("redis is down")

    start = timezone.now()
    assert processing.events_dispatch(now=start, enqueue=broken) == 0
    queue = Queue()
    assert processing.events_dispatch(now=start + processing.LEASE + timedelta(seconds=1), enqueue=queue) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claimers_never_get_the_same_event(workspace, gateway):
    contact = ContactFactory(workspace=workspace)
    events_emit(workspace=workspace, events=[NewEvent(type="order.completed", contact_id=contact.id)
                                             for _ in range(400)])
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]

    def claimer(slot):
        try:
            barrier.wait()
            while True:
                batch = processing.events_claim(batch_size=7)
                if not batch:
                    return
                claimed[slot].extend(event_id for event_id, _ in batch)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [event_id for ids in claimed for event_id in ids]
    assert len(everything) == 400
    assert len(set(everything)) == 400


@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_for_the_same_events_hand_each_once(workspace, gateway):
    contact = ContactFactory(workspace=workspace)
    stored = events_emit(workspace=workspace, events=[NewEvent(type="order.completed", contact_id=contact.id)
                                                      for _ in range(200)])
    ids = [e.id for e in stored]
    barrier = threading.Barrier(3)

    def job():
        try:
            barrier.wait()
            processing.events_process(event_ids=ids)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(gateway.event_ids()) == sorted(ids)


def test_process_pending_runs_without_rq(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    events = [emit(workspace, contact) for _ in range(5)]
    assert processing.events_process_pending(batch_size=2) == 5
    assert sorted(gateway.event_ids()) == sorted(e.id for e in events)


# --- replay ------------------------------------------------------------------------------------------------------


def test_replay_hands_each_event_once_per_replay(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    published_workflow(workspace)
    now = timezone.now()
    inside = [emit(workspace, contact, occurred_at=now - timedelta(hours=h)) for h in (1, 2, 3)]
    emit(workspace, contact, occurred_at=now - timedelta(days=3))
    emit(workspace, contact, "page.viewed", occurred_at=now - timedelta(hours=1))
    processing.events_process_pending()
    gateway.calls.clear()
    since, until = now - timedelta(days=1), now
    first = processing.events_replay(since=since, until=until, type="order.completed", batch_size=2)
    assert (first.events, first.matches, first.batches) == (3, 3, 2)
    assert sorted(gateway.event_ids()) == sorted(e.id for e in inside)
    processing.events_replay(since=since, until=until, type="order.completed")
    assert sorted(gateway.event_ids()) == sorted([e.id for e in inside] * 2)


def test_replay_marks_unprocessed_events_so_the_dispatcher_does_not_hand_them_again(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    event = emit(workspace, contact)
    processing.events_replay(since=timezone.now() - timedelta(hours=1), until=timezone.now() + timedelta(hours=1))
    assert processing.events_process_pending() == 0
    assert gateway.event_ids() == [event.id]


def test_replay_dry_run_writes_nothing(workspace, gateway, redis_db):
    contact = ContactFactory(workspace=workspace)
    published_workflow(workspace)
    emit(workspace, contact)
    result = processing.events_replay(since=timezone.now() - timedelta(hours=1),
                                      until=timezone.now() + timedelta(hours=1), dry_run=True)
    assert (result.events, result.matches) == (1, 1)
    assert gateway.calls == []
    assert Event.objects.filter(processed_at__isnull=True).count() == 1


def test_replay_command_prints_counts_and_dry_run_changes_nothing(workspace, gateway, redis_db, capsys):
    contact = ContactFactory(workspace=workspace)
    emit(workspace, contact)
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    until = (timezone.now() + timedelta(hours=1)).isoformat()
    call_command("replay_events", "--since", since, "--until", until, "--dry-run")
    assert "would replay 1 events" in capsys.readouterr().out
    assert Event.objects.filter(processed_at__isnull=True).count() == 1
    assert gateway.calls == []
    call_command("replay_events", "--since", since, "--until", until, "--type", "order.completed",
                 "--workspace", workspace.slug)
    assert "replayed 1 events" in capsys.readouterr().out
    assert len(gateway.event_ids()) == 1


def test_replay_command_refuses_zone_less_timestamps(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="zone"):
        call_command("replay_events", "--since", "2026-11-01T00:00:00", "--until", "2026-11-02T00:00:00Z")


def test_the_claim_walks_the_unprocessed_indexes_in_id_order_and_stops_at_its_limit(workspace, redis_db):
    """As the soak leaves the table: unanalyzed, its unprocessed index full of entries of events processed since."""
    contact = ContactFactory(workspace=workspace)
    emit(workspace, contact)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO events_event (workspace_id, contact_id, type, occurred_at, received_at, properties, "
                       "source, client_id, flags, attempts) SELECT workspace_id, contact_id, type, occurred_at, "
                       "received_at, properties, source, client_id || g, flags, 0 FROM events_event, "
                       "generate_series(1, 3000) g")
        cursor.execute("UPDATE events_event SET processed_at = now() WHERE id IN "
                       "(SELECT id FROM events_event ORDER BY id LIMIT 1500)")
        cursor.execute("SELECT id FROM events_event WHERE processed_at IS NULL ORDER BY id LIMIT 10")
        oldest = [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        # Whatever the planner's costs: these make it prefer a bitmap scan (as it did in the soak, on partitions
        # bigger than a test's) or a sequential one, and a sort.
        cursor.execute("SET LOCAL random_page_cost = 40")
    with executed_plans() as plans:
        claimed = processing.events_claim(batch_size=10)
    plan = plan_of(plans, "WITH claimable AS")
    with connection.cursor() as cursor:  # each partition's copy of events_event_unprocessed
        cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits "
                       "WHERE inhparent = 'events_event_unprocessed'::regclass")
        unprocessed = {row[0] for row in cursor.fetchall()}
    claim = plan.split("CTE claimable", 1)[1].split("Nested Loop", 1)[0]  # the claim, not the UPDATE's join
    scanned = {line.split(" using ")[1].split()[0] for line in claim.splitlines() if "Index Scan using" in line}
    assert scanned and scanned <= unprocessed, plan
    assert "Bitmap" not in claim and "Sort" not in claim.replace("Sort Key", ""), plan
    assert [event_id for event_id, _ in claimed] == oldest


def test_dispatcher_keeps_at_most_max_queued_batches_waiting(monkeypatch):
    queued = [0]
    claims: list[int] = []
    polls = iter(range(6))

    def dispatch(*, batch_size, max_batches):
        claims.append(batch_size)
        queued[0] += 1
        return 3  # some work found, not a full batch

    monkeypatch.setattr(processing, "_queued_batches", lambda: queued[0])
    monkeypatch.setattr(processing, "events_dispatch", dispatch)
    monkeypatch.setattr(processing.time, "sleep", lambda seconds: None)
    processing.events_dispatch_forever(batch_size=10, max_queued=2, should_stop=lambda: next(polls, None) is None)
    assert claims == [10, 10]  # then the queue is full: events stay in PostgreSQL until workers catch up


def _run_scheduler_until(condition, *args: str, timeout: float = 20.0) -> None:
    """Run `manage.py run_scheduler` in this process until `condition()` holds (or `timeout`), then SIGTERM it."""
    import os
    import signal
    import time

    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    def stop_when_done():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not condition():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    watcher = threading.Thread(target=stop_when_done)
    watcher.start()
    try:
        call_command("run_scheduler", "--interval", "0.05", *args)
    finally:
        watcher.join()
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_dispatches_events_from_a_thread_of_its_own(workspace, gateway, redis_db):
    import django_rq

    event = emit(workspace, ContactFactory(workspace=workspace))
    queue = django_rq.get_queue("events")

    _run_scheduler_until(lambda: queue.count > 0)

    (job,) = queue.jobs
    assert job.args[0] == [event.id]
    assert Event.objects.get(pk=event.pk).claimed_until is not None


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_leaves_events_alone_with_no_events(workspace, redis_db):
    import time

    import django_rq

    event = emit(workspace, ContactFactory(workspace=workspace))
    started = time.monotonic()

    _run_scheduler_until(lambda: time.monotonic() - started > 1.0, "--no-events")

    assert django_rq.get_queue("events").count == 0
    assert Event.objects.get(pk=event.pk).claimed_until is None
