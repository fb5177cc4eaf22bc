"""The runtime's OptimizationPort: what send-time optimization, optimizing splits and content recommendations
learn from, read once per batch (`workflows.engine.send_time`, `workflows.engine.bandit`, `workflows.engine.content`).

Engagement hours are read for all the batch's contacts of the workspace in one query the first time a step asks
(per channel), the workspace's distribution from a per-process cache, so choosing a send time costs no round trip
per message. A split's counts come from the analytics counters of every version of the workflow (the same node id
keeps learning across versions), its allocation in force from its latest logged change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from workflows.content_choices import content_choice_record, content_stats_read
from workflows.counters import split_goal_key
from workflows.engagement_hours import engagement_hours_read, hour_counts, workspace_engagement_hours
from workflows.engine.bandit import Allocation, SplitState
from workflows.engine.send_time import HourCounts
from workflows.models import SplitAllocationChange, WorkflowCounter
from workflows.sms_port import sms_quiet_until, workspace_quiet_hours

__all__ = ["LiveOptimization", "split_state_read"]


class LiveOptimization:
    """The OptimizationPort of one workspace and workflow in one batch (its contacts are the book's)."""

    def __init__(self, book: Any, origin: Any, workspace: Any) -> None:
        self.book, self.origin, self.workspace = book, origin, workspace
        self._hours: dict[str, dict[str, dict[int, int]]] = {}
        self._splits: dict[tuple[str, str], SplitState] = {}
        self._quiet = None
        self._content: dict[str, dict[str, dict[str, tuple[int, int]]]] = {}

    def engagement_hours(self, *, contact_id: str, channel: str) -> HourCounts:
        loaded = self._hours.get(channel)
        if loaded is None:
            workspace_id = str(self.workspace.pk)
            contacts = [pk for pk, c in self.book.contacts.items() if str(c.workspace_id) == workspace_id]
            loaded = self._hours[channel] = engagement_hours_read(contacts, channel)
        workspace = workspace_engagement_hours(str(self.workspace.pk), channel)
        return hour_counts(loaded.get(str(contact_id)), workspace)

    def quiet_until(self, *, contact_id: str, channel: str, moment: datetime) -> datetime | None:
        # Quiet hours hold for SMS (as the SMS port applies them); the other channels have none here.
        if channel != "sms":
            return None
        if self._quiet is None:
            self._quiet = workspace_quiet_hours(self.workspace)
        contact = self.book.get(contact_id)
        return sms_quiet_until(moment, workspace=self.workspace, contact=contact, quiet_hours=self._quiet)

    def split_state(self, *, node_id: str, goal: str) -> SplitState:
        state = self._splits.get((node_id, goal))
        if state is None:
            state = self._splits[(node_id, goal)] = split_state_read(self.origin.workflow_id, node_id, goal)
        return state

    def split_allocation_log(self, *, node_id: str, goal: str, allocation: Allocation, now: datetime) -> None:
        SplitAllocationChange.objects.create(
            workflow_id=self.origin.workflow_id, node_id=node_id, goal=goal, at=now, shares=allocation.shares,
            probability_best=allocation.probability_best, winner=allocation.winner or "", reason=allocation.reason,
            candidate=allocation.candidate or "", candidate_entries=allocation.candidate_entries,
        )  # fmt: skip
        state = self.split_state(node_id=node_id, goal=goal)
        self._splits[(node_id, goal)] = SplitState(
            state.counts, allocation.shares, allocation.winner, allocation.candidate, allocation.candidate_entries
        )

    def content_stats(self, *, node_id: str, topic: str | None) -> tuple[dict, dict]:
        # Read once per node and batch: a batch's choices do not move the rates enough to matter.
        stats = self._content.get(node_id)
        if stats is None:
            stats = self._content[node_id] = content_stats_read(self.origin.workflow_id, node_id)
        return (stats.get(topic, {}) if topic else {}), stats[""]

    def content_choice_record(self, *, key: str, node_id: str, template_id: str, topic: str | None) -> str:
        return content_choice_record(workflow_id=self.origin.workflow_id, node_id=node_id, key=key,
                                     template_id=template_id, topic=topic)


def split_state_read(workflow_id: Any, node_id: str, goal: str) -> SplitState:
    """Return the split's entries and goal conversions per variant over the workflow's versions, and the
    allocation last logged for this goal (with its winner)."""
    entries, goals = f"split.{node_id}.", f"split_goal.{node_id}."
    rows = WorkflowCounter.objects.filter(
        Q(key__startswith=entries) | Q(key__startswith=goals), version__workflow_id=workflow_id
    ).values_list("key", "value")
    entered: dict[str, int] = {}
    converted: dict[str, int] = {}
    for key, value in rows:
        # Variant ids hold no dot (their pattern), so the first part after the node's prefix is the variant.
        if key.startswith(entries):
            variant, _, measure = key[len(entries):].partition(".")
            if measure == "entered":
                entered[variant] = entered.get(variant, 0) + value
        else:
            variant = key[len(goals):].partition(".")[0]
            if key == split_goal_key(node_id, variant, goal):
                converted[variant] = converted.get(variant, 0) + value
    counts = {variant: (entered.get(variant, 0), converted.get(variant, 0)) for variant in entered | converted}
    latest = (
        SplitAllocationChange.objects.filter(workflow_id=workflow_id, node_id=node_id, goal=goal)
        .order_by("-id").values_list("shares", "winner", "candidate", "candidate_entries").first()
    )  # fmt: skip
    if latest is None:
        return SplitState(counts=counts)
    shares, winner, candidate, candidate_entries = latest
    return SplitState(counts, shares, winner or None, candidate or None, candidate_entries)
