"""Write events. `event_emit` / `events_emit` are the one producer that every part of PenguinFlow calls.

Events are written inside the caller's transaction, so that an event and the change it reports commit (or roll
back) together. They start unprocessed: the dispatcher picks them up from PostgreSQL after commit. Except those
that processing would do nothing with, as the engine gateway judges when they are written (`unreacted`: no
trigger, waiting enrollment, subscription or analytics reads their type): they are written processed, and so
skip the claim and the mark (most of the runtime's own `workflow.*` and `*.sent` events).

Dedupe: an event given a `client_id` is stored only if the key `client_id` is new in its workspace (the
`EventKey` table is the guard, across all partitions and whatever the timestamp). Producers namespace their ids
(`esp:<esp>:<event id>`, ...); the ingestion API stores a client's `id` under the key `api:<id>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from django.db import connection, transaction
from django.utils import timezone

from events.gateway import PendingEvent, engine_gateway
from events.models import Event

# An event may not claim to have happened further ahead than this: it would land in the DEFAULT partition and
# then block the creation of the weekly partition that covers it.
MAX_FUTURE = timedelta(days=1)

_ID_SEQUENCE = "events_event_id_seq"
_COPY_COLUMNS = ("workspace_id", "contact_id", "type", "occurred_at", "received_at", "properties", "source",
                 "client_id", "flags", "processed_at")
_json_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class NewEvent:
    type: str
    contact_id: UUID | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    source: str = Event.Source.SYSTEM
    client_id: str | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class EventRow:
    """An event ready to be written: JSON already serialized, dedupe key decided (None: no dedupe)."""

    contact_id: UUID | None
    type: str
    occurred_at: datetime
    properties_json: str
    source: str
    client_id: str | None = None
    key: str | None = None
    flags_json: str = "{}"


def events_write(*, workspace_id: UUID, rows: Sequence[EventRow], received_at: datetime,
                 need_ids: bool = True) -> list[int | None]:
    """Write `rows` in a constant number of round trips; return each row's new id, None for a duplicate.

    A row is a duplicate when an earlier row of `rows` or an earlier event of the workspace has its key.
    Without `need_ids` and without keyed rows, ids are left to the table's default and returned as 0.
    Rows that the engine gateway says nothing reacts to are written processed (at `received_at`).
    Caller holds a transaction (the key rows and the event rows must commit together).
    """
    ids: list[int | None] = [None] * len(rows)
    keyed: dict[str, int] = {}
    unkeyed: list[int] = []
    for index, row in enumerate(rows):
        if row.key is None:
            unkeyed.append(index)
        elif row.key not in keyed:  # a repeat inside the batch: the first one wins
            keyed[row.key] = index
    with connection.cursor() as cursor:
        if keyed or need_ids:
            # One statement claims the keys (only new ones come back, each with a fresh id) and allocates the
            # ids of the unkeyed rows, so that COPY can write every row with its id.
            cursor.execute(
                f"""
                WITH new_keys AS (
                    INSERT INTO events_eventkey (workspace_id, key, event_id, created_at)
                    SELECT %s, k, nextval('{_ID_SEQUENCE}'), %s FROM unnest(%s::text[]) AS k
                    ON CONFLICT (workspace_id, key) DO NOTHING
                    RETURNING key, event_id
                )
                SELECT key, event_id FROM new_keys
                UNION ALL
                SELECT NULL, nextval('{_ID_SEQUENCE}') FROM generate_series(1, %s)
                """,
                [workspace_id, received_at, list(keyed), len(unkeyed)],
            )
            fresh = iter(unkeyed)
            for key, event_id in cursor.fetchall():
                ids[keyed[key] if key is not None else next(fresh)] = event_id
            columns = ("id", *_COPY_COLUMNS)
        else:
            for index in unkeyed:
                ids[index] = 0
            columns = _COPY_COLUMNS
        written = [(index, row) for index, row in enumerate(rows) if ids[index] is not None]
        if written:
            with_id = columns[0] == "id"
            # The gateway is handed UUIDs, as its interface says: a producer may name the workspace or a contact
            # by its text, and the trigger index and the enrollments are keyed by UUID.
            unreacted = engine_gateway().unreacted(
                workspace_id=_as_uuid(workspace_id),
                events=[PendingEvent(row.type, None if row.contact_id is None else _as_uuid(row.contact_id))
                        for _, row in written])
            with cursor.cursor.copy(f"COPY events_event ({', '.join(columns)}) FROM STDIN") as copy:
                for (index, row), settled in zip(written, unreacted, strict=True):
                    values = (workspace_id, row.contact_id, row.type, row.occurred_at, received_at,
                              row.properties_json, row.source, row.client_id, row.flags_json,
                              received_at if settled else None)
                    copy.write_row((ids[index], *values) if with_id else values)
    return ids


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


class InsertRow(msgspec.Struct):
    """One row of `EVENTS_INSERT_SQL`'s JSON input (the JSON texts go in as they are, not re-encoded)."""

    contact_id: UUID | None
    type: str
    occurred_at: datetime
    received_at: datetime
    properties: msgspec.Raw
    source: str
    client_id: str | None
    key: str | None
    flags: msgspec.Raw


