"""Time-based triggers: schedules (once or RFC 5545 rrule), contact date fields and inactivity.

The scheduler calls `time_triggers_fire()` periodically. Each (version, trigger node) keeps a cursor of how far
it has fired; an occurrence is offered to every contact of the audience with an `occasion`, so that firing it
twice (two schedulers, a crash between enrolling and moving the cursor) starts nothing twice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from contacts.models import Contact, Segment
from contacts.selectors import contact_as_data, segment_contacts
from events.models import Event
from workflows.engine.conditions import ConditionError, compile_rule
from workflows.engine.registry import registry
from workflows.models import Step, TriggerCursor, Workflow
from workflows.runtime import Entry, enrollments_start, versions_load

logger = logging.getLogger(__name__)

TIME_TRIGGERS = ("trigger_schedule", "trigger_date_field", "trigger_inactivity")


def _active_time_triggers() -> list[Step]:
    steps = Step.objects.filter(
        type__in=TIME_TRIGGERS,
        version__number__isnull=False,
        version__workflow__status=Workflow.Status.ACTIVE,
    ).select_related("version__workflow")
    return [s for s in steps if s.version.number == s.version.workflow.published_version]


def _cursor(step: Step, now: datetime) -> TriggerCursor:
    cursor, _ = TriggerCursor.objects.select_for_update().get_or_create(
        version=step.version, node_id=step.node_id,
        defaults={"fired_until": step.version.published_at or now},
    )
    return cursor


def _audience(workspace, audience: dict[str, Any]) -> list[Contact]:
    contacts = Contact.objects.for_workspace(workspace).filter(status=Contact.Status.SUBSCRIBED)
    if audience.get("segment_id"):
        segment = Segment.objects.for_workspace(workspace).filter(pk=audience["segment_id"]).first()
        if segment is None:
            return []
        contacts = segment_contacts(segment=segment).filter(status=Contact.Status.SUBSCRIBED)
    rule = audience.get("rule")
    if rule is None:
        return list(contacts)
    compiled = compile_rule(rule)
    chosen = []
    for contact in contacts.iterator(chunk_size=2000):
        try:
            if compiled.holds({"contact": contact_as_data(contact)}):
                chosen.append(contact)
        except ConditionError:
            continue
    return chosen


def _fire_schedule(step: Step, config, cursor: TriggerCursor, now: datetime) -> int:
    node_type = registry.get("trigger_schedule")
    due = None
    moment = node_type.next_run(config, after=cursor.fired_until)
    # Fire the latest missed occurrence once, rather than every occurrence missed while nothing ran.
    while moment is not None and moment <= now:
        due = moment
        moment = node_type.next_run(config, after=moment)
    if due is None:
        return 0
    version = versions_load([step.version_id])[step.version_id]
    contacts = _audience(step.version.workflow.workspace, config.audience.model_dump())
    report = enrollments_start(version=version, now=now, entries=[
        Entry(contact_id=c.pk, trigger_node_id=step.node_id, occasion=due.isoformat()) for c in contacts
    ])
    cursor.fired_until = due
    cursor.save(update_fields=["fired_until"])
    return len(report.started)


def _field_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _fire_date_field(step: Step, config, cursor: TriggerCursor, now: datetime) -> int:
    node_type = registry.get("trigger_date_field")
    workflow = step.version.workflow
    version = versions_load([step.version_id])[step.version_id]
    entries = []
    contacts = Contact.objects.for_workspace(workflow.workspace).filter(
        status=Contact.Status.SUBSCRIBED, fields__has_key=config.field
    )
    for contact in contacts.iterator(chunk_size=2000):
        value = _field_date(contact.fields.get(config.field))
        if value is None:
            continue
        moment = node_type.fire_at(config, value=value, timezone=contact.timezone, fallback=version.settings.timezone)
        if cursor.fired_until < moment <= now:
            entries.append(Entry(contact_id=contact.pk, trigger_node_id=step.node_id,
                                 occasion=f"{config.field}:{value.isoformat()}"))
    report = enrollments_start(version=version, entries=entries, now=now) if entries else None
    cursor.fired_until = now
    cursor.save(update_fields=["fired_until"])
    return len(report.started) if report else 0


def _fire_inactivity(step: Step, config, cursor: TriggerCursor, now: datetime) -> int:
    node_type = registry.get("trigger_inactivity")
    workflow = step.version.workflow
    horizon = node_type.inactive_since(config, now=now)
    recent = Event.objects.filter(
        workspace_id=workflow.workspace_id, contact_id=OuterRef("pk"), type__in=config.events,
        occurred_at__gte=horizon,
    )
    contacts = (
        Contact.objects.for_workspace(workflow.workspace)
        .filter(status=Contact.Status.SUBSCRIBED, created_at__lt=horizon)
        .annotate(active=Exists(recent))
        .filter(active=False)
    )
    version = versions_load([step.version_id])[step.version_id]
    # One entry per contact per inactivity spell: the spell is named by the day it became long enough.
    entries = [Entry(contact_id=c.pk, trigger_node_id=step.node_id, occasion=f"inactive-since:{horizon.date()}")
               for c in contacts]
    report = enrollments_start(version=version, entries=entries, now=now) if entries else None
    cursor.fired_until = now
    cursor.save(update_fields=["fired_until"])
    return len(report.started) if report else 0


_FIRE = {"trigger_schedule": _fire_schedule, "trigger_date_field": _fire_date_field,
         "trigger_inactivity": _fire_inactivity}
# Date-field and inactivity triggers scan contacts: at most this often per trigger.
SCAN_INTERVAL = timedelta(minutes=5)


def time_triggers_fire(*, now: datetime | None = None) -> int:
    """Fire every due time-based trigger of the active versions; return how many enrollments started."""
    now = now or timezone.now()
    started = 0
    for step in _active_time_triggers():
        node_type = registry.get(step.type)
        try:
            config = node_type.parse_config(step.config)
        except Exception:  # a published version was validated; a type change since then must not stop others
            logger.exception("Trigger %s of version %s has an invalid config", step.node_id, step.version_id)
            continue
        with transaction.atomic():
            cursor = _cursor(step, now)
            if step.type != "trigger_schedule" and now - cursor.fired_until < SCAN_INTERVAL:
                continue
            started += _FIRE[step.type](step, config, cursor, now)
    return started
