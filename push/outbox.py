"""The push outbox: `push_send` stores a notification for each browser of a contact under the step's key, once
per (workspace, key), after checking push consent in the caller's transaction; its delivery is enqueued on queue
"push" once that transaction commits (`push.delivery` hands it over)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contacts import consent
from contacts.models import Contact
from penguinflow.common.errors import InvalidInput
from penguinflow.common.outbox_insert import insert_new
from push.delivery_queue import schedule_delivery
from push.models import PushMessage, PushSubscription

Status = PushMessage.Status
NO_DEVICE = uuid.UUID(int=0)  # the `device` of the one row that records a send that reached no browser


@dataclass(frozen=True)
class Notification:
    """What a push step shows, rendered for the contact."""

    title: str
    body: str = ""
    url: str = ""
    icon: str = ""
    topic: str = ""


@dataclass(frozen=True)
class PushResult:
    """What `push_send` did. outcome: "queued" (rows for `devices` browsers, delivered after commit), "exists"
    (this key was sent before: nothing new), or the reason nothing goes out ("no_consent", "unsubscribed",
    "topic_opted_out", "no_address": no browser); the last ones store one `skipped` row so a repeat says "exists".
    """

    outcome: str
    message_ids: list[str] = field(default_factory=list)
    status: str = Status.QUEUED
    reason: str = ""  # why nothing went out (a skipped send, or the repeat of one)

    @property
    def message_id(self) -> str | None:
        return self.message_ids[0] if self.message_ids else None


def push_send(
    *,
    key: str,
    workspace,
    contact: Contact,
    notification: Notification,
    node_id: str = "",
    workflow_id=None,
    held: bool = False,
    devices: list | None = None,
    batch: PushBatch | None = None,
) -> PushResult:
    """Store `notification` for each of the contact's browsers under `key`; deliver after commit.

    Exactly once per (workspace, key). Consent (`contacts.consent.reachability`) is checked here with the contact
    row locked: with `held` the caller holds that lock in its open transaction (the runtime's batches), else this
    takes it. `devices`: the ids of the contact's subscriptions, read by a caller that holds the lock (the
    runtime reads those of a whole batch in one query); None: read here. `batch` (with `held`): collect the rows
    in it instead of one INSERT per send; the caller flushes it before it commits (PushConflict: roll back).
    """
    if not key or len(key) > 255:
        raise InvalidInput("The outbox key must be 1 to 255 characters.", details={"key": "Invalid length."})
    with transaction.atomic(savepoint=False):
        if not held:
            contact = Contact.objects.select_for_update().get(pk=contact.pk)
        reach = consent.reachability(contact, "push", topic=notification.topic or None)
        if not reach.ok:
            devices = []
        elif devices is None or not held:
            devices = list(PushSubscription.objects.filter(contact_id=contact.pk).order_by("created_at")
                           .values_list("id", flat=True))  # fmt: skip
        now = timezone.now()
        common = dict(workspace_id=workspace.pk, key=key, contact_id=contact.pk, node_id=node_id or "",
                      workflow_id=workflow_id, title=notification.title, body=notification.body, url=notification.url,
                      icon=notification.icon, topic=notification.topic)  # fmt: skip
        if devices:
            rows = [PushMessage(device=device, subscription_id=device, status=Status.QUEUED, next_attempt_at=now,
                                **common) for device in devices]  # fmt: skip
        else:
            reason = reach.reason if not reach.ok else "no_address"
            rows = [PushMessage(device=NO_DEVICE, status=Status.SKIPPED, error=reason or "", **common)]
        if batch is not None and held:
            earlier = batch.get(workspace.pk, key)
            if earlier is not None:  # a repeat within the batch: what the first send answered
                return _result_of("exists", earlier)
            batch.add(rows)
            return _result_of("queued" if devices else rows[0].error, rows)
        if not insert_if_new(rows, now=now):
            return _exists(workspace, key)
    if not devices:
        return PushResult(outcome=rows[0].error, message_ids=[str(rows[0].pk)], status=Status.SKIPPED,
                          reason=rows[0].error)  # fmt: skip
    for row in rows:
        schedule_delivery(row.pk)
    return PushResult(outcome="queued", message_ids=[str(row.pk) for row in rows])


def _result_of(outcome: str, rows: list[PushMessage]) -> PushResult:
    skipped = rows[0].status == Status.SKIPPED
    return PushResult(outcome=outcome, message_ids=[str(row.pk) for row in rows], status=rows[0].status,
                      reason=rows[0].error if skipped else "")  # fmt: skip


class PushConflict(Exception):
    """`PushBatch.flush` found keys already in the outbox: what the batch answered for them was wrong, so the
    caller's transaction must roll back (and its work be done again without a batch)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"{len(keys)} push outbox keys already existed: {', '.join(keys[:5])}")
        self.keys = keys


