"""The INSERT every SMS send runs, written out because it is its cost: rows as one JSON document, read with the
table's own row type, skipping keys that exist, in one prepared statement for one row or a batch's hundred.

`sms.outbox` decides what to write; this writes it, and nothing here commits or enqueues anything.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from django.db import connection

from penguinflow.common.db import prepared_cursor
from sms.models import SmsMessage

_encode = msgspec.json.Encoder().encode


def insert_new(rows: list[SmsMessage]) -> set[tuple[Any, str]]:
    """INSERT `rows` unless their (workspace, key) exists; return the (workspace id, key) of the rows written.

    ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key and then does nothing: no savepoint
    and no error to recover from.
    """
    sql, fields, timestamps = _statement()
    documents = []
    for row in rows:
        for field in timestamps:
            field.pre_save(row, add=True)
        documents.append({field.column: getattr(row, field.attname) for field in fields})
    with prepared_cursor() as cursor:
        cursor.execute(sql, [_encode(documents).decode()], prepare=True)
        written = set(cursor.fetchall())
    for row in rows:
        if (row.workspace_id, row.key) in written:
            row._state.adding, row._state.db = False, "default"
    return written


@functools.cache
def _statement() -> tuple[str, list, list]:
    fields = list(SmsMessage._meta.local_concrete_fields)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    timestamps = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    table = SmsMessage._meta.db_table
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s::json) "
        f'ON CONFLICT (workspace_id, "key") DO NOTHING RETURNING workspace_id, "key"'
    )
    return sql, fields, timestamps
