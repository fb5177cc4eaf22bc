"""Recording fakes of the ports: they act on an in-memory contact and history and describe what they did.

The simulator uses them; so do tests. Like the live ports they act once per effect key, so a step that runs
again with the same key records nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from liquid import Environment
from liquid.exceptions import LiquidError

from workflows.engine.bandit import Allocation, SplitState
from workflows.engine.caps import CapVerdict, FrequencyCap, Send, cap_verdict
from workflows.engine.ports import (
    CrmResult,
    EmailResult,
    HttpAnswer,
    LookupAnswer,
    MessageResult,
    PortError,
    Ports,
    SocialPosted,
    WebhookResult,
)
from workflows.engine.quiet_hours import RecipientQuiet
from workflows.engine.send_time import NO_COUNTS, HourCounts

__all__ = ["FakeWorld", "fake_ports"]


def _node_of(key: str) -> str:
    # key = "<enrollment id>:<node id>:<visit>"; enrollment ids hold no colon, node ids might.
    return key.split(":", 1)[1].rsplit(":", 1)[0] if key.count(":") >= 2 else key


@dataclass
class FakeWorld:
    """The simulated contact, its history and everything the fake ports did, on a virtual clock."""

    contact: dict[str, Any]
    clock: Callable[[], datetime]
    events: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    segments: set[str] = field(default_factory=set)
    last_email: dict[str, Any] | None = None
    # What templates see of the run besides the contact (``event``, ``enrollment``), as live runs give it; set
    # by the simulator once the contact has entered, read by ports that render (the email preview).
    template_context: dict[str, Any] = field(default_factory=dict)
    # The workspace's frequency caps, and the messages sent to the contact (its send ledger) in this run.
    frequency_caps: tuple[FrequencyCap, ...] = ()
    sends: list[Send] = field(default_factory=list)
    # The recipient's quiet hours (the workspace's rules in the contact's zone): SMS and push wait for their end.
    quiet: RecipientQuiet | None = None
    # What optimization learns from: engagement hours by channel, quiet hours as a rule over moments by channel,
    # split states by node id; and the allocation changes steps logged.
    engagement_hours: dict[str, HourCounts] = field(default_factory=dict)
    quiet_hours: dict[str, Callable[[datetime], datetime | None]] = field(default_factory=dict)
    splits: dict[str, SplitState] = field(default_factory=dict)
    # Content recommendations: node id -> topic (None: all contacts) -> template id -> (sent, clicked); and the
    # template chosen per effect key.
    content_stats: dict[str, dict[str | None, dict[str, tuple[int, int]]]] = field(default_factory=dict)
    content_choices: dict[str, str] = field(default_factory=dict)
    allocation_log: list[dict[str, Any]] = field(default_factory=list)
    _keys: set[tuple[str, str]] = field(default_factory=set)
    _sequence: int = 0

    def first_time(self, key: str, kind: str) -> bool:
        """Return whether this effect has not happened yet for ``key`` (and remember it)."""
        if (key, kind) in self._keys:
            return False
        self._keys.add((key, kind))
        return True

    def record(self, *, key: str, type: str, summary: str, **detail: Any) -> None:
        """Record an action with a human summary."""
        self.actions.append(
            {
                "node_id": _node_of(key),
                "type": type,
                "at": self.clock(),
                "summary": summary,
                "key": key,
                **detail,
            }
        )

    def next_id(self, prefix: str) -> str:
        self._sequence += 1
        return f"{prefix}-{self._sequence}"

    def add_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Add an event to the contact's history; email events without a node go to the last email sent."""
        properties = dict(event.get("properties") or {})
        kind = event["type"]
        if (
            kind.startswith("email.")
            and kind != "email.sent"
            and "node_id" not in properties
            and self.last_email
        ):
            properties.setdefault("node_id", self.last_email["node_id"])
            properties.setdefault("message_id", self.last_email["message_id"])
        stored = {**event, "properties": properties}
        self.events.append(stored)
        return stored