class PushBatch:
    """The push rows of one transaction (a runtime batch), written by one INSERT at its end instead of one per
    send. What a send answers is known before its rows are written, except whether its key existed already:
    `flush` asks that for all keys at once and raises PushConflict if one did (rare: the runtime's key names the
    enrollment, node and visit, and commits with the step)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Any, str], list[PushMessage]] = {}
        self._flushed = False

    def get(self, workspace_id, key: str) -> list[PushMessage] | None:
        return self._rows.get((workspace_id, key))

    def add(self, rows: list[PushMessage]) -> None:
        if self._flushed:  # a send after the flush would never be written: the caller's bug, said loudly
            raise RuntimeError("This push batch was flushed already; a later send needs a batch of its own.")
        now = timezone.now()
        for row in rows:
            row.id, row.created_at, row.updated_at = uuid.uuid4(), now, now
        self._rows[(rows[0].workspace_id, rows[0].key)] = rows

    def flush(self) -> int:
        """INSERT the collected rows, enqueue the delivery of the queued ones after commit; return how many."""
        self._flushed = True
        groups, self._rows = self._rows, {}
        if not groups:
            return 0
        by_workspace: dict[Any, list[str]] = {}
        for workspace_id, key in groups:
            by_workspace.setdefault(workspace_id, []).append(key)
        # A key is sent once whatever its devices: a row of the key for another browser (or the `skipped` row of
        # a send that reached none) makes it a conflict too, which the INSERT's unique key alone would not see.
        existing = [key for workspace_id, keys in by_workspace.items() for key in PushMessage.objects.filter(
            workspace_id=workspace_id, key__in=keys).values_list("key", flat=True).distinct()]  # fmt: skip
        if existing:
            raise PushConflict(sorted(existing))
        rows = [row for group in groups.values() for row in group]
        # One statement (rows as one JSON document); a row whose (workspace, key, device) a concurrent
        # transaction wrote meanwhile is skipped, and its key is a conflict too.
        written = insert_new(PushMessage, rows, unique=("workspace_id", "key", "device"))
        if len(written) != len(rows):
            raise PushConflict(sorted({row.key for row in rows
                                       if (row.workspace_id, row.key, row.device) not in written}))  # fmt: skip
        for row in rows:
            if row.status == Status.QUEUED:
                schedule_delivery(row.pk)
        return len(rows)


def _exists(workspace, key: str) -> PushResult:
    """What a repeat of `key` answers: the rows of the first send (and why nothing went out, if it did not)."""
    earlier = list(
        PushMessage.objects.filter(workspace=workspace, key=key).values_list("id", "status", "error")
    )
    skipped = earlier[0][1] == Status.SKIPPED
    return PushResult(outcome="exists", message_ids=[str(pk) for pk, _, _ in earlier], status=earlier[0][1],
                      reason=earlier[0][2] if skipped else "")  # fmt: skip


# Each with its type: VALUES in a SELECT would otherwise read parameters (and NULLs) as text.
_COLUMNS = {"id": "uuid", "workspace_id": "uuid", "created_at": "timestamptz", "updated_at": "timestamptz",
            "key": "text", "device": "uuid", "contact_id": "uuid", "subscription_id": "uuid", "node_id": "text",
            "workflow_id": "uuid", "status": "text", "title": "text", "body": "text", "url": "text", "icon": "text",
            "topic": "text", "attempts": "integer", "next_attempt_at": "timestamptz", "error": "text"}  # fmt: skip
_TABLE = PushMessage._meta.db_table


def insert_if_new(rows: list[PushMessage], *, now) -> bool:
    """INSERT the rows of one send unless a row with their key exists already, in one statement; return whether
    they were written. (The key's rows are written together, under the contact's lock, so one is enough to ask.)"""
    for row in rows:
        row.id, row.created_at, row.updated_at, row.attempts = uuid.uuid4(), now, now, 0
    values = ", ".join(["(" + ", ".join(f"%s::{kind}" for kind in _COLUMNS.values()) + ")"] * len(rows))
    sql = (
        f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) SELECT * FROM (VALUES {values}) AS new ({', '.join(_COLUMNS)}) "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_TABLE} WHERE workspace_id = %s AND key = %s) RETURNING id"
    )
    params = [_value(row, column) for row in rows for column in _COLUMNS] + [
        rows[0].workspace_id,
        rows[0].key,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.fetchall()
    for row in rows:
        row._state.adding, row._state.db = False, "default"
    return bool(written)


def _value(row: PushMessage, column: str):
    value = getattr(row, column)
    return str(value) if value is not None and _COLUMNS[column] == "uuid" else value


def devices_of(contact_ids) -> dict:
    """The subscription ids of each of these contacts (in the order they were stored), in one query. Read it
    while holding the contacts' row locks: stores and removals take them too, so the answer stays current."""
    found: dict = {}
    for contact_id, device in (PushSubscription.objects.filter(contact_id__in=list(contact_ids))
                               .order_by("created_at").values_list("contact_id", "id")):  # fmt: skip
        found.setdefault(contact_id, []).append(device)
    return found
