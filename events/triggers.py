"""Which published workflows an event starts: an in-memory index of the `trigger_event` nodes of active versions.

The index is keyed by (workspace, event type) and rebuilt from PostgreSQL when it is stale: when the token that
`trigger_index_invalidate()` writes to Redis changes (publish, pause, resume, archive), and in any case after
`STALE_AFTER` seconds, so that a lost Redis key cannot leave a process on an old index for long.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events.gateway import EventRecord, TriggerMatch
from penguinflow.common.redis_client import redis_client

logger = logging.getLogger(__name__)

TOKEN_KEY = "pf:events:trigger-index-token"
STALE_AFTER = 30.0  # seconds: the fallback when Redis lost the token or an invalidation was missed
CHECK_TOKEN_EVERY = 0.2  # seconds: how often a busy process asks Redis whether the index changed


@dataclass(frozen=True, slots=True)
class Trigger:
    workflow_id: UUID
    version_id: UUID
    node_id: str
    rule: Any  # the filter's source (JsonLogic), or None
    compiled: Any  # workflows.engine.conditions.CompiledRule, or None


class TriggerIndex:
    def __init__(self, by_key: dict[tuple[UUID, str], list[Trigger]]) -> None:
        self._by_key = by_key

    def triggers_for(self, workspace_id: UUID, event_type: str) -> list[Trigger]:
        return self._by_key.get((workspace_id, event_type), [])

    def __len__(self) -> int:
        return sum(len(triggers) for triggers in self._by_key.values())


def trigger_index_load() -> TriggerIndex:
    """Read the `trigger_event` nodes of every active workflow's published version (one query)."""
    from workflows.engine.conditions import ConditionError, compile_rule
    from workflows.models import Step, Workflow

    rows = Step.objects.filter(
        type="trigger_event",
        version__workflow__status=Workflow.Status.ACTIVE,
        version__number=F("version__workflow__published_version"),
    ).values_list("version__workflow__workspace_id", "version__workflow_id", "version_id", "node_id", "config")
    by_key: dict[tuple[UUID, str], list[Trigger]] = defaultdict(list)
    for workspace_id, workflow_id, version_id, node_id, config in rows:
        event_type = config.get("event") if isinstance(config, dict) else None
        if not isinstance(event_type, str) or not event_type:
            logger.warning("Trigger %s of version %s has no event type; ignored", node_id, version_id)
            continue
        rule = config.get("filter")
        compiled = None
        if rule is not None:
            try:
                compiled = compile_rule(rule)
            except ConditionError as error:
                # Validation refuses such graphs at publish; a version that slipped through never matches.
                logger.warning("Trigger %s of version %s has an invalid filter (%s); ignored", node_id,
                               version_id, error)
                continue
        by_key[(workspace_id, event_type)].append(Trigger(workflow_id, version_id, node_id, rule, compiled))
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

    transaction.on_commit(publish_token)


def _contacts_data(pairs: set[tuple[UUID, UUID]]) -> dict[UUID, dict[str, Any]]:
    from contacts.models import Contact
    from contacts.selectors import contact_as_data

    if not pairs:
        return {}
    wanted = {contact_id: workspace_id for workspace_id, contact_id in pairs}
    found = Contact.objects.filter(pk__in=list(wanted))
    return {c.pk: contact_as_data(c) for c in found if wanted.get(c.pk) == c.workspace_id}


def triggers_match(
    events: Sequence[EventRecord], *, index: TriggerIndex | None = None, now: datetime | None = None
) -> list[TriggerMatch]:
    """Return the trigger matches of `events`: bot hits and events without a contact match nothing.

    Filters see `{event, contact}`; the contacts of the whole batch are read in one query, and only when a
    filter needs them. A filter that cannot be evaluated does not match (and is logged).
    """
    from workflows.engine.conditions import ConditionError

    index = index if index is not None else trigger_index()
    candidates: list[tuple[EventRecord, list[Trigger]]] = []
    need_contacts: set[tuple[UUID, UUID]] = set()
    for event in events:
        if event.contact_id is None or event.is_bot:
            continue
        triggers = index.triggers_for(event.workspace_id, event.type)
        if triggers:
            candidates.append((event, triggers))
            if any(trigger.compiled is not None for trigger in triggers):
                need_contacts.add((event.workspace_id, event.contact_id))
    if not candidates:
        return []
    contacts = _contacts_data(need_contacts)
    now = now or timezone.now()
    activity = None
    matches: list[TriggerMatch] = []
    for event, triggers in candidates:
        for trigger in triggers:
            if trigger.compiled is not None:
                contact = contacts.get(event.contact_id)
                if contact is None:
                    continue  # erased or never existed: nothing to enroll
                if activity is None:
                    from contacts.activity import ActivityReader

                    activity = ActivityReader(contacts=need_contacts, now=now)
                try:
                    held = trigger.compiled.holds(
                        {"event": event.as_data(), "contact": contact},
                        now=now,
                        contact_id=str(event.contact_id),
                        activity=activity,
                    )
                except ConditionError as error:
                    logger.warning("Filter of trigger %s (workflow %s) failed on event %s: %s", trigger.node_id,
                                   trigger.workflow_id, event.id, error)
                    continue
                if not held:
                    continue
            matches.append(TriggerMatch(event=event, workflow_id=trigger.workflow_id,
                                        version_id=trigger.version_id, node_id=trigger.node_id))
    return matches
