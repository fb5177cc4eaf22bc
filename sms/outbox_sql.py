"""The INSERT every SMS send runs (`penguinflow.common.outbox_insert`): one prepared statement for one row or a
batch's hundred, skipping keys that exist. `sms.outbox` decides what to write; nothing here commits or enqueues.
"""

from __future__ import annotations

from typing import Any

from penguinflow.common.outbox_insert import insert_new as _insert_new
from sms.models import SmsMessage


def insert_new(rows: list[SmsMessage]) -> set[tuple[Any, str]]:
    """INSERT `rows` unless their (workspace, key) exists; return the (workspace id, key) of the rows written."""
    return _insert_new(SmsMessage, rows, unique=("workspace_id", "key"))
