"""penguinflow.common.db: the prepared cursor of the hot paths; a write carried across a dropped connection; the
set-based update (one array per column, in binary). And the set-based insert of penguinflow.common.outbox_insert as
enrollment starts use it: any unique constraint may refuse a row."""

from __future__ import annotations

import uuid

import pytest
from django.db import OperationalError, ProgrammingError

from penguinflow.common.db import (
    bulk_update_rows,
    prepared_cursor,
    retried_on_a_new_connection,
)
from penguinflow.common.outbox_insert import insert_new
from tests.chaos import backend_pid, backend_terminate


@pytest.mark.django_db
def test_prepared_cursor_runs_prepared_statements_in_djangos_transaction():
    from django.db import connection, transaction

    with transaction.atomic():
        connection.cursor().execute("CREATE TEMP TABLE probe (n int) ON COMMIT DROP")
        with prepared_cursor() as cursor:
            for n in range(3):
                cursor.execute("INSERT INTO probe VALUES (%s)", [n], prepare=True)
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO probe%%'")
            assert cursor.fetchone() == (1,)  # prepared once, executed three times
        with connection.cursor() as django_cursor:
            django_cursor.execute("SELECT count(*) FROM probe")
            assert django_cursor.fetchone() == (3,)  # same connection, same transaction


@pytest.mark.django_db
def test_prepared_cursor_errors_are_djangos():
    with pytest.raises(ProgrammingError), prepared_cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM templates_outboxmessage", prepare=True)


@pytest.mark.django_db(transaction=True)
def test_a_write_whose_connection_postgres_dropped_runs_again_on_a_new_one():
    first = backend_pid()
    backend_terminate(first)
    runs = []

    def write() -> int:
        runs.append(1)
        return backend_pid()

    assert retried_on_a_new_connection(write, pause=0.01) != first
    assert len(runs) == 2  # the dropped connection's attempt failed; the second ran on a new connection


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_dropped_connection_is_not_written_again():
    from django.db import transaction

    runs = []

    def write() -> int:
        runs.append(1)
        return backend_pid()

    with pytest.raises(OperationalError), transaction.atomic():
        backend_terminate(backend_pid())
        retried_on_a_new_connection(write, pause=0.01)  # the transaction's earlier work is gone: not hidden
    assert len(runs) == 1


def _enrollment(workflow, contact, **fields):
    from django.utils import timezone

    from workflows.models import Enrollment

    fields = {"next_run_at": timezone.now(), **fields}
    return Enrollment(workspace_id=workflow.workspace_id, workflow=workflow, version=workflow.versions.get(number=1),
                      contact=contact, status="active", current_node_id="t", entered_at=timezone.now(),
                      entry_key=str(uuid.uuid4()), **fields)


@pytest.fixture
def published(workspace):
    from tests.engine.graphs import chain, node
    from tests.workflows.builders import publish

    return publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))


@pytest.mark.django_db
def test_insert_new_writes_what_the_orm_would_and_leaves_out_what_any_constraint_refuses(workspace, published):
    from tests.factories import ContactFactory
    from workflows.models import Enrollment

    first, second, third = (ContactFactory(workspace=workspace) for _ in range(3))
    live = _enrollment(published, first)
    live.save()
    rows = [_enrollment(published, first),  # a second live enrollment of the same contact: refused, not an error
            _enrollment(published, second, context={"vars": {"n": 1}, "none": None}, step_count=3),
            _enrollment(published, third, error=None, next_run_at=None)]
    inserted = insert_new(Enrollment, rows, unique=("id",), any_constraint=True)
    assert inserted == {(rows[1].pk,), (rows[2].pk,)}
    assert not Enrollment.objects.filter(pk=rows[0].pk).exists()
    stored = Enrollment.objects.get(pk=rows[1].pk)
    assert (stored.context, stored.step_count, stored.crashes) == ({"vars": {"n": 1}, "none": None}, 3, 0)
    assert stored.created_at is not None and stored.updated_at is not None  # auto_now(_add), as bulk_create
    assert Enrollment.objects.filter(pk=rows[2].pk, error__isnull=True, next_run_at__isnull=True).exists()
    assert insert_new(Enrollment, [], unique=("id",), any_constraint=True) == set()


@pytest.mark.django_db
def test_bulk_writes_refuse_a_value_too_long_for_its_column_instead_of_cutting_it(workspace, published):
    from django.db import DataError, transaction

    from tests.factories import ContactFactory
    from workflows.models import Enrollment

    contact = ContactFactory(workspace=workspace)
    with pytest.raises(DataError), transaction.atomic():
        insert_new(Enrollment, [_enrollment(published, contact, goal="g" * 201)], unique=("id",),  # max_length 200
                   any_constraint=True)
    row = _enrollment(published, contact)
    row.save()
    row.goal = "g" * 201
    with pytest.raises(DataError), transaction.atomic():
        bulk_update_rows([row], ["goal"])
    row.goal, row.context = "reached", {"at": "end"}
    assert bulk_update_rows([row], ["goal", "context"]) == 1
    row.refresh_from_db()
    assert (row.goal, row.context) == ("reached", {"at": "end"})