class _Contacts:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def add_tag(self, *, key: str, contact_id: str, tag: str) -> None:
        if self.world.first_time(key, "add_tag"):
            self.world.record(key=key, type="add_tag", summary=f"Added tag {tag!r}")

    def remove_tag(self, *, key: str, contact_id: str, tag: str) -> None:
        if self.world.first_time(key, "remove_tag"):
            self.world.record(key=key, type="remove_tag", summary=f"Removed tag {tag!r}")

    def update_field(self, *, key: str, contact_id: str, field: str, value: Any, op: str) -> Any:
        fields = self.world.contact.get("fields") or {}
        current = fields.get(field, self.world.contact.get(field))
        stored = (current if isinstance(current, (int, float)) else 0) + value if op == "increment" else value
        if op == "unset":
            stored = None
        if self.world.first_time(key, "update_field"):
            summary = f"Cleared field {field!r}" if op == "unset" else f"Set field {field!r} to {stored!r}"
            self.world.record(key=key, type="update_field", summary=summary)
        return stored

    def change_status(self, *, key: str, contact_id: str, status: str) -> None:
        if self.world.first_time(key, "change_status"):
            self.world.record(key=key, type="change_status", summary=f"Changed status to {status!r}")

    def update_score(self, *, key: str, contact_id: str, delta: int | None, set_to: int | None) -> int:
        current = self.world.contact.get("score") or 0
        score = set_to if set_to is not None else current + (delta or 0)
        if self.world.first_time(key, "update_score"):
            self.world.record(key=key, type="update_score", summary=f"Score {current} → {score}")
        return score


class _Campaigns:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def add_to_campaign(self, *, key: str, contact_id: str, campaign_id: str) -> None:
        if self.world.first_time(key, "add_to_campaign"):
            self.world.record(key=key, type="add_to_campaign", summary=f"Added to campaign {campaign_id}")

    def remove_from_campaign(self, *, key: str, contact_id: str, campaign_id: str) -> None:
        if self.world.first_time(key, "remove_from_campaign"):
            self.world.record(
                key=key, type="remove_from_campaign", summary=f"Removed from campaign {campaign_id}"
            )


class _Email:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.sent: dict[str, EmailResult] = {}

    def send(
        self,
        *,
        key: str,
        node_id: str,
        template_id: str,
        contact_id: str,
        from_email: str | None,
        reply_to: str | None,
        track_opens: bool,
        track_clicks: bool,
    ) -> EmailResult:
        if key in self.sent:
            return self.sent[key]  # the outbox row exists: never a second email for the same step
        status = self.world.contact.get("status", "subscribed")
        if status != "subscribed":
            result = EmailResult(message_id=None, status="suppressed", detail={"contact_status": status})
            self.world.record(
                key=key,
                type="send_email",
                summary=f"Did not send template {template_id}: contact is {status}",
            )
        else:
            message_id = self.world.next_id("message")
            result = EmailResult(message_id=message_id)
            self.world.record(key=key, type="send_email", summary=f"Sent email template {template_id}")
            self.world.last_email = {"node_id": node_id, "message_id": message_id}
            self.world.add_event(
                {
                    "type": "email.sent",
                    "occurred_at": self.world.clock(),
                    "properties": {"node_id": node_id, "message_id": message_id, "template_id": template_id},
                }
            )
        self.sent[key] = result
        return result


class _SimulatorLiquid(Environment):
    """Liquid bounded as the live renderer is, so that a simulated template cannot run away either."""

    output_stream_limit = 1_000_000
    loop_iteration_limit = 10_000
    local_namespace_limit = 1_000_000


_liquid = _SimulatorLiquid()


def _render(world: FakeWorld, text: str, what: str) -> str:
    """Render a step's Liquid text as the live ports do, against the simulated contact (Liquid is a plain
    library); one that cannot render fails the step for good, as it would live."""
    if "{" not in text:
        return text
    try:
        return _liquid.from_string(text).render(**{**world.template_context, "contact": world.contact})
    except LiquidError as error:
        raise PortError(f"{what} could not be rendered: {error.message}", retryable=False) from error


