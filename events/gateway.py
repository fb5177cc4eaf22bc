"""The narrow interface between event processing (this app) and the workflow runtime
(`workflows.runtime_gateway`).

Processing decides *when* events are handed over (once, in order, in batches, with retries and parking); the
runtime decides what they mean: which triggers they start, which waits they resume, which enrollments they end.
The runtime's implementation is named by `settings.ENGINE_GATEWAY` and built once per process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event as processing hands it on (a plain value: no ORM object crosses the interface)."""

    id: int
    workspace_id: UUID
    contact_id: UUID | None
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)
    flags: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_bot(self) -> bool:
        return bool(self.flags.get("bot"))

    def as_data(self) -> dict[str, Any]:
        """Return the event as rules see it (CONTRACT §7 `event`)."""
        return {
            "id": self.id,
            "type": self.type,
            "properties": dict(self.properties),
            "occurred_at": self.occurred_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event about to be written, as the gateway sees it when asked whether processing would react to it."""

    type: str
    contact_id: UUID | None


class EngineGateway(Protocol):
    def process(self, *, events: Sequence[EventRecord], now: datetime) -> None:
        """Enroll for the triggers these events start, resume enrollments waiting for them, exit enrollments whose
        exit conditions they meet; `now` is the processing time (what trigger filters see as now).

        Called inside the processing transaction, before the events are marked processed (an exception rolls
        the batch back; it is claimed again when its lease expires). Must be idempotent per event id: an explicit
        replay hands the same events again. Bot-flagged events are in `events` (waits and exits may want to see
        them) but start no enrollment.
        """
        ...

    def count_entries(self, *, events: Sequence[EventRecord], now: datetime) -> int:
        """Return how many entries (an event starting a trigger of a published version) these events offer,
        changing nothing: a replay's dry run reports it."""
        ...

    def unreacted(self, *, workspace_id: UUID, events: Sequence[PendingEvent]) -> list[bool]:
        """Return, for each event about to be written (of one workspace), whether processing it would do nothing:
        such an event is written already processed (`events.services.events_write`) and never queued.

        Called inside the writer's transaction. Answering False is always safe: the event is then processed.
        """
        ...


class NullGateway:
    """A gateway that does nothing: processing then only marks events processed (benchmarks, tooling). Every
    event still goes through processing: what the events benchmark measures."""

    def process(self, *, events: Sequence[EventRecord], now: datetime) -> None:
        return None

    def count_entries(self, *, events: Sequence[EventRecord], now: datetime) -> int:
        return 0

    def unreacted(self, *, workspace_id: UUID, events: Sequence[PendingEvent]) -> list[bool]:
        return [False] * len(events)


_built: tuple[str, EngineGateway] | None = None


def engine_gateway() -> EngineGateway:
    """Return this process's gateway, built from `settings.ENGINE_GATEWAY` (rebuilt when the setting changes)."""
    global _built
    path = settings.ENGINE_GATEWAY
    if _built is None or _built[0] != path:
        _built = (path, import_string(path)())
    return _built[1]
