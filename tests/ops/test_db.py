"""penguinflow.common.db: the prepared cursor of the hot paths; a write carried across a dropped connection."""

from __future__ import annotations

import pytest
from django.db import OperationalError, ProgrammingError

from penguinflow.common.db import prepared_cursor, retried_on_a_new_connection
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