# Writes rows whose keys are unique among them in ONE statement: the dedupe keys are claimed (only new ones come
# back, each with a fresh event id), the events of new keys and of keyless rows are inserted, and the new keys
# are returned (so stored = keyless rows + new keys). Shared by the Django view (`events_insert`) and the ASGI
# fast path (`events.fastpath`), so that both store exactly alike.
# The rows travel as one JSON document (encoded by msgspec, parsed by PostgreSQL), not as eight arrays: psycopg
# quotes text array elements in Python, which cost more than the whole INSERT for a batch of 500.
EVENTS_INSERT_SQL = f"""
    WITH input AS (
        SELECT * FROM json_to_recordset(%s::json)
            AS t(contact_id uuid, type text, occurred_at timestamptz, received_at timestamptz, properties jsonb,
                 source text, client_id text, key text, flags jsonb)
    ),
    new_keys AS (
        INSERT INTO events_eventkey (workspace_id, key, event_id, created_at)
        SELECT %s, key, nextval('{_ID_SEQUENCE}'), received_at FROM input WHERE key IS NOT NULL
        ON CONFLICT (workspace_id, key) DO NOTHING
        RETURNING key, event_id
    ),
    stored AS (
        INSERT INTO events_event (id, workspace_id, contact_id, type, occurred_at, received_at, properties,
                                  source, client_id, flags)
        SELECT coalesce(k.event_id, nextval('{_ID_SEQUENCE}')), %s, i.contact_id, i.type, i.occurred_at,
               i.received_at, i.properties, i.source, i.client_id, i.flags
        FROM input i LEFT JOIN new_keys k ON k.key = i.key
        WHERE i.key IS NULL OR k.event_id IS NOT NULL
    )
    SELECT key FROM new_keys
"""
_encode_insert_rows = msgspec.json.Encoder().encode


def events_insert_rows(rows: Sequence[EventRow], received_at: datetime) -> list[InsertRow]:
    return [
        InsertRow(row.contact_id, row.type, row.occurred_at, received_at, msgspec.Raw(row.properties_json),
                  row.source, row.client_id, row.key, msgspec.Raw(row.flags_json))
        for row in rows
    ]


def events_insert_params(*, workspace_id: UUID, rows: Sequence[InsertRow]) -> list[Any]:
    """Return the parameters of `EVENTS_INSERT_SQL` for `rows` (keys unique among them)."""
    return [_encode_insert_rows(rows).decode(), workspace_id, workspace_id]


