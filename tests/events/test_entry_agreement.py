"""Simulation and live runs enroll the same contacts in the same versions.

Hypothesis draws trigger configs (event triggers with filters using `in_segment`, `event_count`, `email_event`,
`days_since`, segment and score triggers), contacts and their events. Live: the workflows are published and the
contacts and events stored in PostgreSQL; each event is processed in time order, at its own moment, through the
real processing and the real gateway. Simulated: each contact's events are simulated against each published
version. A contact counts as entered in a simulation when an event started the run (not the implicit manual
entry of a timeline that no trigger listens to).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contacts.models import SegmentMembership
from contacts.selectors import contact_as_data
from events import processing
from events.services import event_emit
from tests.engine.graphs import node
from tests.factories import ContactFactory, SegmentFactory
from tests.workflows.builders import publish
from workflows import trigger_index
from workflows.engine.simulator import simulate
from workflows.live_versions import versions_load
from workflows.models import Enrollment
from workflows.runtime_gateway import RuntimeGateway

SEGMENT, DELETED, OTHER = "<segment>", "<deleted segment>", "<another segment>"

FILTERS = [
    None,
    {"in_segment": [SEGMENT]},
    {"in_segment": [DELETED]},
    {"in": ["vip", {"var": "contact.tags"}]},
    {">=": [{"event_count": {"type": "page.viewed", "within": "P7D"}}, 2]},
    {"email_event": {"event": "opened", "within": "P3D"}},
    {"<": [{"days_since": [{"var": "contact.created_at"}]}, -2]},
    {"and": [{"in_segment": [SEGMENT]}, {">": [{"var": "contact.score"}, 20]}]},
]
EVENT_TYPES = ["page.viewed", "email.opened"]
SCORES = [0, 10, 30, 50, 60]

event_triggers = st.builds(
    lambda event, rule: ("trigger_event", {"event": event, **({"filter": rule} if rule is not None else {})}),
    st.sampled_from(EVENT_TYPES), st.sampled_from(FILTERS),
)
triggers = st.one_of(
    event_triggers,
    event_triggers,  # filters are where simulation and live runs used to part: drawn twice as often
    st.builds(lambda on: ("trigger_segment", {"segment_id": SEGMENT, "on": on}), st.sampled_from(["enter", "exit"])),
    st.builds(lambda threshold, direction: ("trigger_score", {"threshold": threshold, "direction": direction}),
              st.sampled_from([10, 50]), st.sampled_from(["up", "down"])),
)
plain_events = st.builds(lambda kind: (kind, {}), st.sampled_from(EVENT_TYPES))
events = st.one_of(
    plain_events,
    plain_events,
    st.builds(lambda old, new: ("contact.updated", {"changes": {"score": [old, new]}}),
              st.sampled_from(SCORES), st.sampled_from(SCORES)),
    st.builds(lambda kind, segment: (kind, {"segment_id": segment}),
              st.sampled_from(["segment.entered", "segment.exited"]), st.sampled_from([SEGMENT, OTHER])),
)
# Hours before "now": far enough apart that the 7-day and 3-day windows of the filters see different pasts.
MOMENTS = [-20 * 24, -6 * 24, -4 * 24, -50, -30, -1, 0]
timelines = st.lists(st.tuples(st.sampled_from(MOMENTS), events), min_size=1, max_size=5,
                     unique_by=lambda item: item[0])
contacts = st.lists(
    st.fixed_dictionaries({
        "tags": st.sampled_from([[], ["vip"], ["trial"]]),
        "score": st.sampled_from(SCORES),
        "member": st.booleans(),
        "events": timelines,
    }),
    min_size=2, max_size=4,
)


def _resolve(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _resolve(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, names) for item in value]
    return names.get(value, value) if isinstance(value, str) else value


def _live(workspace, workflows, people, names, now) -> set[tuple[Any, Any]]:
    """Store each contact's events and process each at its moment, in time order, through the real gateway."""
    for contact, drawn in people:
        for hours, (kind, properties) in sorted(drawn["events"], key=lambda item: item[0]):
            at = now + timedelta(hours=hours)
            event = event_emit(workspace=workspace, type=kind, contact_id=contact.pk, occurred_at=at,
                               properties=_resolve(properties, names))
            processing.events_process(event_ids=[event.id], gateway=RuntimeGateway(), now=at)
    return set(Enrollment.objects.filter(workflow__in=workflows).values_list("contact_id", "workflow_id"))


def _simulated(workflows, people, names, now) -> set[tuple[Any, Any]]:
    """Simulate each contact's events against each published version."""
    entered = set()
    versions = versions_load([workflow.versions.get(number=1).pk for workflow in workflows])
    for contact, drawn in people:
        person = {**contact_as_data(contact), "segments": [names[SEGMENT]] if drawn["member"] else []}
        timeline = [{"at": (now + timedelta(hours=hours)).isoformat(), "type": kind,
                     "properties": _resolve(properties, names)} for hours, (kind, properties) in drawn["events"]]
        for version in versions.values():
            result = simulate(graph=version.graph, settings=version.settings, contact=person,
                              start=now - timedelta(days=30), events=timeline, until="P31D",
                              segments_existing={names[SEGMENT], names[OTHER]})
            if result.state is not None and result.state.trigger_event is not None:
                entered.add((contact.pk, version.workflow_id))
    return entered


@pytest.mark.django_db
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(configs=st.lists(triggers, min_size=2, max_size=5), drawn_contacts=contacts)
# The cases that once parted them: a segment filter (the member and the outsider), a segment deleted since
# publishing, a score going down to its threshold.
@example(
    configs=[("trigger_event", {"event": "page.viewed", "filter": {"in_segment": [SEGMENT]}}),
             ("trigger_event", {"event": "email.opened", "filter": {"in_segment": [DELETED]}}),
             ("trigger_score", {"threshold": 50, "direction": "down"})],
    drawn_contacts=[
        {"tags": [], "score": 0, "member": True,
         "events": [(-30, ("page.viewed", {})), (-1, ("email.opened", {}))]},
        {"tags": [], "score": 0, "member": False,
         "events": [(-30, ("page.viewed", {})), (0, ("contact.updated", {"changes": {"score": [60, 50]}}))]},
    ],
)
def test_simulation_and_live_processing_enroll_the_same_contacts(workspace, configs, drawn_contacts):
    with transaction.atomic():
        trigger_index._cache.reset()  # each example publishes its own workflows
        segment, other = SegmentFactory(workspace=workspace), SegmentFactory(workspace=workspace)
        names = {SEGMENT: str(segment.pk), OTHER: str(other.pk), DELETED: str(uuid.uuid4())}
        workflows = [publish(workspace, [node("t", kind, _resolve(config, names))], [], name=f"W{index}")
                     for index, (kind, config) in enumerate(configs)]
        people = []
        for drawn in drawn_contacts:
            contact = ContactFactory(workspace=workspace, tags=drawn["tags"], score=drawn["score"])
            if drawn["member"]:
                SegmentMembership.objects.create(segment=segment, contact=contact)
            people.append((contact, drawn))
        now = timezone.now()

        live = _live(workspace, workflows, people, names, now)
        assert _simulated(workflows, people, names, now) == live
        transaction.set_rollback(True)
    trigger_index._cache.reset()
