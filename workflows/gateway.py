"""The runtime's side of the interface between event processing and the engine (`events.gateway`).

Event processing hands over a batch of events and the trigger matches it found. Here they become enrollments
(event, segment and score triggers), resumed waits (wait_for_event) and exits (exit conditions and goals).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from django.utils import timezone

from workflows.models import Enrollment, Step, Workflow, WorkflowVersion
from workflows.runtime import (
    Entry,
    LiveVersion,
    enrollments_advance,
    enrollments_start,
    event_as_resume,
    versions_load,
)

logger = logging.getLogger(__name__)


def _event_dict(event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "properties": dict(event.properties or {}),
        "occurred_at": event.occurred_at,
    }


def _state_triggers(workspace_ids: set[UUID]) -> list[tuple[UUID, str, str, dict]]:
    """Return (version id, node id, type, config) of the segment and score triggers of active versions."""
    rows = (
        Step.objects.filter(
            type__in=("trigger_segment", "trigger_score"),
            version__workflow__status=Workflow.Status.ACTIVE,
            version__workflow__workspace_id__in=workspace_ids,
            version__number__isnull=False,
        )
        .select_related("version__workflow")
        .only("node_id", "type", "config", "version__number", "version__workflow__published_version")
    )
    return [
        (step.version_id, step.node_id, step.type, step.config)
        for step in rows
        if step.version.number == step.version.workflow.published_version
    ]


def _state_trigger_entries(events) -> dict[UUID, list[Entry]]:
    """Match segment entry/exit and score crossings against trigger_segment / trigger_score."""
    interesting = [e for e in events if e.contact_id and (
        e.type in ("segment.entered", "segment.exited")
        or (e.type == "contact.updated" and "score" in ((e.properties or {}).get("changes") or {}))
    )]
    if not interesting:
        return {}
    entries: dict[UUID, list[Entry]] = defaultdict(list)
    workspace_of_version = {}
    triggers = _state_triggers({e.workspace_id for e in interesting})
    if triggers:
        workspace_of_version = dict(
            WorkflowVersion.objects.filter(pk__in={t[0] for t in triggers}).values_list("pk", "workflow__workspace_id")
        )
    for event in interesting:
        for version_id, node_id, kind, config in triggers:
            if workspace_of_version.get(version_id) != event.workspace_id:
                continue
            if kind == "trigger_segment":
                wanted = "segment.entered" if config.get("on", "enter") == "enter" else "segment.exited"
                if event.type != wanted or str(event.properties.get("segment_id")) != str(config.get("segment_id")):
                    continue
            else:
                if event.type != "contact.updated":
                    continue
                old, new = event.properties["changes"]["score"]
                threshold = config.get("threshold")
                if not isinstance(old, (int, float)) or not isinstance(new, (int, float)) or threshold is None:
                    continue
                up = config.get("direction", "up") == "up"
                if not ((up and old < threshold <= new) or (not up and old > threshold >= new)):
                    continue
            entries[version_id].append(
                Entry(contact_id=event.contact_id, trigger_node_id=node_id, event=_event_dict(event),
                      event_id=event.id)
            )
    return entries


class RuntimeGateway:
    """Enroll for trigger matches, resume waiting enrollments and apply exit conditions, for one event batch."""

    def process(self, *, events: Sequence, matches: Sequence) -> None:
        now = timezone.now()
        starts: dict[UUID, list[Entry]] = defaultdict(list)
        for match in matches:
            event = match.event
            if event.contact_id is None:
                continue
            starts[UUID(str(match.version_id))].append(
                Entry(contact_id=event.contact_id, trigger_node_id=match.node_id, event=_event_dict(event),
                      event_id=event.id)
            )
        for version_id, entries in _state_trigger_entries(events).items():
            starts[version_id].extend(entries)
        if starts:
            versions = versions_load(starts)
            for version_id, entries in starts.items():
                version: LiveVersion | None = versions.get(version_id)
                if version is not None:
                    enrollments_start(version=version, entries=entries, now=now)
        self._resume_and_exit(events, now)

    def _resume_and_exit(self, events: Sequence, now) -> None:
        with_contact = [e for e in events if e.contact_id is not None and not (e.flags or {}).get("bot")]
        if not with_contact:
            return
        live = list(
            Enrollment.objects.filter(
                contact_id__in={e.contact_id for e in with_contact}, status__in=Enrollment.LIVE_STATUSES
            ).values_list("pk", "contact_id", "version_id", "waiting_for")
        )
        if not live:
            return
        versions = versions_load({row[2] for row in live})
        exit_types = {
            vid: {c.event for c in version.settings.exit_conditions if c.event}
            for vid, version in versions.items()
        }
        by_contact = defaultdict(list)
        for row in live:
            by_contact[row[1]].append(row)
        # Each enrollment sees the batch's events for its contact in order, one round per event.
        rounds: list[dict[UUID, Any]] = []
        position: dict[UUID, int] = defaultdict(int)
        for event in sorted(with_contact, key=lambda e: (e.occurred_at, e.id)):
            for enrollment_id, _contact, version_id, waiting_for in by_contact.get(event.contact_id, ()):
                if event.type != waiting_for and event.type not in exit_types.get(version_id, ()):
                    continue
                index = position[enrollment_id]
                position[enrollment_id] += 1
                while len(rounds) <= index:
                    rounds.append({})
                rounds[index][enrollment_id] = event_as_resume(_event_dict(event), now=now)
        for resumes in rounds:
            enrollments_advance(enrollment_ids=list(resumes), resumes=resumes, now=now)
