"""Workflow versions as the runtime runs them; published ones are loaded once and cached for good (they never
change).

`LiveVersion` is a version's graph and settings with the ids the runtime writes under. `versions_load` returns
versions by id, `published_version_of` a workflow's current one, and `manual_entry_node` the trigger that
enrollments started by hand, by a backfill or by another workflow enter at.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from uuid import UUID

from workflows.engine.entry import entry_trigger
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.live_ports import Origin
from workflows.models import Workflow, WorkflowVersion


@dataclass(frozen=True)
class LiveVersion:
    id: UUID
    number: int | None
    workflow_id: UUID
    workspace_id: UUID
    graph: Graph
    settings: WorkflowSettings

    @property
    def origin(self) -> Origin:
        return Origin(workflow_id=str(self.workflow_id), version_id=str(self.id))

    @cached_property
    def awaited_event_types(self) -> frozenset[str]:
        """The event types an enrollment of this version could wait for or exit on, wherever it stands: every
        node's `event` setting (a `wait_for_event`'s; a trigger's too, which costs nothing to include) and every
        exit condition's (goals are exit conditions). Kept with the version, which the cache above keeps."""
        types = {node.config.get("event") for node in self.graph.nodes}
        types.update(condition.event for condition in self.settings.exit_conditions)
        return frozenset(t for t in types if isinstance(t, str) and t)


_version_cache: dict[UUID, LiveVersion] = {}
_version_lock = threading.Lock()


def versions_load(version_ids: Iterable[UUID]) -> dict[UUID, LiveVersion]:
    """Return the versions by id, loading the missing ones in two queries (published ones are cached for good)."""
    wanted = {UUID(str(v)) for v in version_ids}
    found = {vid: _version_cache[vid] for vid in wanted if vid in _version_cache}
    missing = wanted - set(found)
    if missing:
        rows = WorkflowVersion.objects.filter(pk__in=missing).select_related("workflow").prefetch_related(
            "steps", "connections"
        )
        for version in rows:
            live = LiveVersion(
                id=version.pk,
                number=version.number,
                workflow_id=version.workflow_id,
                workspace_id=version.workflow.workspace_id,
                graph=Graph.from_rows(list(version.steps.all()), list(version.connections.all())),
                settings=WorkflowSettings.parse(version.settings),
            )
            found[version.pk] = live
            if version.number is not None:
                with _version_lock:
                    if len(_version_cache) > 5000:
                        _version_cache.clear()
                    _version_cache[version.pk] = live
    return found


def published_version_of(workflow: Workflow) -> LiveVersion | None:
    if workflow.published_version is None:
        return None
    version_id = (
        WorkflowVersion.objects.filter(workflow=workflow, number=workflow.published_version)
        .values_list("pk", flat=True)
        .first()
    )
    return versions_load([version_id]).get(version_id) if version_id else None


def manual_entry_node(version: LiveVersion) -> str | None:
    return entry_trigger(version.graph)