def events_insert(*, workspace_id: UUID, rows: Sequence[EventRow], received_at: datetime) -> int:
    """Write `rows` (keys unique among them) in ONE statement; return how many were stored (not duplicates).

    Outside a transaction the statement commits on its own, so a request needs no BEGIN/COMMIT round trips:
    the hot path of the ingestion API when every contact is already known.
    """
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(EVENTS_INSERT_SQL, events_insert_params(workspace_id=workspace_id,
                                                               rows=events_insert_rows(rows, received_at)))
        new_keys = cursor.fetchall()
    return sum(1 for row in rows if row.key is None) + len(new_keys)


def _as_row(item: NewEvent, now: datetime) -> EventRow:
    occurred_at = item.occurred_at or now
    if occurred_at > now + MAX_FUTURE:
        raise ValueError(f"occurred_at {occurred_at.isoformat()} is more than a day in the future")
    if item.client_id is not None and not 0 < len(item.client_id) <= 128:
        raise ValueError("client_id must be 1 to 128 characters long")
    return EventRow(
        contact_id=item.contact_id,
        type=item.type,
        occurred_at=occurred_at,
        properties_json=_json_encode(dict(item.properties)).decode(),
        source=item.source,
        client_id=item.client_id,
        key=item.client_id,
        flags_json=_json_encode(dict(item.flags)).decode() if item.flags else "{}",
    )


def _store(workspace_id, items: list[NewEvent], *, need_ids: bool) -> tuple[datetime, list[EventRow], list]:
    now = timezone.now()
    rows = [_as_row(item, now) for item in items]
    with transaction.atomic(savepoint=False):
        ids = events_write(workspace_id=workspace_id, rows=rows, received_at=now, need_ids=need_ids)
    return now, rows, ids


def events_store(*, workspace, events: Iterable[NewEvent]) -> int:
    """Store several events of one workspace like `events_emit`, without building them back; return how many.

    For producers that write many events and need neither ids nor rows (the runtime's batches).
    """
    items = list(events)
    if not items:
        return 0
    _, _, ids = _store(getattr(workspace, "pk", workspace), items, need_ids=False)
    return sum(1 for event_id in ids if event_id is not None)


def events_emit(*, workspace, events: Iterable[NewEvent]) -> list[Event]:
    """Store several events of one workspace; return the stored ones, in order, with their ids.

    An event whose `client_id` was already used in the workspace (earlier, or earlier in `events`) is a
    duplicate: it is not stored and not returned. Runs in the caller's transaction.
    """
    items = list(events)
    if not items:
        return []
    workspace_id = getattr(workspace, "pk", workspace)
    now, rows, ids = _store(workspace_id, items, need_ids=True)
    stored = []
    for item, row, event_id in zip(items, rows, ids, strict=True):
        if event_id is None:
            continue
        event = Event(
            id=event_id,
            workspace_id=workspace_id,
            contact_id=item.contact_id,
            type=item.type,
            occurred_at=row.occurred_at,
            received_at=now,
            properties=dict(item.properties),
            source=item.source,
            client_id=item.client_id,
            flags=dict(item.flags),
        )
        event._state.adding = False
        event._state.db = "default"
        stored.append(event)
    return stored


def event_emit(
    *,
    workspace,
    type: str,
    contact_id: UUID | None = None,
    properties: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    source: str = Event.Source.SYSTEM,
    client_id: str | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Event | None:
    """Store one event that PenguinFlow itself observed (contact, campaign, email, workflow changes).

    Return the stored event, or None when `client_id` was already used in the workspace (a duplicate, e.g. an
    ESP webhook delivered twice): nothing is written then. Without `client_id` an event is always stored.
    """
    stored = events_emit(
        workspace=workspace,
        events=[
            NewEvent(
                type=type,
                contact_id=contact_id,
                properties=properties or {},
                occurred_at=occurred_at,
                source=source,
                client_id=client_id,
                flags=flags or {},
            )
        ],
    )
    return stored[0] if stored else None