class _Tasks:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def create_task(
        self,
        *,
        key: str,
        contact_id: str,
        title: str,
        description: str,
        assignee_email: str | None,
        due_at: datetime | None,
    ) -> str | None:
        if not self.world.first_time(key, "create_task"):
            return None
        title = _render(self.world, title, "The task's title")[:200]
        description = _render(self.world, description, "The task's description")
        who = f" for {assignee_email}" if assignee_email else ""
        task = {"title": title, "description": description, "assignee_email": assignee_email,
                "due_at": due_at.isoformat() if due_at else None}
        self.world.record(key=key, type="create_task", summary=f"Created task {title!r}{who}", task=task)
        return self.world.next_id("task")


class _Notify:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.sent: dict[str, dict[str, Any]] = {}

    def notify(self, *, key: str, contact_id: str, to: Any, subject: str, message: str) -> dict[str, Any]:
        if not self.world.first_time(key, "notify"):
            return self.sent[key]
        subject = _render(self.world, subject, "The notification's subject")
        _render(self.world, message, "The notification's message")  # one that cannot render fails as it would live
        recipients = "the workspace admins" if to == "workspace_admins" else ", ".join(to)
        self.world.record(key=key, type="notify", summary=f"Notified {recipients}: {subject}")
        # The simulator knows no members: the admins stay named as configured.
        count = 1 if isinstance(to, str) else len(to)
        self.sent[key] = {"to": to, "subject": subject,
                          "message_ids": [self.world.next_id("notification") for _ in range(count)]}
        return self.sent[key]


