"""Which events, about to be written, processing would do nothing with: those are written already processed.

Processing a batch (`workflows.runtime_gateway.RuntimeGateway.process`) reacts to an event in these ways only:

- a trigger of an active workflow's published version listens to its type (the trigger index: event, segment and
  score triggers);
- a live enrollment of its contact waits for its type or exits on it (`wait_for_event`, exit conditions, goals);
- an active webhook subscription of its workspace wants its type;
- channel analytics, send-time optimization, interests and content recommendations read it (`READ_BY_TYPE`: a
  fixed list of delivery and engagement types).

An event none of these reacts to would cost an insert, a claim and a mark, and a place in the queue, for nothing.
The runtime's own `workflow.enrolled`, `workflow.completed` and `email.sent` are mostly such events: about two
thirds of the events of a workflow that sends a message, and in `bench soak` the largest cost in PostgreSQL.

The question is answered in the writer's transaction, when the event is written, rather than a moment later
when it would have been processed:
- a live enrollment whose version could wait for the type or exit on it (any node's `event`, any exit condition)
  keeps the event unprocessed, even while it is still on its way to the wait: an event that comes as the wait
  begins resumes it, as before;
- a trigger published, or a subscription made, after the event was written is not offered it: the same as an
  event processed just before the publish (the trigger index itself is refreshed within `CHECK_TOKEN_EVERY`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from contacts.interests import CLICKS
from events.gateway import PendingEvent
from webhooks.fanout import subscriptions_want
from workflows.channel_analytics import EVENT_MEASURES
from workflows.engagement_hours import ENGAGING
from workflows.live_versions import versions_load
from workflows.models import Enrollment
from workflows.trigger_index import trigger_index

__all__ = ["READ_BY_TYPE", "events_unreacted"]

# Read by type whatever the workspace's workflows are: channel analytics (delivered, engaged, failed), send-time
# optimization's engagement hours, interests, and the clicks of content recommendations (email.clicked).
READ_BY_TYPE = frozenset(EVENT_MEASURES) | frozenset(ENGAGING) | CLICKS


def _awaited_by_contact(contact_ids: set[UUID]) -> dict[UUID, set[str]]:
    """The event types the live enrollments of these contacts wait for now or could wait for or exit on."""
    live = list(Enrollment.objects.filter(contact_id__in=contact_ids, status__in=Enrollment.LIVE_STATUSES)
                .values_list("contact_id", "version_id", "waiting_for"))
    versions = versions_load({version_id for _, version_id, _ in live})
    awaited: dict[UUID, set[str]] = defaultdict(set)
    for contact_id, version_id, waiting_for in live:
        awaited[contact_id].update(waiting_for.split())  # branches of a parallel: types separated by spaces
        version = versions.get(version_id)
        if version is not None:
            awaited[contact_id].update(version.awaited_event_types)
    return awaited


def events_unreacted(*, workspace_id: UUID, events: Sequence[PendingEvent]) -> list[bool]:
    """Return, for each of `events` (of one workspace, about to be written), whether processing would do
    nothing with it. Reads the trigger index, the workspace's subscriptions and its contacts' live enrollments:
    at most two queries, none when every type is read anyway."""
    index = trigger_index()
    quiet = {event.type for event in events
             if event.type not in READ_BY_TYPE and not index.triggers_for(workspace_id, event.type)}
    if quiet:
        quiet -= subscriptions_want(workspace_id, quiet)
    asked = {event.contact_id for event in events if event.type in quiet and event.contact_id is not None}
    awaited = _awaited_by_contact(asked) if asked else {}
    return [event.type in quiet
            and (event.contact_id is None or event.type not in awaited.get(event.contact_id, ()))
            for event in events]
