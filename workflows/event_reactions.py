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
from workflows.live_versions import LiveVersion, versions_load
from workflows.models import Enrollment
from workflows.trigger_index import trigger_index

__all__ = ["READ_BY_TYPE", "events_unreacted", "version_awaited_types"]

# Read by type whatever the workspace's workflows are: channel analytics (delivered, engaged, failed), send-time
# optimization's engagement hours, interests, and the clicks of content recommendations (email.clicked).
READ_BY_TYPE = frozenset(EVENT_MEASURES) | frozenset(ENGAGING) | CLICKS


# By version id, for published versions only (they never change); cleared when it grows past the versions
# `workflows.live_versions` keeps.
_awaited_by_version: dict[UUID, frozenset[str]] = {}


def version_awaited_types(version: LiveVersion) -> frozenset[str]:
    """Return the event types an enrollment of `version` could wait for or exit on, wherever it stands.

    Every node's `event` setting counts (a `wait_for_event`'s; a trigger's too, which costs nothing to include),
    and every exit condition's (goals are exit conditions).
    """
    cached = _awaited_by_version.get(version.id)
    if cached is not None:
        return cached
    types = {node.config.get("event") for node in version.graph.nodes}
    types.update(condition.event for condition in version.settings.exit_conditions)
    awaited = frozenset(t for t in types if isinstance(t, str) and t)
    if version.number is not None:
        if len(_awaited_by_version) > 5000:
            _awaited_by_version.clear()
        _awaited_by_version[version.id] = awaited
    return awaited


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
            awaited[contact_id].update(version_awaited_types(version))
    return awaited


def events_unreacted(*, workspace_id: UUID, events: Sequence[PendingEvent]) -> list[bool]:
    """Return, for each of `events` (of one workspace, about to be written), whether processing would do
    nothing with it. Reads the trigger index, the workspace's subscriptions and its contacts' live enrollments:
    at most two queries, none when every type is read anyway."""
    # The index and the enrollments are keyed by UUID; a producer may name the workspace or a contact by its text.
    workspace_id = _uuid(workspace_id)
    index = trigger_index()
    quiet = {event.type for event in events
             if event.type not in READ_BY_TYPE and not index.triggers_for(workspace_id, event.type)}
    if quiet:
        quiet -= subscriptions_want(workspace_id, quiet)
    contacts = [None if event.contact_id is None else _uuid(event.contact_id) for event in events]
    asked = {contact for event, contact in zip(events, contacts, strict=True)
             if event.type in quiet and contact is not None}
    awaited = _awaited_by_contact(asked) if asked else {}
    return [event.type in quiet and (contact is None or event.type not in awaited.get(contact, ()))
            for event, contact in zip(events, contacts, strict=True)]


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
