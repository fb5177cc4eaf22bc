"""The statements every send runs, written out because they are its cost: the locking read of the contact (with
whether its address is suppressed and whether the key exists, in one prepared statement), the row built from
positional values, and the INSERTs, one row at a time or a transaction's rows in one statement.

`templates.outbox` decides what to write; this writes it, and nothing here commits or enqueues anything.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from contacts.models import Contact, Suppression, email_hash
from contacts.services import is_suppressed
from penguinflow.common.db import prepared_cursor
from penguinflow.common.outbox_insert import insert_new
from templates.models import OutboxMessage


def outbox_row(**values: Any) -> OutboxMessage:
    """A new OutboxMessage with `values` (attnames) and its fields' defaults for the rest, built from positional
    values as Django builds the rows it reads: a fifth of the cost of keyword arguments, on every send."""
    layout = _outbox_layout()
    row = OutboxMessage(*[
        values.pop(name) if name in values else (default() if callable(default) else default)
        for name, default in layout
    ])  # fmt: skip
    if values:
        raise TypeError(f"OutboxMessage has no field {', '.join(sorted(values))}")
    return row


@functools.cache
def _outbox_layout() -> list[tuple[str, Any]]:
    """(attname, default) of the outbox's concrete fields in order; a callable default is called per row."""
    return [
        (field.attname, field.default if field.has_default() and callable(field.default) else field.get_default())
        for field in OutboxMessage._meta.concrete_fields
    ]


CONTACT_COLUMNS = ("email", "first_name", "last_name", "timezone", "status", "score", "fields", "tags", "external_id")


@dataclass(frozen=True)
class LockedContact:
    """The contact as read under its row lock by `email_send`: what rendering and the skip rules read."""

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    timezone: str
    status: str
    score: int
    fields: dict
    tags: list
    external_id: str | None


def lock_contact(*, workspace, contact: Contact, key: str) -> tuple[LockedContact, bool, bool]:
    """Lock the contact row; return it fresh, whether its address is suppressed and whether `key` exists.

    One prepared statement (this is the hot path of every send). Caller holds a transaction.
    """
    digest = email_hash(contact.email)
    sql = (
        f"SELECT {', '.join('c.' + name for name in CONTACT_COLUMNS)}, "
        f"EXISTS (SELECT 1 FROM {Suppression._meta.db_table} s WHERE s.workspace_id = c.workspace_id "
        f"AND s.email_hash = %s), "
        f'EXISTS (SELECT 1 FROM {OutboxMessage._meta.db_table} o WHERE o.workspace_id = c.workspace_id AND o."key" = %s) '
        f"FROM {Contact._meta.db_table} c WHERE c.id = %s AND c.workspace_id = %s FOR NO KEY UPDATE OF c"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [digest, key, contact.pk, workspace.pk], prepare=True)
        found = cursor.fetchone()
    if found is None:
        raise Contact.DoesNotExist(f"No contact {contact.pk} in workspace {workspace.pk}.")
    values = dict(zip(CONTACT_COLUMNS, found, strict=False))
    fields = values["fields"]
    values["fields"] = json.loads(fields) if isinstance(fields, str | bytes) else (fields or {})
    values["tags"] = list(values["tags"] or [])
    fresh = LockedContact(id=contact.pk, **values)
    suppressed, exists = found[-2], found[-1]
    if fresh.email != contact.email:  # changed meanwhile: the hash we checked was the old address's
        suppressed = is_suppressed(workspace=workspace, email=fresh.email)
    return fresh, suppressed, exists


def insert_many(rows: list[OutboxMessage]) -> set[tuple[Any, str]]:
    """INSERT `rows` in one statement, as one JSON document, skipping those whose (workspace, key) exists; return
    the (workspace id, key) of the rows written (the statement the SMS and push outboxes run too)."""
    return insert_new(OutboxMessage, rows, unique=("workspace_id", "key"))


def _outbox_columns() -> tuple[list, str, list]:
    """The outbox's concrete fields, their quoted column list, and its auto_now(_add) fields."""
    fields = OutboxMessage._meta.local_concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    timestamps = [field for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)]
    return list(fields), columns, timestamps


def insert_if_new(row: OutboxMessage) -> bool:
    """INSERT the row unless its (workspace, key) exists; return whether it was inserted.

    ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key and then does nothing: no savepoint
    and no error to recover from.
    """
    sql, fields, prepared = _outbox_insert()
    values = [
        field.get_db_prep_save(field.pre_save(row, add=True), connection) if field in prepared
        else getattr(row, field.attname)
        for field in fields
    ]  # fmt: skip
    with prepared_cursor() as cursor:
        cursor.execute(sql, values, prepare=True)
        inserted = cursor.fetchone() is not None
    if inserted:
        row._state.adding, row._state.db = False, "default"
    return inserted


@functools.cache
def _outbox_insert() -> tuple[str, list, set]:
    """The INSERT of `insert_if_new`, its fields, and those whose value Django must prepare (timestamps, JSON).

    Every other field's Python value is what psycopg sends as is; skipping Django's per-field preparation for
    them halves the cost of building the statement.
    """
    fields, columns, timestamps = _outbox_columns()
    prepared = {field for field in fields if isinstance(field, models.JSONField)} | set(timestamps)
    sql = (
        f"INSERT INTO {OutboxMessage._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f'ON CONFLICT (workspace_id, "key") DO NOTHING RETURNING id'
    )
    return sql, fields, prepared
