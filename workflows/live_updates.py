"""Live updates for the history screens: what a committed batch changed, sent to the Channels groups.

Where changes are recorded, they are collected per transaction and published once it commits
(`transaction.on_commit`): one message per workflow per batch, never one per step. A message carries the counter
deltas of the batch (`node.<id>.entered`, `enrollments.failed`, ...) and the ids and statuses of the executions it
changed; the consumers (`workflows.consumers`) merge what arrives and send a subscriber at most a few messages per
second. Nothing here is needed for correctness: a screen fetches through the API on connect and reconnect.

Groups: `workflow.<id>` (a canvas, an execution's page) and `workspace.<id>` (the list screens).

Publishing must not slow the runtime: with LIVE_UPDATES_PUBLISH = "thread" (the default), the commit hook only
puts the batch on an in-process queue; a daemon thread merges what is queued and does the Redis round trips.
"inline" sends from the committing thread (the tests, whose consumers run on the test's own event loop).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

MAX_IDS = 200  # ids per message; beyond that `more` is set and a screen refetches its page
PUBLISH_INTERVAL = 0.1  # seconds between two rounds of a process's publisher thread
_version_owner: dict[UUID, tuple[UUID, UUID]] = {}  # version id -> (workspace id, workflow id); never changes


def workflow_group(workflow_id) -> str:
    return f"workflow.{workflow_id}"


def workspace_group(workspace_id) -> str:
    return f"workspace.{workspace_id}"


class _Changes:
    """What one transaction changed, published when it commits (dropped with it when it rolls back)."""

    def __init__(self) -> None:
        self.deltas: dict[UUID, Counter] = defaultdict(Counter)  # version id -> counter deltas
        self.executions: dict[tuple[UUID, UUID], dict[str, str]] = defaultdict(dict)

    def publish(self) -> None:
        updates: dict[tuple[UUID, UUID], dict[str, Any]] = {
            key: {"deltas": Counter(), "executions": changed} for key, changed in self.executions.items()
        }
        owners = _owners_of(list(self.deltas))
        for version_id, version_deltas in self.deltas.items():
            owner = owners.get(version_id)
            if owner is not None:
                updates.setdefault(owner, {"deltas": Counter(), "executions": {}})["deltas"].update(version_deltas)
        if updates:
            _publisher().put(updates)


_local = threading.local()


def _record(record) -> None:
    """Add to the current transaction's changes; the first addition schedules their publication."""
    if not getattr(settings, "LIVE_UPDATES_ENABLED", True):
        return
    connection = transaction.get_connection()
    changes = getattr(_local, "changes", None)
    # Still the transaction's own? (A rolled-back transaction drops its on_commit hooks, and so its changes.)
    pending = changes is not None and connection.in_atomic_block and any(
        hook[1] == changes.publish for hook in connection.run_on_commit)
    if not pending:
        changes = _local.changes = _Changes()
    record(changes)
    if not pending:
        transaction.on_commit(changes.publish)


def counters_changed(deltas: Iterable[tuple[UUID, str, int]]) -> None:
    """Record counter deltas (version id, key, amount) of the current transaction."""
    def add(changes: _Changes) -> None:
        for version_id, key, amount in deltas:
            changes.deltas[version_id][key] += amount

    _record(add)


def executions_changed(rows: Iterable[tuple[UUID, UUID, UUID, str]]) -> None:
    """Record executions (workspace id, workflow id, enrollment id, status) the current transaction changed."""
    def add(changes: _Changes) -> None:
        for workspace_id, workflow_id, enrollment_id, status in rows:
            changes.executions[(workspace_id, workflow_id)][str(enrollment_id)] = str(status)

    _record(add)


def _owners_of(version_ids: list[UUID]) -> dict[UUID, tuple[UUID, UUID]]:
    missing = [v for v in version_ids if v not in _version_owner]
    if missing:
        from workflows.models import WorkflowVersion

        for version_id, workspace_id, workflow_id in WorkflowVersion.objects.filter(pk__in=missing).values_list(
                "pk", "workflow__workspace_id", "workflow_id"):
            _version_owner[version_id] = (workspace_id, workflow_id)
    return {v: _version_owner[v] for v in version_ids if v in _version_owner}


def message_for(workflow_id: UUID, update: dict[str, Any]) -> dict[str, Any]:
    """The group message of one workflow's update (the consumers merge these)."""
    return {"type": "live.update", "workflow": str(workflow_id),
            "deltas": {k: v for k, v in update["deltas"].items() if v}, "executions": update["executions"]}


async def _send(updates: dict[tuple[UUID, UUID], dict[str, Any]]) -> None:
    layer = get_channel_layer()
    for (workspace_id, workflow_id), update in updates.items():
        message = message_for(workflow_id, update)
        await layer.group_send(workflow_group(workflow_id), message)
        await layer.group_send(workspace_group(workspace_id), message)


def _merge(into: dict, more: dict) -> None:
    for key, update in more.items():
        target = into.setdefault(key, {"deltas": Counter(), "executions": {}})
        target["deltas"].update(update["deltas"])
        target["executions"].update(update["executions"])


class _InlinePublisher:
    def put(self, updates) -> None:
        try:
            if _loop_running_here():
                # A thread that runs an event loop of its own (a browser test's, where Playwright keeps one) cannot
                # wait on async code: send from a thread of its own, still before the caller goes on.
                sender = threading.Thread(target=_send_in_a_loop_of_its_own, args=(updates,), name="live-update-inline")
                sender.start()
                sender.join()
            else:
                async_to_sync(_send)(updates)
        except Exception:  # a live screen is a convenience: never fail the caller's committed work
            logger.exception("Could not publish a live update")


def _send_in_a_loop_of_its_own(updates) -> None:
    try:
        asyncio.run(_send(updates))
    except Exception:
        logger.exception("Could not publish a live update")


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _ThreadPublisher:
    """A daemon thread with its own event loop (channels-redis keeps its connections per loop)."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="live-updates", daemon=True).start()

    def put(self, updates) -> None:
        self.queue.put(updates)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        last = 0.0
        while True:
            updates = self.queue.get()
            # At most one round per PUBLISH_INTERVAL: what commits meanwhile joins this round, so a burst fans out
            # to the groups a few times a second, not once per batch.
            time.sleep(max(0.0, last + PUBLISH_INTERVAL - time.monotonic()))
            last = time.monotonic()
            while True:  # merge whatever else is queued: one send per workflow per round
                try:
                    _merge(updates, self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                loop.run_until_complete(_send(updates))
            except Exception:
                logger.exception("Could not publish a live update")


_publisher_instance = None
_publisher_lock = threading.Lock()


def _publisher():
    global _publisher_instance
    with _publisher_lock:
        if _publisher_instance is None:
            mode = getattr(settings, "LIVE_UPDATES_PUBLISH", "thread")
            _publisher_instance = _InlinePublisher() if mode == "inline" else _ThreadPublisher()
        return _publisher_instance
