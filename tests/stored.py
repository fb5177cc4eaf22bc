"""Reading what a row holds in PostgreSQL itself, below the model: for tests that prove a secret is stored
encrypted (the model field would hand back what the code made of it, not what lies on disk)."""

from __future__ import annotations

from django.db import connection


def raw_column(table: str, column: str, row_id: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [row_id])  # names are the tests' own
        return bytes(cursor.fetchone()[0])
