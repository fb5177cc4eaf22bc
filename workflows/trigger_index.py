"""The trigger steps of the published versions that take entries, and this process's index of the event-driven ones.

`trigger_steps_active()` is the one query for "the triggers of every active workflow's published version".
`trigger_index()` keeps the event-driven ones in memory, keyed by (workspace, event type) as their node types
declare (`listens_to`), so that event processing makes one dictionary lookup per event. The index is rebuilt when
it is stale: when the token that `trigger_index_invalidate()` writes to Redis changes (publish, pause, resume,
archive), and in any case after `STALE_AFTER` seconds, so that a lost Redis key cannot leave a process on an old
index for long.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import F
from pydantic import ValidationError

from penguinflow.common.redis_client import redis_client
from workflows.engine.conditions import ConditionError, compile_rule
from workflows.engine.entry import EnteredBy, TriggerType
from workflows.engine.registry import registry
from workflows.models import Step, Workflow

logger = logging.getLogger(__name__)

TOKEN_KEY = "pf:events:trigger-index-token"
STALE_AFTER = 30.0  # seconds: the fallback when Redis lost the token or an invalidation was missed
CHECK_TOKEN_EVERY = 0.2  # seconds: how often a busy process asks Redis whether the index changed


@dataclass(frozen=True, slots=True)
class TriggerStep:
    """A trigger node of an active workflow's published version, as stored."""

    workspace_id: UUID
    workflow_id: UUID
    version_id: UUID
    node_id: str
    type: str
    config: Any
    published_at: datetime | None


def trigger_types(entered_by: EnteredBy) -> list[str]:
    """Return the names of the trigger types entered this way, as the registry declares them."""
    return [t.type for t in registry if isinstance(t, TriggerType) and t.entered_by == entered_by]


def trigger_steps_active(*, entered_by: EnteredBy) -> list[TriggerStep]:
    """Return the triggers entered this way of every active workflow's published version (one query)."""
    rows = Step.objects.filter(
        type__in=trigger_types(entered_by),
        version__workflow__status=Workflow.Status.ACTIVE,
        version__number=F("version__workflow__published_version"),
    ).values_list(
        "version__workflow__workspace_id", "version__workflow_id", "version_id", "node_id", "type", "config",
        "version__published_at",
    )
    return [TriggerStep(*row) for row in rows]


def trigger_config(step: TriggerStep) -> tuple[TriggerType, Any] | None:
    """Return the step's trigger type and parsed config, or None (logged) when it no longer parses: a version was
    validated when published, and one that slipped through must not stop the others."""
    trigger = registry.get(step.type)
    if not isinstance(trigger, TriggerType):
        logger.warning("Trigger %s of version %s has the unknown type %s; ignored", step.node_id, step.version_id,
                       step.type)
        return None
    try:
        config = trigger.parse_config(step.config if isinstance(step.config, dict) else {})
        for _path, rule in trigger.rules(config):
            compile_rule(rule)
    except (ValidationError, ConditionError) as error:
        logger.warning("Trigger %s of version %s has an invalid config (%s); ignored", step.node_id,
                       step.version_id, error)
        return None
    return trigger, config


@dataclass(frozen=True, slots=True)
class IndexedTrigger:
    """An event-driven trigger of a published version, with its type and parsed config."""

    workflow_id: UUID
    version_id: UUID
    node_id: str
    trigger: TriggerType
    config: Any
    reads_contact: bool


class TriggerIndex:
    def __init__(self, by_key: dict[tuple[UUID, str], list[IndexedTrigger]]) -> None:
        self._by_key = by_key

    def triggers_for(self, workspace_id: UUID, event_type: str) -> list[IndexedTrigger]:
        return self._by_key.get((workspace_id, event_type), [])

    def __len__(self) -> int:
        return len({(t.version_id, t.node_id) for triggers in self._by_key.values() for t in triggers})


def trigger_index_load() -> TriggerIndex:
    """Read the event-driven triggers of every active workflow's published version (one query)."""
    by_key: dict[tuple[UUID, str], list[IndexedTrigger]] = defaultdict(list)
    for step in trigger_steps_active(entered_by="event"):
        parsed = trigger_config(step)
        if parsed is None:
            continue
        trigger, config = parsed
        indexed = IndexedTrigger(step.workflow_id, step.version_id, step.node_id, trigger, config,
                                 trigger.reads_contact(config))
        for event_type in trigger.listens_to(config):
            by_key[(step.workspace_id, event_type)].append(indexed)
    return TriggerIndex(dict(by_key))


class _IndexCache:
    def __init__(self) -> None:
        self.index: TriggerIndex | None = None
        self.token: bytes | None = None
        self.loaded_at = 0.0
        self.checked_at = 0.0

    def reset(self) -> None:
        self.index = None


_cache = _IndexCache()


def _current_token() -> bytes | None:
    try:
        return redis_client().get(TOKEN_KEY)
    except Exception:  # Redis down: the TTL fallback keeps the index fresh enough
        logger.warning("Could not read the trigger index token from Redis", exc_info=True)
        return _cache.token


def trigger_index() -> TriggerIndex:
    """Return this process's index, reloading it when it was invalidated or is older than `STALE_AFTER`."""
    clock = time.monotonic()
    if _cache.index is not None and clock - _cache.loaded_at < STALE_AFTER:
        if clock - _cache.checked_at < CHECK_TOKEN_EVERY:
            return _cache.index
        _cache.checked_at = clock
        token = _current_token()
        if token == _cache.token:
            return _cache.index
    token = _current_token()
    index = trigger_index_load()
    _cache.index, _cache.token, _cache.loaded_at, _cache.checked_at = index, token, clock, clock
    return index


def trigger_index_invalidate() -> None:
    """Make every process reload its trigger index: call after a workflow is published, paused, resumed or
    archived. Inside a transaction the signal is sent on commit, so nobody reloads the old state."""

    def publish_token() -> None:
        _cache.reset()
        try:
            # A fresh random token, not a counter: after a Redis flush a counter could repeat an old value.
            redis_client().set(TOKEN_KEY, uuid.uuid4().hex)
        except Exception:
            logger.warning("Could not publish the trigger index token; other processes reload within %ss",
                           STALE_AFTER, exc_info=True)

    # This process forgets its index at once as well: an event written later in the same transaction is asked
    # whether a trigger listens to it (workflows.event_reactions), and the transaction already sees the change.
    _cache.reset()
    transaction.on_commit(publish_token)
