"""The outbox sweep runs beside delivery's claims and records, on real PostgreSQL connections, without deadlocks.

Delivery locks outbox rows by id (a claim or a record of EMAIL_CLAIM_GROUP ids walks the primary key); the sweep
reads thousands of rows through the heap or the (status, next_attempt_at) index. Two UPDATEs that wait for each
other's rows while taking them in opposite orders deadlock, and PostgreSQL kills one: under load, the scheduler's
sweep failed again and again, and queued messages whose job had been lost stayed queued. Here the live rows are
laid out so that those orders are opposite (stored and due in descending id order), and each round starts the
sweep and a delivery at the same moment, from two threads with connections of their own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest
from django.db import DatabaseError, OperationalError, connection, connections, transaction
from django.utils import timezone

from templates.delivery import _PENDING_COLUMNS, _claim, _Pending, _record_sent
from templates.models import OutboxMessage
from templates.recovery import outbox_sweep
from tests.factories import ContactFactory

ROWS = 1000
ROUNDS = 12
GROUP = 20  # EMAIL_CLAIM_GROUP's default: delivery claims this many rows per statement
HISTORY = 20_000  # rows sent long ago, which make PostgreSQL plan as on a real outbox (through indexes)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def contact(workspace, email_queue):
    """A contact with HISTORY messages sent long ago (copies of one row, made by PostgreSQL: fast)."""
    contact = ContactFactory(workspace=workspace)
    first = OutboxMessage.objects.create(
        workspace=workspace, contact=contact, key="old", to_email=contact.email, status="sent"
    )
    table = OutboxMessage._meta.db_table
    columns = ", ".join(f.column for f in OutboxMessage._meta.concrete_fields if f.column not in ("id", "key"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, key, {columns}) SELECT gen_random_uuid(), 'old' || n, {columns} "
            f"FROM {table}, generate_series(1, %s) n WHERE id = %s",
            [HISTORY - 1, first.pk],
        )
    return contact


def _live_rows(contact, *, status: str) -> list[uuid.UUID]:
    """Replace the live rows with ROWS new ones in `status`, an hour overdue; return their ids in ascending order.

    They are stored in descending id order, and their next_attempt_at and claimed_at fall as the id rises: heap
    order and (status, next_attempt_at) order are both the reverse of id order.
    """
    OutboxMessage.objects.filter(key__startswith="live").delete()
    ids = sorted(uuid.uuid4() for _ in range(ROWS))
    long_ago = timezone.now() - timedelta(hours=1)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(id=pk, workspace_id=contact.workspace_id, contact=contact, key=f"live{n}",
                      to_email=contact.email, status=status, next_attempt_at=long_ago - timedelta(seconds=n),
                      claimed_at=long_ago - timedelta(seconds=n))
        for n, pk in reversed(list(enumerate(ids)))
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboxMessage._meta.db_table}")  # plan for this many live rows
    return ids


def _walk_the_primary_key() -> None:
    """Make this connection read rows through an index, as a claim of a few ids on a large outbox does.

    At this test's size PostgreSQL would otherwise read the heap for both statements, in one order.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_bitmapscan = off")


def _forget_the_planner_settings() -> None:
    """Undo `_walk_the_primary_key`: a closed connection goes back to the pool with its session's settings, and a
    later test that got it could not use a GIN index (no bitmap scans: tests/history/test_indexes.py failed)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan")
    except DatabaseError:
        pass  # a broken connection is discarded, not pooled


def _race(sweep: Callable[[], object], delivery: Callable[[], object]) -> list[BaseException]:
    """Run `sweep` and `delivery` at once, each in a thread with its own connection; return what they raised."""
    start, errors = threading.Barrier(2, timeout=60), []

    def run(work):
        try:
            start.wait()
            work()
        except BaseException as error:  # handed to the test, which shows it
            errors.append(error)
        finally:
            _forget_the_planner_settings()
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in (sweep, delivery)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
        assert not thread.is_alive(), "a thread is stuck in a lock wait"
    return errors


def _groups(ids: list, size: int) -> list[list]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _claim_groups(ids: list, claimed: list[set]) -> None:
    """Delivery's claims of `ids`, GROUP at a time, in id order."""
    _walk_the_primary_key()
    for group in _groups(ids, GROUP):
        claimed.append(_claim(group))


def _record_all(ids: list, pending: dict) -> None:
    """Delivery's record of `ids` as sent, in id order, in one transaction.

    One group for the whole lot (EMAIL_CLAIM_GROUP as large as the job): a record of a small group is over in
    a moment, and rarely still running when the sweep reaches its rows; this one always is.
    """
    _walk_the_primary_key()
    _record_sent([(pending[pk], None) for pk in ids])


def _no_deadlock(errors: list[BaseException]) -> None:
    deadlocks = [error for error in errors if isinstance(error, OperationalError) and "deadlock" in str(error)]
    assert deadlocks == [], deadlocks[0]
    assert errors == []


def test_sweep_requeueing_lost_jobs_never_deadlocks_with_claims(contact, settings):
    settings.EMAIL_DELIVERY_BATCH = ROWS  # one job for the lot: this test is about row locks, not Redis
    for _ in range(ROUNDS):
        ids = _live_rows(contact, status="queued")
        claimed: list[set] = []

        errors = _race(partial(outbox_sweep, grace_seconds=0), partial(_claim_groups, ids, claimed))

        _no_deadlock(errors)
        # The claims took every row: the sweep only moves next_attempt_at, and skips the rows a claim holds.
        assert set().union(*claimed) == set(ids)
        assert OutboxMessage.objects.filter(pk__in=ids, status="sending").count() == ROWS


def test_sweep_marking_stale_sends_unknown_never_deadlocks_with_records(contact, settings):
    settings.EMAIL_SEND_LEASE_SECONDS = 60  # every claim is an hour old: each row is stale for the sweep
    for _ in range(ROUNDS):
        ids = _live_rows(contact, status="sending")
        rows = OutboxMessage.objects.filter(pk__in=ids).values_list(*_PENDING_COLUMNS)
        pending = {values[0]: _Pending(*values) for values in rows}

        errors = _race(outbox_sweep, partial(_record_all, ids, pending))

        _no_deadlock(errors)
        # Every record stands, whether or not the sweep marked its row unknown first (a slow worker's record).
        assert OutboxMessage.objects.filter(pk__in=ids, status="sent").count() == ROWS


def test_sweep_leaves_rows_a_delivery_holds_to_the_next_sweep(contact, settings):
    settings.EMAIL_DELIVERY_BATCH = ROWS
    ids = _live_rows(contact, status="queued")
    held, released = threading.Event(), threading.Event()

    def hold_first_row():
        with transaction.atomic():
            OutboxMessage.objects.select_for_update().get(pk=ids[0])
            held.set()
            released.wait(timeout=60)
        connections.close_all()

    holder = threading.Thread(target=hold_first_row)
    holder.start()
    try:
        assert held.wait(timeout=60)
        assert outbox_sweep(grace_seconds=60).requeued == ROWS - 1  # at once: it does not wait for the held row
    finally:
        released.set()
        holder.join(timeout=60)
    assert outbox_sweep(grace_seconds=60).requeued == 1  # the held row, still an hour overdue

