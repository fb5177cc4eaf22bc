"""Cross-channel analytics: per workflow, node and channel, what became of the messages (CONTRACT §13).

Counters, like the rest of the analytics (`WorkflowCounter`, key `channel.<node id>.<channel>.<measure>`):

- from the steps of send types (a `NodeType.channel`), counted with the batch that ran them (`count_channel_steps`):
  `sent` (a message was queued), `suppressed` (consent, unsubscribe or suppression stopped it), `failed` (the step
  failed for good, or send_message gave the channel up after a hard failure), `capped_deferred` and
  `capped_skipped` (a frequency cap made the step wait, or go on unsent), `quiet_deferred` and `quiet_skipped`
  (the recipient's quiet hours did);
- from the events the messages cause, counted as event processing hands them over (`count_channel_events`):
  `delivered` (email.delivered, sms.delivered, push.sent: accepted by the push service), `engaged` (each
  email.opened or email.clicked, each push.clicked: interactions, not distinct messages) and `failed`
  (email.bounced, sms.failed, push.failed). Such an event names its workflow and node but not its version: it is
  counted under the version published when it arrives (a workflow's totals are exact; per version they are not).

Deferrals count each time a step is put off (a step deferred twice counts twice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from workflows.engine.caps import CHANNELS, went_out
from workflows.engine.registry import registry
from workflows.engine.state import StepRecord, WaitState
from workflows.models import Workflow, WorkflowVersion

__all__ = [
    "MEASURES",
    "channel_analytics",
    "count_channel_events",
    "count_channel_steps",
    "step_measures",
]

MEASURES = (
    "sent",
    "delivered",
    "engaged",
    "failed",
    "suppressed",
    "capped_deferred",
    "capped_skipped",
    "quiet_deferred",
    "quiet_skipped",
)
# Why a channel did not send, as send steps and send_message say it: reasons of contacts.consent, and email's.
CONSENT_REASONS = frozenset(
    {
        "no_address",
        "no_consent",
        "unsubscribed",
        "topic_opted_out",
        "suppressed",
        "not_subscribed",
        "no_devices",
    }
)
# The statuses of a send step's message that mean it was stopped for the contact's sake (email's included).
SUPPRESSED_STATUSES = CONSENT_REASONS | {"skipped"}
EVENT_MEASURES: dict[str, tuple[str, str]] = {
    "email.delivered": ("email", "delivered"),
    "email.opened": ("email", "engaged"),
    "email.clicked": ("email", "engaged"),
    "email.bounced": ("email", "failed"),
    "sms.delivered": ("sms", "delivered"),
    "sms.failed": ("sms", "failed"),
    "push.sent": ("push", "delivered"),
    "push.clicked": ("push", "engaged"),
    "push.failed": ("push", "failed"),
}


def key(node_id: str, channel: str, measure: str) -> str:
    return f"channel.{node_id}.{channel}.{measure}"


def _skip_measure(reason: str) -> str | None:
    if reason in CONSENT_REASONS:
        return "suppressed"
    if reason == "frequency_cap":
        return "capped_skipped"
    if reason == "quiet_hours":
        return "quiet_skipped"
    if reason.startswith("failed"):
        return "failed"
    return None  # not configured here, no preferred channel: nothing happened on a channel


def _deferral_measure(detail: dict[str, Any]) -> str | None:
    if detail.get("capped"):
        return "capped_deferred"
    if detail.get("quiet_hours"):
        return "quiet_deferred"
    return None  # a window: the workflow's own timing, not a channel's rule


def step_measures(record: StepRecord, *, resumed: WaitState | None = None) -> list[tuple[str, str]]:
    """Return the `(channel, measure)` pairs one step record counts; `resumed` is the wait the step came out of
    (send_message's attempts made before it were counted then)."""
    node_type = registry.get(record.type)
    if node_type is None or node_type.channel is None:
        return []
    detail = record.detail or {}
    if "attempts" in detail:
        return _message_measures(record, resumed)
    channel = node_type.channel
    if record.outcome == "fail":
        return [(channel, "failed")]
    if record.outcome == "wait":
        measure = _deferral_measure(detail)
        return [(channel, measure)] if measure else []
    if record.outcome != "advance":
        return []
    if detail.get("skipped"):
        measure = _skip_measure(str(detail["skipped"]))
        return [(channel, measure)] if measure else []
    if went_out(detail):
        return [(channel, "sent")]
    return [(channel, "suppressed")] if detail.get("status") in SUPPRESSED_STATUSES else []


def _message_measures(record: StepRecord, resumed: WaitState | None) -> list[tuple[str, str]]:
    """send_message: each attempt made in this step run, and a deferral it ends with."""
    detail = record.detail
    stored = (resumed.detail.get("send_message") or {}) if resumed is not None else {}
    done = len(stored.get("attempts") or [])
    measures: list[tuple[str, str]] = []
    for attempt in detail.get("attempts", [])[done:]:
        channel = attempt.get("channel")
        if channel not in CHANNELS:
            continue
        if attempt.get("result") == "sent":
            measures.append((channel, "sent"))
        else:
            measure = _skip_measure(str(attempt.get("reason", "")))
            if measure:
                measures.append((channel, measure))
    if (
        record.outcome == "wait"
        and detail.get("channel") in CHANNELS
        and isinstance(detail.get("deferred"), dict)
    ):
        measure = _deferral_measure(detail["deferred"])
        if measure:
            measures.append((detail["channel"], measure))
    return measures


def count_channel_steps(
    counters: Any, version_id: UUID, records: Sequence[StepRecord], resumed: WaitState | None
) -> None:
    """Add the channel counters of a run's steps (`resumed`: the wait its first step came out of, if any)."""
    for index, record in enumerate(records):
        came_out_of = (
            resumed if index == 0 and resumed is not None and resumed.node_id == record.node_id else None
        )
        for channel, measure in step_measures(record, resumed=came_out_of):
            counters.add(version_id, key(record.node_id, channel, measure))


def count_channel_events(counters: Any, events: Iterable[Any]) -> None:
    """Add the counters of the delivery, engagement and failure events of workflow messages, under the version
    of their workflow published now."""
    found: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for event in events:
        measure = EVENT_MEASURES.get(event.type)
        properties = event.properties or {}
        workflow_id, node_id = properties.get("workflow_id"), properties.get("node_id")
        if measure is None or not workflow_id or not node_id or getattr(event, "is_bot", False):
            continue
        found[(str(workflow_id), str(node_id), *measure)] += 1
    if not found:
        return
    published = dict(
        Workflow.objects.filter(pk__in={w for w, *_ in found}, published_version__isnull=False).values_list(
            "pk", "published_version"
        )
    )
    versions = {
        (str(workflow_id), number): version_id
        for version_id, workflow_id, number in WorkflowVersion.objects.filter(
            workflow_id__in=list(published), number__in=set(published.values())
        ).values_list("pk", "workflow_id", "number")
    }
    for (workflow_id, node_id, channel, measure), amount in found.items():
        version_id = versions.get((workflow_id, published.get(UUID(workflow_id))))
        if version_id is not None:
            counters.add(version_id, key(node_id, channel, measure), amount)


def channel_analytics(counters: dict[str, int]) -> dict[str, Any]:
    """Return `{"totals": {channel: {measure: n}}, "nodes": {node id: {channel: {measure: n}}}}` from the summed
    counters of a workflow (channels with nothing counted are left out)."""
    nodes: dict[str, dict[str, dict[str, int]]] = {}
    totals: dict[str, dict[str, int]] = {}
    for name, value in counters.items():
        parts = name.split(".")
        if parts[0] != "channel" or len(parts) < 4 or parts[-1] not in MEASURES or parts[-2] not in CHANNELS:
            continue
        node_id, channel, measure = ".".join(parts[1:-2]), parts[-2], parts[-1]
        entry = nodes.setdefault(node_id, {}).setdefault(channel, dict.fromkeys(MEASURES, 0))
        entry[measure] += max(0, value)
        totals.setdefault(channel, dict.fromkeys(MEASURES, 0))[measure] += max(0, value)
    return {"totals": totals, "nodes": nodes}
