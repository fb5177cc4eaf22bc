"""The runtime's side of the interface between event processing and the engine (`events.gateway`).

Event processing hands over a batch of events. Here they become enrollments (`workflows.entry_path`: event, segment
and score triggers), resumed waits (wait_for_event) and exits (exit conditions and goals), deliveries to the
workspace's webhook subscriptions (`webhooks.fanout`), the channel analytics of the messages the events are
about (`workflows.channel_analytics`) and the engagement hours of send-time optimization
(`workflows.engagement_hours`), the contacts' interests (`contacts.interests`) and the clicks on templates
chosen among candidates (`workflows.content_choices`), in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone

from contacts.interests import interests_record
from events.gateway import EventRecord, PendingEvent
from webhooks.fanout import deliveries_fan_out
from workflows.channel_analytics import count_channel_events
from workflows.content_choices import content_clicks_record
from workflows.counters import Counters
from workflows.engagement_hours import engagement_hours_record
from workflows.entry_path import event_entries, event_entries_start, event_record_data
from workflows.event_reactions import events_unreacted
from workflows.live_versions import versions_load
from workflows.models import Enrollment
from workflows.runtime import enrollments_advance, event_as_resume


class RuntimeGateway:
    """Enroll for the triggers a batch of events starts, resume waiting enrollments and apply exit conditions."""

    def process(self, *, events: Sequence[EventRecord], now: datetime | None = None) -> None:
        now = now or timezone.now()
        event_entries_start(events, now=now)
        self._resume_and_exit(events, now)
        deliveries_fan_out(events=events, now=now)
        counters = Counters()
        count_channel_events(counters, events)  # delivered, engaged, failed: per workflow, node and channel
        counters.flush()
        engagement_hours_record(events)  # when each contact engages: send-time optimization's evidence
        interests_record(events)  # which topics and links each contact clicks: `contact.interests`
        content_clicks_record(events)  # which candidate templates were clicked: content recommendations' evidence

    def count_entries(self, *, events: Sequence[EventRecord], now: datetime | None = None) -> int:
        return len(event_entries(events, now=now or timezone.now()))

    def unreacted(self, *, workspace_id: UUID, events: Sequence[PendingEvent]) -> list[bool]:
        return events_unreacted(workspace_id=workspace_id, events=events)

    def _resume_and_exit(self, events: Sequence, now) -> None:
        with_contact = [e for e in events if e.contact_id is not None and not e.is_bot]
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
                # Branches of a parallel may wait for several events: their types, separated by spaces.
                if event.type != waiting_for and event.type not in exit_types.get(version_id, ()) \
                        and event.type not in waiting_for.split(" "):
                    continue
                index = position[enrollment_id]
                position[enrollment_id] += 1
                while len(rounds) <= index:
                    rounds.append({})
                rounds[index][enrollment_id] = event_as_resume(event_record_data(event), now=now)
        for resumes in rounds:
            enrollments_advance(enrollment_ids=list(resumes), resumes=resumes, now=now)
