"""Websockets of the history screens (CONTRACT §9a): a workflow's canvas, an execution's page, the list screens.

- Authenticated by the session (AuthMiddlewareStack) and origin-checked (penguinflow.common.websocket_origin) in
  penguinflow.asgi; scoped here: the user's workspace (the session's choice, else their first membership) must own
  the workflow or execution. Refusals happen at the handshake, never as a 500: 4401 not logged in, 4403 no
  workspace, 4404 not found (or another workspace's: the contract answers 404 for those).
- On connect the server sends `{"type": "hello", ...}` with a snapshot (counts or the execution's status), so a
  client that (re)connects starts right; it refetches lists and details through the API.
- Capped per user (`workflows.socket_limits`): at most LIVE_MAX_SOCKETS_PER_USER open at once (one more is
  refused at the handshake with 4429), and a client that sends more than LIVE_MAX_CLIENT_FRAMES_PER_MINUTE
  frames (clients only listen) is disconnected with 4429.
- Updates come from `workflows.live_updates` (one group message per workflow per committed batch) and are merged
  here: a subscriber gets at most one message per `INTERVAL`, carrying the summed counter deltas and the ids of the
  executions that changed (at most `MAX_IDS`; `more: true` means "refetch the page").
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.models import Sum

from penguinflow.workspaces.models import Membership
from workflows.live_updates import MAX_IDS, workflow_group, workspace_group
from workflows.models import Enrollment, Workflow, WorkflowCounter
from workflows.selectors import workflow_analytics
from workflows.socket_limits import (
    REFRESH_SECONDS,
    TOO_MANY,
    ReceivedFrames,
    connection_admit,
    connection_refresh,
    connection_release,
)

INTERVAL = 0.25  # seconds between two messages to one subscriber (at most 4 a second)
NOT_LOGGED_IN, NO_WORKSPACE, NOT_FOUND = 4401, 4403, 4404


def _session_workspace(user, session) -> uuid.UUID | None:
    memberships = Membership.objects.filter(user=user).order_by("created_at")
    chosen = session.get("workspace_id") if session is not None else None
    membership = memberships.filter(workspace_id=chosen).first() if chosen else None
    membership = membership or memberships.first()
    return membership.workspace_id if membership else None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class _Merged:
    """Updates received since the last message: counter deltas and execution statuses, per workflow."""

    def __init__(self) -> None:
        self.by_workflow: dict[str, dict[str, Any]] = {}

    def add(self, message: dict[str, Any]) -> None:
        entry = self.by_workflow.setdefault(message["workflow"], {"deltas": Counter(), "executions": {}})
        entry["deltas"].update(message["deltas"])
        entry["executions"].update(message["executions"])

    def take(self) -> dict[str, dict[str, Any]]:
        taken, self.by_workflow = self.by_workflow, {}
        return {workflow: {"deltas": {k: v for k, v in entry["deltas"].items() if v},
                           "executions": dict(list(entry["executions"].items())[:MAX_IDS]),
                           "more": len(entry["executions"]) > MAX_IDS}
                for workflow, entry in taken.items()}


class _LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined, self.merged, self.flush_task, self.last_sent = [], _Merged(), None, 0.0
        self.counted_for, self.refresh_task, self.received = None, None, ReceivedFrames()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        workspace_id = await database_sync_to_async(_session_workspace)(user, self.scope.get("session"))
        if workspace_id is None:
            await self.close(code=NO_WORKSPACE)
            return
        found = await database_sync_to_async(self.subscription)(workspace_id)
        if found is None:
            await self.close(code=NOT_FOUND)
            return
        if not await sync_to_async(connection_admit, thread_sensitive=False)(user.pk, self.channel_name):
            await self.close(code=TOO_MANY)
            return
        self.counted_for = user.pk
        self.refresh_task = asyncio.ensure_future(self._keep_counted())
        self.groups_joined, hello = found
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", **hello})

    async def _keep_counted(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            await sync_to_async(connection_refresh, thread_sensitive=False)(self.counted_for, self.channel_name)

    def subscription(self, workspace_id) -> tuple[list[str], dict[str, Any]] | None:
        """The groups to join and the hello snapshot, or None when the target is not the workspace's."""
        raise NotImplementedError

    async def disconnect(self, code) -> None:
        if self.flush_task is not None:
            self.flush_task.cancel()
        if self.refresh_task is not None:
            self.refresh_task.cancel()
        if self.counted_for is not None:
            await sync_to_async(connection_release, thread_sensitive=False)(self.counted_for, self.channel_name)
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """Clients only listen: what they send is ignored unread, and too much of it ends the socket."""
        if not self.received.allow():
            await self.close(code=TOO_MANY)

    async def live_update(self, message: dict[str, Any]) -> None:
        if not self.wants(message):
            return
        self.merged.add(message)
        if self.flush_task is None:
            delay = max(0.0, self.last_sent + INTERVAL - asyncio.get_running_loop().time())
            self.flush_task = asyncio.ensure_future(self._flush_after(delay))

    def wants(self, message: dict[str, Any]) -> bool:
        return True

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.flush_task, self.last_sent = None, asyncio.get_running_loop().time()
        merged = self.merged.take()
        if merged:
            # The subscriber may have left before its disconnect reached us (uvicorn's ClientDisconnected).
            with contextlib.suppress(OSError):
                await self.send_json(self.message(merged))

    def message(self, merged: dict[str, dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError


class WorkflowConsumer(_LiveConsumer):
    """`/ws/workflows/{id}/`: the canvas's per-node counters and the executions that moved."""

    def subscription(self, workspace_id):
        workflow_id = _uuid(self.scope["url_route"]["kwargs"]["workflow_id"])
        workflow = Workflow.objects.filter(workspace_id=workspace_id, pk=workflow_id).first() if workflow_id else None
        if workflow is None:
            return None
        self.workflow_id = str(workflow.pk)
        return [workflow_group(workflow.pk)], {"workflow": self.workflow_id,
                                               "analytics": workflow_analytics(workflow=workflow)}

    def message(self, merged):
        entry = merged[self.workflow_id]
        return {"type": "counts", "workflow": self.workflow_id, **entry}


class ExecutionConsumer(_LiveConsumer):
    """`/ws/executions/{id}/`: a message when this execution changed (the page refetches its detail)."""

    def subscription(self, workspace_id):
        execution_id = _uuid(self.scope["url_route"]["kwargs"]["execution_id"])
        row = Enrollment.objects.filter(workspace_id=workspace_id, pk=execution_id).values(
            "pk", "workflow_id", "status", "current_node_id", "updated_at").first() if execution_id else None
        if row is None:
            return None
        self.execution_id = str(row["pk"])
        return [workflow_group(row["workflow_id"])], {
            "execution": self.execution_id, "status": row["status"], "current_node": row["current_node_id"],
            "updated_at": row["updated_at"].isoformat()}

    def wants(self, message):
        return self.execution_id in message["executions"]

    def message(self, merged):
        status = next(entry["executions"][self.execution_id] for entry in merged.values())
        return {"type": "execution", "execution": self.execution_id, "status": status}


class WorkspaceConsumer(_LiveConsumer):
    """`/ws/workspace/`: the list screens: what moved, per workflow of the session's workspace."""

    def subscription(self, workspace_id):
        counts = dict(
            WorkflowCounter.objects.filter(version__workflow__workspace_id=workspace_id,
                                           key__startswith="enrollments.")
            .values_list("key").annotate(total=Sum("value")).values_list("key", "total"))
        return [workspace_group(workspace_id)], {
            "workspace": str(workspace_id),
            "enrollments": {key.split(".", 1)[1]: max(0, total) for key, total in counts.items()}}

    def message(self, merged):
        return {"type": "counts", "workflows": merged}


class NoRouteConsumer(AsyncJsonWebsocketConsumer):
    """Any other /ws/ path: refused at the handshake (4404) rather than an error in the log."""

    async def connect(self) -> None:
        await self.close(code=NOT_FOUND)
