"""Set-based writes for hot paths: one statement for many rows, without the ORM's per-row expression work.

Django's `bulk_update` builds a CASE expression per row and field (milliseconds per row in Python), and a big
multi-row VALUES list costs the driver time to parse its thousands of placeholders. `bulk_update_rows` sends one
statement with one array parameter per column (`unnest`), with values prepared by the model fields themselves;
`prepared_cursor` lets a statement run thousands of times be planned once per connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models


def _column_values(field: models.Field, objs: Sequence[models.Model]) -> list:
    values = [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs]
    if isinstance(field, ArrayField):
        # unnest() would flatten an array of arrays: ship each row's array as JSON and rebuild it (see _cast).
        return [None if value is None else json.dumps(list(value)) for value in values]
    return values


def _array_type(field: models.Field) -> str:
    if isinstance(field, ArrayField):
        return "jsonb[]"
    return f"{field.db_type(connection)}[]"


def _cast(field: models.Field, expression: str) -> str:
    if isinstance(field, ArrayField):
        return (f"CASE WHEN {expression} IS NULL THEN NULL ELSE "
                f"ARRAY(SELECT jsonb_array_elements_text({expression}))::{field.db_type(connection)} END")
    return expression


def _execute_binary(cursor, sql: str, params: list) -> None:
    # Binary parameters (%b): text-format arrays are escaped element by element in Python, which dominated.
    cursor.execute(sql.replace("%s::", "%b::"), params)


def bulk_update_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write `fields` of `objs` (one model, saved rows) in one UPDATE; return the number of rows updated."""
    if not objs:
        return 0
    model = type(objs[0])
    pk = model._meta.pk
    columns = [model._meta.get_field(name) for name in fields]
    names = [f"c{i}" for i in range(len(columns))]
    params = [[pk.get_db_prep_value(obj.pk, connection) for obj in objs]]
    params += [_column_values(field, objs) for field in columns]
    arrays = ", ".join(f"%s::{t}" for t in [f"{pk.db_type(connection)}[]", *map(_array_type, columns)])
    assignments = ", ".join(f'"{field.column}" = {_cast(field, "v." + name)}' for field, name in zip(columns, names,
                                                                                                    strict=True))
    sql = (
        f'UPDATE "{model._meta.db_table}" AS t SET {assignments} '
        f"FROM unnest({arrays}) AS v(pk, {', '.join(names)}) "
        f'WHERE t."{pk.column}" = v.pk'
    )
    with connection.cursor() as cursor:
        _execute_binary(cursor, sql, params)
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
