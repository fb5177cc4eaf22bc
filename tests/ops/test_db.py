"""penguinflow.common.db: the prepared cursor of the hot paths."""

from __future__ import annotations

import pytest
from django.db import ProgrammingError

from penguinflow.common.db import prepared_cursor

pytestmark = pytest.mark.django_db


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


def test_prepared_cursor_errors_are_djangos():
    with pytest.raises(ProgrammingError), prepared_cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM templates_outboxmessage", prepare=True)
