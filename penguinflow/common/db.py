"""Set-based writes for hot paths: one statement for many rows, without the ORM's per-row expression work.

Django's `bulk_update` builds a CASE expression per row and field (milliseconds per row in Python), and a big
multi-row VALUES list costs the driver time to parse its thousands of placeholders. `bulk_update_rows` sends one
statement with one array parameter per column (`unnest`), with values prepared by the model fields themselves;
`prepared_cursor` lets a statement run thousands of times be planned once per connection.
`retried_on_a_new_connection` carries a write that must not be lost across a connection PostgreSQL dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from django.contrib.postgres.fields import ArrayField
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections, models

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The database could not be reached, or dropped the connection (or the transaction, on a deadlock): as Django
# reports it, and as psycopg does on the raw cursors a few hot paths use (COPY, `prepared_cursor`'s callers' own).
# Not the data's fault: work that meets one is tried again (leases), never counted against its rows.
CONNECTION_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def _column_values(field: models.Field, objs: Sequence[models.Model]) -> list:
    # The connection itself, not django.db's proxy to it: a field asks it for its features and operations several
    # times per value, and each question through the proxy looks the thread's connection up again (2.8 times the
    # cost of a 100-row batch's values).
    database = connections[DEFAULT_DB_ALIAS]
    values = [field.get_db_prep_save(getattr(obj, field.attname), database) for obj in objs]
    if isinstance(field, ArrayField):
        # unnest() would flatten an array of arrays: ship each row's array as JSON and rebuild it (see _cast).
        return [None if value is None else json.dumps(list(value)) for value in values]
    return values


def _array_type(field: models.Field) -> str:
    if isinstance(field, ArrayField):
        return "jsonb[]"
    if isinstance(field, models.CharField):
        # Text, not varchar(n): an explicit cast to varchar(n) cuts a value too long without a word, where the
        # assignment to the column refuses it (as the ORM's writes do).
        return "text[]"
    return f"{field.db_type(connection)}[]"


def _cast(field: models.Field, expression: str) -> str:
    if isinstance(field, ArrayField):
        return (f"CASE WHEN {expression} IS NULL THEN NULL ELSE "
                f"ARRAY(SELECT jsonb_array_elements_text({expression}))::{field.db_type(connection)} END")
    return expression


def bulk_update_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write `fields` of `objs` (one model, saved rows) in one UPDATE; return the number of rows updated."""
    if not objs:
        return 0
    model = type(objs[0])
    pk = model._meta.pk
    columns = [model._meta.get_field(name) for name in fields]
    names = [f"c{i}" for i in range(len(columns))]
    database = connections[DEFAULT_DB_ALIAS]  # not the proxy (see _column_values)
    params = [[pk.get_db_prep_value(obj.pk, database) for obj in objs]]
    params += [_column_values(field, objs) for field in columns]
    arrays = ", ".join(f"%s::{t}" for t in [f"{pk.db_type(connection)}[]", *map(_array_type, columns)])
    assignments = ", ".join(f'"{field.column}" = {_cast(field, "v." + name)}' for field, name in zip(columns, names,
                                                                                                    strict=True))
    sql = (
        f'UPDATE "{model._meta.db_table}" AS t SET {assignments} '
        f"FROM unnest({arrays}) AS v(pk, {', '.join(names)}) "
        f'WHERE t."{pk.column}" = v.pk'
    )
    # Binary parameters (%b) on a cursor that binds on the server: Django's cursors bind on the client, which turns
    # %b into %s and escapes every array element in Python (27 µs a row of a step's log, most of a batch's writes).
    with prepared_cursor() as cursor:
        cursor.execute(sql.replace("%s::", "%b::"), params)
        return cursor.rowcount


@contextmanager
def prepared_cursor() -> Iterator:
    """A psycopg cursor on Django's connection, in its current transaction, that binds parameters on the server.

    `cursor.execute(sql, params, prepare=True)` then parses and plans a statement once per connection instead of
    on every call (Django's cursors bind on the client, so PostgreSQL plans every statement afresh). For the few
    statements a hot path runs thousands of times. Errors come as django.db's, as from Django's own cursors.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def claim_by_index_walk(cursor) -> None:
    """Keep this transaction's queue claim on a plain scan of its partial index, in the index's order.

    A claim (`ORDER BY key LIMIT n FOR UPDATE SKIP LOCKED` over a partial index of the work not done) should read
    a few entries and stop. PostgreSQL picks a bitmap scan instead when the table is unanalyzed or its statistics
    are old, as a busy queue table's often are (and always, where autovacuum is off): that reads every entry the
    index holds, sorts them all, and leaves the entries of work done for the next claim to read again until a
    vacuum (`bench soak`: 44,000 such entries and 21 ms per enrollment claim, 20 claims a second). With bitmap
    scans off, the same costs make it read the whole table and sort it, so sequential scans are off too. A plain
    index scan stops at the LIMIT and marks the dead entries it meets, so the next claim skips them. Call it in the
    claim's transaction, before the claim; it lasts until the transaction ends.
    """
    cursor.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off")


def retried_on_a_new_connection(write: Callable[[], T], *, attempts: int = 6, pause: float = 0.5) -> T:
    """Run `write`, and run it again on a new connection while PostgreSQL drops the one it ran on (a terminated
    backend, a server restarting), up to `attempts` times, `pause` seconds apart and doubling (15 s in all).

    For the few writes whose loss costs more than the wait: recording what was already handed to a provider, which
    a lost record turns into an `unknown` nobody may resend blindly. `write` must be safe to run twice (its
    statements conditional on the state they change): the connection may drop after the commit, before its answer.
    Inside a transaction nothing is retried, since the transaction's earlier work is gone with the connection.
    """
    for attempt in range(attempts - 1):
        try:
            return write()
        except CONNECTION_ERRORS as error:
            if connection.in_atomic_block:
                raise
            logger.warning("Database connection lost (%s); writing again on a new one", error)
            connection.close()  # not usable any more: the next query opens a new connection
            time.sleep(pause * 2**attempt)
    return write()
