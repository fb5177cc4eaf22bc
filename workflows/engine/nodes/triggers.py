"""Triggers: the nodes where enrollments start. Running one simply moves on to its next node.

Each trigger type alone decides when it starts an enrollment (``workflows.engine.entry.TriggerType``): event
triggers say which event types they listen to and whether one starts them; time-based ones say who enters on a
tick. The live runtime and the simulator only ask.

Over 400 lines because each trigger type carries its presets (the builder's trigger library) beside it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from dateutil.rrule import rrulestr
from pydantic import AwareDatetime, Field, field_validator, model_validator

from workflows.engine.conditions import ConditionError
from workflows.engine.durations import parse_duration
from workflows.engine.entry import TimeFiring, TriggerContacts, TriggerScope, TriggerType
from workflows.engine.presets import PLACEHOLDER_CAMPAIGN, PLACEHOLDER_SEGMENT, Preset
from workflows.engine.registry import NodeConfig, Reference, node_type
from workflows.engine.timing import local_moment, local_moments, zone_or
from workflows.engine.types import ClockTime, Duration, EventType, Rule, TimeZoneName, parse_clock_time, zone

__all__ = [
    "SCAN_INTERVAL",
    "DateFieldTrigger",
    "EventTrigger",
    "InactivityTrigger",
    "ManualTrigger",
    "ScheduleTrigger",
    "ScoreTrigger",
    "SegmentTrigger",
    "WebhookTrigger",
]


# Date-field and inactivity triggers scan every contact of the workspace: at most this often per trigger.
SCAN_INTERVAL = timedelta(minutes=5)


@node_type(
    "trigger_event",
    kind="trigger",
    label="Event",
    description="Start when the contact does something: an event of this type (optionally matching a filter).",
)
class EventTrigger(TriggerType):
    presets = (
        Preset("email-sent", "Email sent", "When an email is sent to the contact.", "email",
               {"event": "email.sent"}, {"event": {"type": "email.sent"}}),
        Preset("email-opened", "Email opened", "When the contact opens an email.", "email",
               {"event": "email.opened"}, {"event": {"type": "email.opened"}}),
        Preset("email-link-clicked", "Email link clicked",
               "When the contact clicks a link in an email whose address contains a text.", "email",
               {"event": "email.clicked", "filter": {"contains": [{"var": "event.properties.url"}, "/pricing"]}},
               {"event": {"type": "email.clicked", "properties": {"url": "https://example.com/pricing"}},
                "fill_in": "Replace '/pricing' with a part of the link's address."}),
        Preset("email-replied", "Email replied", "When the contact replies to an email.", "email",
               {"event": "email.replied"}, {"event": {"type": "email.replied"}}),
        Preset("email-bounced", "Email bounced (hard)", "When an email to the contact bounces for good.", "email",
               {"event": "email.bounced", "filter": {"==": [{"var": "event.properties.bounce_type"}, "hard"]}},
               {"event": {"type": "email.bounced", "properties": {"bounce_type": "hard"}}}),
        Preset("email-unsubscribed", "Unsubscribed", "When the contact unsubscribes through an email.", "email",
               {"event": "email.unsubscribed"}, {"event": {"type": "email.unsubscribed"}}),
        Preset("sms-received", "SMS reply", "When the contact texts back (not STOP or START).", "sms",
               {"event": "sms.received", "filter": {"==": [{"var": "event.properties.keyword"}, None]}},
               {"event": {"type": "sms.received", "properties": {"text": "Yes please", "keyword": None}}}),
        Preset("sms-failed", "SMS not delivered", "When an SMS to the contact could not be delivered.", "sms",
               {"event": "sms.failed"}, {"event": {"type": "sms.failed", "properties": {"error_code": "30003"}}}),
        Preset("crm-deal-stage-changed", "CRM deal reaches a stage",
               "When a deal of the contact moves to a stage in your CRM (HubSpot, Salesforce, Pipedrive).",
               "integration",
               {"event": "crm.deal_stage_changed",
                "filter": {"==": [{"var": "event.properties.stage"}, "Meeting Booked"]}},
               {"event": {"type": "crm.deal_stage_changed",
                          "properties": {"crm": "salesforce", "stage": "Meeting Booked", "previous_stage": "Prospecting"}},
                "fill_in": "Replace 'Meeting Booked' with your CRM's stage (HubSpot: its internal name, Pipedrive: "
                           "the stage id)."}),
        Preset("crm-contact-updated", "CRM contact updated", "When the contact's record changes in your CRM.",
               "integration", {"event": "crm.contact_updated"},
               {"event": {"type": "crm.contact_updated",
                          "properties": {"crm": "hubspot", "changes": {"lifecyclestage": "customer"}}}}),
        Preset("push-clicked", "Push notification clicked", "When the contact clicks a web push notification.",
               "push", {"event": "push.clicked"},
               {"event": {"type": "push.clicked", "properties": {"url": "https://example.com/offer"}}}),
        Preset("push-expired", "Browser unsubscribed from push",
               "When a push service says one of the contact's browsers is gone (its subscription expired).", "push",
               {"event": "push.failed", "filter": {"==": [{"var": "event.properties.reason"}, "subscription_expired"]}},
               {"event": {"type": "push.failed", "properties": {"reason": "subscription_expired"}}}),
        Preset("sms-delivered", "SMS delivered", "When an SMS reaches the contact's phone.", "sms",
               {"event": "sms.delivered"}, {"event": {"type": "sms.delivered"}}),
        Preset("push-failed", "Push notification failed",
               "When a push notification could not be delivered to the contact's browser.", "push",
               {"event": "push.failed"}, {"event": {"type": "push.failed"}}),
        Preset("contact-created", "Contact created", "When a contact is created (signup, import, API).",
               "contact", {"event": "contact.created"}, {"event": {"type": "contact.created"}}),
        Preset("contact-updated", "Contact updated", "When any attribute or field of the contact changes.",
               "contact", {"event": "contact.updated"},
               {"event": {"type": "contact.updated", "properties": {"changes": {"first_name": ["Ada", "Ada L."]}}}}),
        Preset("contact-tagged", "Contact tagged", "When the contact gets a given tag.", "contact",
               {"event": "contact.tagged", "filter": {"==": [{"var": "event.properties.tag"}, "vip"]}},
               {"event": {"type": "contact.tagged", "properties": {"tag": "vip"}},
                "fill_in": "Replace 'vip' with the tag."}),
        Preset("contact-field-changed", "Field changed to a value",
               "When a named field of the contact changes to a given value.", "contact",
               {"event": "contact.updated",
                "filter": {"and": [{"!!": [{"var": "event.properties.changes.plan"}]},
                                   {"==": [{"var": "contact.fields.plan"}, "pro"]}]}},
               {"event": {"type": "contact.updated", "properties": {"changes": {"plan": ["free", "pro"]}}},
                "contact": {"fields": {"plan": "pro"}},
                "fill_in": "Replace 'plan' (twice) with the field's name and 'pro' with the value."}),
        Preset("campaign-contact-added", "Added to a campaign", "When the contact is added to a campaign.",
               "campaign",
               {"event": "campaign.contact_added",
                "filter": {"==": [{"var": "event.properties.campaign_id"}, PLACEHOLDER_CAMPAIGN]}},
               {"event": {"type": "campaign.contact_added", "properties": {"campaign_id": PLACEHOLDER_CAMPAIGN}},
                "fill_in": f"Replace {PLACEHOLDER_CAMPAIGN} with the id of a campaign."}),
        Preset("campaign-contact-removed", "Removed from a campaign",
               "When the contact is removed from a campaign.", "campaign",
               {"event": "campaign.contact_removed",
                "filter": {"==": [{"var": "event.properties.campaign_id"}, PLACEHOLDER_CAMPAIGN]}},
               {"event": {"type": "campaign.contact_removed", "properties": {"campaign_id": PLACEHOLDER_CAMPAIGN}},
                "fill_in": f"Replace {PLACEHOLDER_CAMPAIGN} with the id of a campaign."}),
        Preset("campaign-contact-completed", "Campaign completed",
               "When the contact reaches the end of a campaign.", "campaign",
               {"event": "campaign.contact_completed",
                "filter": {"==": [{"var": "event.properties.campaign_id"}, PLACEHOLDER_CAMPAIGN]}},
               {"event": {"type": "campaign.contact_completed",
                          "properties": {"campaign_id": PLACEHOLDER_CAMPAIGN}},
                "fill_in": f"Replace {PLACEHOLDER_CAMPAIGN} with the id of a campaign."}),
        Preset("form-submitted", "Form submitted", "When the contact submits a given form.", "web",
               {"event": "form.submitted", "filter": {"==": [{"var": "event.properties.form"}, "demo-request"]}},
               {"event": {"type": "form.submitted", "properties": {"form": "demo-request"}},
                "fill_in": "Replace 'demo-request' with the form's name as your site sends it."}),
        Preset("page-visited", "Page visited", "When the contact views a page whose address contains a text.",
               "web",
               {"event": "page.viewed", "filter": {"contains": [{"var": "event.properties.url"}, "/pricing"]}},
               {"event": {"type": "page.viewed", "properties": {"url": "https://example.com/pricing"}},
                "fill_in": "Replace '/pricing' with a part of the page's address."}),
        Preset("custom-event", "Custom API event",
               "When your application sends an event of its own type through POST /api/v1/events.", "api",
               {"event": "order.completed"},
               {"event": {"type": "order.completed", "properties": {"total": 49}},
                "fill_in": "Replace 'order.completed' with your event type (e.g. 'app.trial_started')."}),
    )
    entered_by = "event"

    class Config(NodeConfig):
        event: EventType
        filter: Rule | None = Field(default=None, description="JsonLogic over {event, contact}")

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [("filter", config.filter)] if config.filter is not None else []

    def listens_to(self, config: Config) -> tuple[str, ...]:
        return (config.event,)

    def reads_contact(self, config: Config) -> bool:
        return config.filter is not None

    def matches(self, config: Config, scope: TriggerScope) -> bool:
        if (scope.event or {}).get("type") != config.event:
            return False
        return config.filter is None or scope.holds(config.filter)

    def not_entered_reason(self, config: Config) -> str:
        return "its filter does not hold for this event and contact"


@node_type(
    "trigger_segment",
    kind="trigger",
    label="Segment",
    description="Start when the contact enters (or leaves) a segment.",
)
class SegmentTrigger(TriggerType):
    presets = (
        Preset("segment-entered", "Segment entered", "When the contact enters a segment.", "segment",
               {"segment_id": PLACEHOLDER_SEGMENT, "on": "enter"},
               {"event": {"type": "segment.entered", "properties": {"segment_id": PLACEHOLDER_SEGMENT}},
                "fill_in": f"Replace {PLACEHOLDER_SEGMENT} with the id of a segment."}),
        Preset("segment-left", "Segment left", "When the contact leaves a segment.", "segment",
               {"segment_id": PLACEHOLDER_SEGMENT, "on": "exit"},
               {"event": {"type": "segment.exited", "properties": {"segment_id": PLACEHOLDER_SEGMENT}},
                "fill_in": f"Replace {PLACEHOLDER_SEGMENT} with the id of a segment."}),
    )
    entered_by = "event"
    references = (Reference("segment_id", "contacts.Segment", "segment", collection="segments"),)

    class Config(NodeConfig):
        segment_id: str = Field(min_length=1)
        on: Literal["enter", "exit"] = "enter"

    def listens_to(self, config: Config) -> tuple[str, ...]:
        return ("segment.entered",) if config.on == "enter" else ("segment.exited",)

    def matches(self, config: Config, scope: TriggerScope) -> bool:
        event = scope.event or {}
        properties = event.get("properties") or {}
        return event.get("type") in self.listens_to(config) and str(properties.get("segment_id")) == config.segment_id

    def not_entered_reason(self, config: Config) -> str:
        return f"the event is about another segment than {config.segment_id}"


class Audience(NodeConfig):
    segment_id: str | None = Field(default=None, min_length=1)
    rule: Rule | None = Field(default=None, description="JsonLogic over {contact}")


@node_type(
    "trigger_schedule",
    kind="trigger",
    label="Schedule",
    description="Start for an audience once at a moment, or on each occurrence of an RFC 5545 recurrence rule.",
)
class ScheduleTrigger(TriggerType):
    presets = (
        Preset("once-at-date", "Once at a date", "Once, at a moment, for every subscribed contact.", "time",
               {"at": "2027-01-15T09:00:00Z"},
               {"fill_in": "Set 'at' to the moment; narrow 'audience' to a segment or a rule if needed."}),
        Preset("recurring-weekly", "Every week", "Every Monday at 09:00 (an RFC 5545 recurrence rule).", "time",
               {"rrule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", "timezone": "UTC"},
               {"fill_in": "Change the rule (e.g. 'FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9') and the time zone."}),
    )
    entered_by = "time"
    # Checked only when given: a schedule without a segment speaks to every subscribed contact.
    references = (Reference("audience.segment_id", "contacts.Segment", "segment", optional=True,
                            collection="segments"),)

    class Config(NodeConfig):
        at: AwareDatetime | None = Field(default=None, title="At (date and time)")
        rrule: str | None = Field(default=None, title="Repeat rule (RRULE)", examples=["FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"])
        timezone: TimeZoneName = "UTC"
        audience: Audience = Audience()

        @field_validator("rrule")
        @classmethod
        def _valid_rrule(cls, value: str | None) -> str | None:
            if value is not None:
                try:
                    rrulestr(value, dtstart=datetime(2026, 1, 1))
                except (ValueError, TypeError, KeyError) as error:
                    raise ValueError(f"not a valid RFC 5545 recurrence rule ({error})") from None
            return value

        @model_validator(mode="after")
        def _once_or_recurring(self) -> ScheduleTrigger.Config:
            if (self.at is None) == (self.rrule is None):
                raise ValueError("give exactly one of 'at' (a moment) or 'rrule' (a recurrence rule)")
            return self

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [("audience.rule", config.audience.rule)] if config.audience.rule is not None else []

    def next_run(self, config: Config, *, after: datetime) -> datetime | None:
        """Return the first occurrence strictly after ``after`` (``None`` when there is none)."""
        if config.at is not None:
            return config.at if config.at > after else None
        tz = zone(config.timezone)
        local_after = after.astimezone(tz).replace(tzinfo=None)
        # The rule is read in wall-clock time of its zone so that "09:00 every Monday" survives DST changes.
        rule = rrulestr(config.rrule or "", dtstart=local_after.replace(second=0, microsecond=0))
        found = rule.after(local_after)
        while found is not None:
            # `after` in the hour a fall-back repeats (a version published then) is, as a wall-clock time, earlier
            # than occurrences that are already past: the first one later than `after` in real time is wanted.
            for moment in local_moments(found.date(), found.time(), tz):
                if moment > after:
                    return moment
            found = rule.after(found)
        return None

    def due_occurrence(self, config: Config, *, fired_until: datetime, now: datetime) -> datetime | None:
        """Return the latest occurrence in ``(fired_until, now]``: a schedule that missed several occurrences
        while nothing ran fires once, for the last of them, rather than once for each."""
        due = None
        moment = self.next_run(config, after=fired_until)
        while moment is not None and moment <= now:
            due = moment
            moment = self.next_run(config, after=moment)
        return due

    def fire(
        self, config: Config, *, fired_until: datetime, now: datetime, contacts: TriggerContacts, timezone: str
    ) -> TimeFiring | None:
        due = self.due_occurrence(config, fired_until=fired_until, now=now)
        if due is None:
            return None
        firing = TimeFiring(fired_until=due)
        rule = config.audience.rule
        for contact in contacts.subscribed(segment_id=config.audience.segment_id):
            if rule is not None:
                # The audience rule reads the contact only: a whole audience's history is not read at once.
                scope = TriggerScope(event=None, contact=contact.data, contact_id=contact.id, activity=None, now=now)
                try:
                    if not scope.holds(rule):
                        continue
                except ConditionError as error:
                    firing.not_entered.append((contact.id, f"the audience rule could not be evaluated ({error})"))
                    continue
            firing.entries.append((contact.id, due.isoformat()))
        return firing


@node_type(
    "trigger_date_field",
    kind="trigger",
    label="Date field",
    description="Start relative to a date in the contact's fields, e.g. 3 days before the renewal date at 09:00.",
)
class DateFieldTrigger(TriggerType):
    presets = (
        Preset("date-field-anniversary", "Date field anniversary",
               "On the date held in a contact field (a birthday or renewal date kept for the coming year), "
               "at 09:00 in the contact's time zone.", "time",
               {"field": "anniversary", "offset": "PT0S", "at_time": "09:00"},
               {"contact": {"fields": {"anniversary": "2027-03-14"}},
                "fill_in": "Replace 'anniversary' with the name of a date field (YYYY-MM-DD)."}),
        Preset("date-field-reminder", "Days before a date",
               "Three days before the date held in a contact field (e.g. a renewal date).", "time",
               {"field": "renewal_date", "offset": "-P3D", "at_time": "09:00"},
               {"contact": {"fields": {"renewal_date": "2027-03-14"}},
                "fill_in": "Replace 'renewal_date' with the name of a date field (YYYY-MM-DD)."}),
    )
    entered_by = "time"
    scan_interval = SCAN_INTERVAL

    class Config(NodeConfig):
        field: str = Field(min_length=1, max_length=100)
        offset: Duration = Field(default="PT0S", description="ISO 8601, negative for before (e.g. -P3D)",
                                 json_schema_extra={"x-allows-negative": True})
        at_time: ClockTime = Field(default="09:00", title="At (time of day)")

    def fire_at(self, config: Config, *, value: date, timezone: str | None, fallback: str = "UTC") -> datetime:
        """Return the moment this trigger fires for a contact whose field holds ``value``, in the contact's
        ``timezone`` (the workflow's ``fallback`` when it has none, or one that is not a zone)."""
        # Wall-clock arithmetic: "3 days before at 09:00" stays 09:00 even when a DST change lies between.
        local = datetime.combine(value, parse_clock_time(config.at_time)) + parse_duration(config.offset)
        return local_moment(local.date(), local.time(), zone_or(timezone, fallback=fallback))

    def fire(
        self, config: Config, *, fired_until: datetime, now: datetime, contacts: TriggerContacts, timezone: str
    ) -> TimeFiring:
        firing = TimeFiring(fired_until=now)
        for contact in contacts.with_field(field=config.field):
            value = _field_date(contact.fields.get(config.field))
            if value is None:
                continue  # not a date: the field says nothing about when to fire
            moment = self.fire_at(config, value=value, timezone=contact.timezone, fallback=timezone)
            if fired_until < moment <= now:
                firing.entries.append((contact.id, f"{config.field}:{value.isoformat()}"))
        return firing


def _field_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@node_type(
    "trigger_inactivity",
    kind="trigger",
    label="Inactivity",
    description="Start when the contact has had none of these events for a number of days: once per spell of "
                "quiet (again only after the contact was active and went quiet again).",
)
class InactivityTrigger(TriggerType):
    presets = (
        Preset("inactivity", "Inactive for 30 days",
               "When the contact has not opened or clicked an email, nor viewed a page, for 30 days.", "time",
               {"days": 30, "events": ["email.opened", "email.clicked", "page.viewed"]},
               {"fill_in": "Change the number of days and the events that count as activity."}),
    )
    entered_by = "time"
    scan_interval = SCAN_INTERVAL
    reoffers = True  # every scan offers every quiet contact again; its spell's occasion starts each once

    class Config(NodeConfig):
        days: int = Field(ge=1, le=3650)
        events: list[EventType] = Field(min_length=1, max_length=50)

    def inactive_since(self, config: Config, *, now: datetime) -> datetime:
        """Return the moment before which the last of ``events`` must lie for the contact to qualify."""
        return now - timedelta(days=config.days)

    def fire(
        self, config: Config, *, fired_until: datetime, now: datetime, contacts: TriggerContacts, timezone: str
    ) -> TimeFiring:
        horizon = self.inactive_since(config, now=now)
        quiet = contacts.inactive(events=config.events, since=horizon)
        # One entry per contact per inactivity spell: a spell is named by the contact's last activity (or, never
        # active, by its creation), so a contact quiet for months enters once, and again only once it was active
        # and went quiet again. (Named by the day, a quiet contact entered again every day under `always`.)
        return TimeFiring(fired_until=now, entries=[
            (contact_id, f"inactive-after:{last.isoformat() if last is not None else 'created'}")
            for contact_id, last in quiet
        ])


@node_type(
    "trigger_score",
    kind="trigger",
    label="Score",
    description="Start when the contact's score crosses a threshold, going up or down.",
)
class ScoreTrigger(TriggerType):
    presets = (
        Preset("score-threshold", "Score reaches 100", "When the contact's score goes up to 100 or more.",
               "contact", {"threshold": 100, "direction": "up"},
               {"event": {"type": "contact.updated", "properties": {"changes": {"score": [90, 105]}}},
                "contact": {"score": 105},
                "fill_in": "Change the threshold, or the direction to 'down'."}),
    )
    entered_by = "event"

    class Config(NodeConfig):
        threshold: int | float
        direction: Literal["up", "down"] = "up"

    def listens_to(self, config: Config) -> tuple[str, ...]:
        return ("contact.updated",)

    def matches(self, config: Config, scope: TriggerScope) -> bool:
        event = scope.event or {}
        if event.get("type") != "contact.updated":
            return False
        change = ((event.get("properties") or {}).get("changes") or {}).get("score")
        if not isinstance(change, (list, tuple)) or len(change) != 2:
            return False
        old, new = change
        if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
            return False
        # Going down mirrors going up: "up" reaches the threshold from below, "down" reaches it from above.
        if config.direction == "up":
            return old < config.threshold <= new
        return old > config.threshold >= new

    def not_entered_reason(self, config: Config) -> str:
        return f"the score did not reach {config.threshold} going {config.direction}"


@node_type(
    "trigger_manual",
    kind="trigger",
    label="Manual",
    description="Start only when enrolled through the API or the UI.",
)
class ManualTrigger(TriggerType):
    presets = (
        Preset("manual", "Manual enrollment",
               "Only when enrolled by hand in the UI or through POST /api/v1/workflows/{id}/enroll.", "api"),
    )
    entered_by = "manual"


@node_type(
    "trigger_webhook",
    kind="trigger",
    label="Inbound webhook",
    description="Start when the workflow's own URL (with its secret token) is called; the body becomes the event.",
)
class WebhookTrigger(TriggerType):
    presets = (
        Preset("inbound-webhook", "Inbound webhook",
               "When another system calls the workflow's own URL; the request body becomes the event.", "api",
               {}, {"fill_in": "Publish the workflow, then give its webhook URL to the calling system."}),
    )
    entered_by = "webhook"
