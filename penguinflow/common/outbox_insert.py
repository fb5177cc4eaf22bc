"""The INSERT an outbox send runs (SMS, push), written out because it is its cost: rows as one JSON document,
read with the table's own row type, skipping rows whose unique key exists, in one prepared statement for one row
or a batch's hundreds. The model is a parameter (this package imports no app); enrollment starts use it too.

The caller decides what to write; this writes it, and nothing here commits or enqueues anything.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from django.db import connection

from penguinflow.common.db import prepared_cursor

_encode = msgspec.json.Encoder().encode


def insert_new(
    model, rows: list, *, unique: tuple[str, ...], any_constraint: bool = False
) -> set[tuple[Any, ...]]:
    """INSERT `rows` (instances of `model`) unless a row with their values of the `unique` columns exists;
    return those values of the rows written. With `any_constraint`, a row that any unique constraint refuses is
    left out (as `bulk_create(ignore_conflicts=True)`), and `unique` only names what is returned.

    ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key and then does nothing: no savepoint
    and no error to recover from.
    """
    sql, fields, timestamps = _statement(model, unique, any_constraint)
    documents = []
    for row in rows:
        for field in timestamps:
            field.pre_save(row, add=True)
        documents.append({field.column: getattr(row, field.attname) for field in fields})
    with prepared_cursor() as cursor:
        cursor.execute(sql, [_encode(documents).decode()], prepare=True)
        written = set(cursor.fetchall())
    for row in rows:
        if tuple(getattr(row, column) for column in unique) in written:
            row._state.adding, row._state.db = False, "default"
    return written


@functools.cache
def _statement(model, unique: tuple[str, ...], any_constraint: bool) -> tuple[str, list, list]:
    fields = list(model._meta.local_concrete_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    timestamps = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    table = model._meta.db_table
    key = ", ".join(quote(column) for column in unique)
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s::json) "
        f"ON CONFLICT {'' if any_constraint else f'({key}) '}DO NOTHING RETURNING {key}"
    )
    return sql, fields, timestamps