class _Webhooks:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def call(
        self,
        *,
        key: str,
        contact_id: str,
        url: str,
        method: str,
        headers: dict[str, str],
        body: Any,
        timeout_s: int,
    ) -> WebhookResult:
        if self.world.first_time(key, "webhook"):
            url = self._render(url)
            self.world.record(
                key=key, type="webhook", summary=f"Would call {method} {url} (not called in simulation)",
                request={"method": method, "url": url, "headers": {self._render(name): self._render(value)
                                                                   for name, value in headers.items()},
                         "body": self._render_leaves(body)},
            )
        return WebhookResult(status_code=None, detail={"simulated": True})

    def _render(self, text: str) -> str:
        """Render as the live port does (the signature headers are left out: the simulator holds no secret)."""
        return _render(self.world, text, "The webhook")

    def _render_leaves(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._render(value)
        if isinstance(value, dict):
            return {key: self._render_leaves(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._render_leaves(item) for item in value]
        return value


class _Http:
    """No call leaves a simulation: the request is shown as it would be sent (the credential hidden)."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def request(self, *, key: str, contact_id: str, url: str, method: str, headers: dict[str, str], body: Any,
                credential_id: str | None, timeout_s: int) -> HttpAnswer:
        if self.world.first_time(key, "http_request"):
            url = _render(self.world, url, "The request's URL")
            shown = {name: value if "credential" in value else _render(self.world, value, "A header")
                     for name, value in headers.items()}
            self.world.record(key=key, type="http_request",
                              summary=f"Would call {method} {url} (not called in simulation)",
                              request={"method": method, "url": url, "headers": shown,
                                       "body": _Webhooks(self.world)._render_leaves(body)})
        return HttpAnswer(status_code=None, simulated=True)


class _Crm:
    """No CRM is called in a simulation: the write is shown with its rendered fields, and answers a stand-in id
    (``sim-<object>-<n>``, the same for every try of one key) so later steps that read it can be simulated."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.answers: dict[str, CrmResult] = {}

    def write(self, *, key: str, contact_id: str, connector_id: str, object: str, fields: dict[str, str],
              record_id: str | None, create: bool) -> CrmResult:
        if key in self.answers:
            return self.answers[key]
        rendered = {name: _render(self.world, value, f"The CRM field {name!r}") for name, value in fields.items()}
        if create:
            record_id, how = self.world.next_id(f"sim-{object}"), "Would create"
        else:
            how = "Would update"
            if record_id is None:
                record_id, how = f"sim-{object}-by-email", "Would find by email and update"
        self.world.record(key=key, type="crm_create" if create else "crm_update",
                          summary=f"{how} a CRM {object} (not called in simulation)",
                          request={"connector_id": connector_id, "object": object, "fields": rendered})
        answer = CrmResult(record_id=record_id, simulated=True, detail={"fields": rendered})
        self.answers[key] = answer
        return answer


class _Lookup:
    """Reads what the simulation knows: the simulated contact's own events; nothing of other contacts."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def lookup(self, *, key: str, contact_id: str, source: str, lookup_key: str | None) -> LookupAnswer:
        if self.world.first_time(key, "lookup"):
            # A read, not an effect; listed so that a simulated path says where its variables came from.
            of = f" ({lookup_key})" if lookup_key else ""
            self.world.record(key=key, type="lookup", summary=f"Looked up {source}{of}")
        if source == "recent_events":
            events = [{"type": event["type"], "properties": event.get("properties") or {},
                       "occurred_at": _at(event).isoformat()}
                      for event in reversed(self.world.events) if not lookup_key or event["type"] == lookup_key]
            return LookupAnswer({"count": len(events), "events": events[:20], "last": events[0] if events else None})
        if source == "campaigns":
            return LookupAnswer({"count": 0, "ids": [], "campaigns": []}, simulated=True)
        return LookupAnswer({"found": False, "contact": None}, simulated=True)


class _Social:
    """Nothing is published from a simulation: the post is shown as it would be sent, and has no id or URL."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def post(self, *, key: str, contact_id: str, account_id: str, text: str, url: str | None) -> SocialPosted:
        rendered = _render(self.world, text, "The post's text")
        link = _render(self.world, url, "The post's URL") if url else None
        if self.world.first_time(key, "social_post"):
            self.world.record(key=key, type="social_post",
                              summary=f"Would post to account {account_id} (not posted in simulation)",
                              post={"account_id": account_id, "text": rendered, "url": link})
        return SocialPosted(post_id=None, post_url=None, network="simulated", text=rendered, simulated=True)


class _Workflows:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def enroll(self, *, key: str, contact_id: str, workflow_id: str) -> bool:
        if self.world.first_time(key, "enroll_in_workflow"):
            self.world.record(
                key=key, type="enroll_in_workflow", summary=f"Enrolled in workflow {workflow_id}"
            )
        return True


def _at(event: dict[str, Any]) -> datetime:
    return event["occurred_at"]


class _Message:
    """SMS or push in simulation: sent when the contact (the simulated one) may receive it on the channel, as
    contacts.consent.reachability decides live; the same key answers the same result."""

    def __init__(self, world: FakeWorld, channel: str) -> None:
        self.world, self.channel = world, channel
        self.sent: dict[str, MessageResult] = {}

    def _unreachable(self, topic: str | None) -> str | None:
        contact = self.world.contact
        entry = (contact.get("channels") or {}).get(self.channel) or {}
        if topic and topic in (contact.get("topic_opt_outs") or []):
            return "topic_opted_out"
        if self.channel == "sms":
            if not contact.get("phone"):
                return "no_address"
            return None if entry.get("status") == "subscribed" else ("unsubscribed" if entry else "no_consent")
        if int(entry.get("devices") or 0) <= 0:
            return "no_address"
        return "unsubscribed" if entry.get("status") == "unsubscribed" else None

    def send(self, *, key: str, node_id: str, contact_id: str, topic: str | None = None,
             check_quiet_hours: bool = False, **message: Any) -> MessageResult:
        if key in self.sent:
            return self.sent[key]
        reason = self._unreachable(topic)
        if not reason and self.world.quiet is not None and (self.channel == "sms" or check_quiet_hours):
            until = self.world.quiet.until(self.world.clock())
            if until is not None:  # nothing sent, nothing remembered: the step asks again at `until`
                return MessageResult(message_id=None, status="deferred",
                                     detail={"reason": "quiet_hours", "until": until.isoformat()})  # fmt: skip
        what = "SMS" if self.channel == "sms" else "push notification"
        if reason:
            result = MessageResult(message_id=None, status="suppressed", detail={"reason": reason})
            self.world.record(key=key, type=f"send_{self.channel}", summary=f"Did not send the {what}: {reason}")
        else:
            result = MessageResult(message_id=self.world.next_id(self.channel))
            self.world.record(key=key, type=f"send_{self.channel}", summary=f"Sent a {what}")
            self.world.add_event({"type": f"{self.channel}.sent", "occurred_at": self.world.clock(),
                                  "properties": {"node_id": node_id, "message_id": result.message_id}})
        self.sent[key] = result
        return result


class _Activity:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def _happened(self, event: dict[str, Any], since: datetime | None) -> bool:
        at = _at(event)
        return at <= self.world.clock() and (since is None or at >= since)

    def event_count(self, *, contact_id: str, type: str, since: datetime | None) -> int:
        return sum(1 for event in self.world.events if event["type"] == type and self._happened(event, since))

    def email_event(
        self,
        *,
        contact_id: str,
        event: str,
        node_id: str | None,
        url_contains: str | None,
        since: datetime | None,
    ) -> bool:
        for found in self.world.events:
            if found["type"] != event or not self._happened(found, since):
                continue
            properties = found.get("properties") or {}
            if node_id is not None and properties.get("node_id") != node_id:
                continue
            if (
                url_contains is not None
                and url_contains.casefold() not in str(properties.get("url", "")).casefold()
            ):
                continue
            return True
        return False

    def message_event(self, *, contact_id: str, event: str, node_id: str | None, since: datetime | None) -> bool:
        return any(
            found["type"] == event
            and self._happened(found, since)
            and (node_id is None or (found.get("properties") or {}).get("node_id") == node_id)
            for found in self.world.events
        )

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool:
        return segment_id in self.world.segments


class _Caps:
    """The caps of ``world.frequency_caps`` over the messages sent in this run (the ledger in memory)."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def check(self, *, key: str, contact_id: str, channel: str, now: datetime) -> CapVerdict:
        return cap_verdict(self.world.frequency_caps, self.world.sends, channel=channel, now=now, key=key)

    def record(self, *, key: str, contact_id: str, channel: str, at: datetime) -> None:
        if self.world.first_time(key, f"ledger:{channel}"):
            self.world.sends.append(Send(channel=channel, at=at, key=key))


class _Optimization:
    """Optimization's inputs as the world holds them (no engagement history: the workspace fallback)."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def engagement_hours(self, *, contact_id: str, channel: str) -> HourCounts:
        return self.world.engagement_hours.get(channel, NO_COUNTS)

    def quiet_until(self, *, contact_id: str, channel: str, moment: datetime) -> datetime | None:
        rule = self.world.quiet_hours.get(channel)
        return rule(moment) if rule is not None else None

    def split_state(self, *, node_id: str, goal: str) -> SplitState:
        return self.world.splits.get(node_id) or SplitState(counts={})

    def split_allocation_log(self, *, node_id: str, goal: str, allocation: Allocation, now: datetime) -> None:
        state = self.split_state(node_id=node_id, goal=goal)
        self.world.splits[node_id] = SplitState(
            state.counts, allocation.shares, allocation.winner, allocation.candidate, allocation.candidate_entries
        )
        self.world.allocation_log.append({"node_id": node_id, "at": now, **allocation.as_detail()})

    def content_stats(self, *, node_id: str, topic: str | None) -> tuple[dict, dict]:
        stats = self.world.content_stats.get(node_id, {})
        return stats.get(topic, {}) if topic is not None else {}, stats.get(None, {})

    def content_choice_record(self, *, key: str, node_id: str, template_id: str, topic: str | None) -> str:
        return self.world.content_choices.setdefault(key, template_id)


def fake_ports(world: FakeWorld) -> Ports:
    """Return recording fakes of every port, acting on ``world``."""
    return Ports(
        contacts=_Contacts(world),
        campaigns=_Campaigns(world),
        email=_Email(world),
        sms=_Message(world, "sms"),
        push=_Message(world, "push"),
        tasks=_Tasks(world),
        notify=_Notify(world),
        webhooks=_Webhooks(world),
        workflows=_Workflows(world),
        activity=_Activity(world),
        caps=_Caps(world),
        optimization=_Optimization(world),
        http=_Http(world),
        lookup=_Lookup(world),
        social=_Social(world),
        crm=_Crm(world),
    )
