"""Testing one node before publishing (CONTRACT §5a): would this trigger fire, what would this step do.

Nothing here is a second implementation of a node type. A trigger is asked through the code live runs use:
``trigger_decision`` for event triggers, the type's own ``fire`` over a one-contact audience for time-based ones.
Every other node runs through the runner's ``step`` with the simulator's recording fakes, so the answer is the
one a simulation gives for the same contact, event and moment. Callers may put previews in front of the fakes
(the runtime renders the email, the webhook request and the notification as they would be sent).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from workflows.engine.conditions import ConditionError
from workflows.engine.entry import TriggerScope, TriggerType, trigger_decision
from workflows.engine.explain import rule_explain
from workflows.engine.fakes import FakeWorld, fake_ports
from workflows.engine.graph import Graph, Node, WorkflowSettings, freeze
from workflows.engine.outcomes import Advance, Exit, Fail, Outcome, Retry, Wait
from workflows.engine.ports import ActivityPort, Ports
from workflows.engine.quiet_hours import RecipientQuiet
from workflows.engine.registry import NodeType, StepContext
from workflows.engine.runner import prepare, step

__all__ = ["NodeTestResult", "node_test"]

TEST_NODE = "node"
TEST_ENROLLMENT = "test"
# How far ahead a time-based trigger is asked whether it fires for the contact.
_TIME_HORIZON = timedelta(days=400)


@dataclass
class NodeTestResult:
    """``fires`` and ``reasons`` answer for triggers; ``would`` says what the node would do."""

    fires: bool | None = None
    reasons: list[Any] = field(default_factory=list)
    would: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"would": self.would}
        if self.fires is not None:
            answer.update(fires=self.fires, reasons=self.reasons)
        return answer


def node_test(
    node_type: NodeType,
    config: Mapping[str, Any],
    *,
    contact: Mapping[str, Any],
    event: Mapping[str, Any] | None,
    now: datetime,
    activity: ActivityPort | None = None,
    segments: Iterable[str] = (),
    previews: Mapping[str, Any] | None = None,
    settings: WorkflowSettings | None = None,
    quiet: RecipientQuiet | None = None,
) -> NodeTestResult:
    """Test ``node_type`` with ``config`` (already validated) for ``contact`` (as rules see it, with its ``id``).

    ``activity`` reads the contact's history (default: none, as for a contact given by its attributes);
    ``previews`` replace fake ports by name (``email``, ``webhooks``, ``notify``...) with ones that show more.
    ``quiet``: the workspace's quiet hours for this contact (SMS and push would wait for their end at ``now``).
    """
    person = copy.deepcopy(dict(contact))
    world = FakeWorld(contact=person, clock=lambda: now, segments=set(segments), quiet=quiet)
    ports = fake_ports(world)
    if activity is not None:
        ports = replace(ports, activity=activity)
    if previews:
        ports = replace(ports, **{name: make(world, getattr(ports, name)) for name, make in previews.items()})
    if isinstance(node_type, TriggerType):
        return _trigger_test(node_type, node_type.parse_config(dict(config)), person, event, now, ports)
    return _step_test(node_type, config, person, event, now, ports, world, settings or WorkflowSettings())


def _trigger_test(
    trigger: TriggerType, config: Any, contact: dict[str, Any], event: Mapping[str, Any] | None, now: datetime,
    ports: Ports,
) -> NodeTestResult:
    if trigger.entered_by == "manual":
        return NodeTestResult(True, ["A manual trigger starts only when the contact is enrolled by hand or through "
                                     "POST /api/v1/workflows/{id}/enroll."], {"entered_by": "manual"})
    if trigger.entered_by == "webhook":
        return NodeTestResult(True, ["Every call of the workflow's webhook URL starts it; the body becomes the "
                                     "event."], {"entered_by": "webhook", "event": dict(event or {})})
    if trigger.time_based:
        return _time_trigger_test(trigger, config, contact, now, ports)
    return _event_trigger_test(trigger, config, contact, dict(event or {}), now, ports)


def _event_trigger_test(
    trigger: TriggerType, config: Any, contact: dict[str, Any], event: dict[str, Any], now: datetime, ports: Ports
) -> NodeTestResult:
    listens = trigger.listens_to(config)
    would = {"entered_by": "event", "listens_to": list(listens)}
    if event.get("type") not in listens:
        return NodeTestResult(False, [f"It listens to {', '.join(listens)}; the event is {event.get('type')!r}."],
                              would)
    scope = TriggerScope(event=event, contact=contact, contact_id=str(contact.get("id")), activity=ports.activity,
                         now=now)
    decision = trigger_decision(trigger, config, scope)
    if decision.entered:
        return NodeTestResult(True, [], would)
    reasons: list[Any] = [f"Not entered, because {decision.reason}."]
    for path, rule in trigger.rules(config):
        clauses = rule_explain(rule, {"event": event, "contact": contact}, now=now, contact_id=scope.contact_id,
                               activity=ports.activity)
        reasons.extend({"rule": path, **clause} for clause in clauses)
    return NodeTestResult(False, reasons, would)


@dataclass(frozen=True)
class _OneContact:
    """The tested contact as time-based triggers read their audience."""

    id: str
    timezone: str | None
    fields: Mapping[str, Any]
    data: Mapping[str, Any]


@dataclass
class _Audience:
    """A one-contact ``TriggerContacts``: the same questions live triggers ask the database, asked of one."""

    contact: dict[str, Any]
    activity: ActivityPort
    asked: list[str] = field(default_factory=list)

    def _one(self) -> _OneContact:
        fields = self.contact.get("fields") or {}
        return _OneContact(str(self.contact.get("id")), self.contact.get("timezone") or None, fields, self.contact)

    def _subscribed(self) -> bool:
        if self.contact.get("status", "subscribed") == "subscribed":
            return True
        self.asked.append(f"The contact is {self.contact.get('status')}: time-based triggers start subscribed "
                          "contacts only.")
        return False

    def subscribed(self, *, segment_id: str | None) -> list[_OneContact]:
        if not self._subscribed():
            return []
        if segment_id is not None and not self.activity.in_segment(contact_id=str(self.contact.get("id")),
                                                                   segment_id=segment_id):
            self.asked.append(f"The contact is not in segment {segment_id}.")
            return []
        return [self._one()]

    def with_field(self, *, field: str) -> list[_OneContact]:
        if not self._subscribed():
            return []
        if field not in (self.contact.get("fields") or {}):
            self.asked.append(f"The contact has no field {field!r}.")
            return []
        return [self._one()]

    def inactive(self, *, events: Sequence[str], since: datetime) -> list[tuple[str, datetime | None]]:
        if not self._subscribed():
            return []
        contact_id = str(self.contact.get("id"))
        seen = {kind: self.activity.event_count(contact_id=contact_id, type=kind, since=since) for kind in events}
        active = {kind: count for kind, count in seen.items() if count}
        if active:
            self.asked.append(f"The contact had {', '.join(f'{n} {kind}' for kind, n in active.items())} since "
                              f"{since.isoformat()}.")
            return []
        return [(contact_id, None)]  # when it was last active does not change whether it fires


def _time_trigger_test(
    trigger: TriggerType, config: Any, contact: dict[str, Any], now: datetime, ports: Ports
) -> NodeTestResult:
    """Ask the trigger's own ``fire`` whether the contact enters between now and the horizon, and when."""
    audience = _Audience(contact, ports.activity)
    timezone = str(contact.get("timezone") or "UTC")
    until = now + _TIME_HORIZON
    next_run = getattr(trigger, "next_run", None)
    if next_run is not None:
        # A schedule is asked about its next occurrence only: over the whole horizon a rule such as
        # FREQ=SECONDLY would be walked occurrence by occurrence, millions of them.
        upcoming = next_run(config, after=now)
        if upcoming is None or upcoming > until:
            return NodeTestResult(False, [f"It has no occurrence before {until.isoformat()}."], {"entered_by": "time"})
        until = upcoming
    try:
        firing = trigger.fire(config, fired_until=now, now=until, contacts=audience, timezone=timezone)
    except ConditionError as error:
        return NodeTestResult(False, [f"Its rule could not be evaluated ({error})."], {"entered_by": "time"})
    would: dict[str, Any] = {"entered_by": "time"}
    if firing is None:
        return NodeTestResult(False, [f"It has no occurrence before {until.isoformat()}."], would)
    entries = [occasion for contact_id, occasion in firing.entries if contact_id == str(contact.get("id"))]
    if entries:
        would["occasion"] = entries[0]
        return NodeTestResult(True, [], would)
    reasons: list[Any] = [reason for _, reason in firing.not_entered] + audience.asked
    for path, rule in trigger.rules(config):
        reasons.extend({"rule": path, **clause}
                       for clause in rule_explain(rule, {"contact": contact}, now=now, contact_id=str(contact.get("id"))))
    return NodeTestResult(False, reasons or [f"It does not fire for this contact before {until.isoformat()}."], would)


def _step_test(
    node_type: NodeType, config: Mapping[str, Any], contact: dict[str, Any], event: Mapping[str, Any] | None,
    now: datetime, ports: Ports, world: FakeWorld, settings: WorkflowSettings,
) -> NodeTestResult:
    """Run the node as the runner runs a step (the simulator's path), and say what it did."""
    graph = Graph(nodes=(Node(id=TEST_NODE, type=node_type.type, config=freeze(dict(config))),), edges=())
    ctx = StepContext(enrollment_id=TEST_ENROLLMENT, contact_id=str(contact.get("id")), contact=contact,
                      node=graph.nodes[0], now=now, settings=settings, ports=ports,
                      trigger_event=dict(event) if event is not None else None)
    prepared = prepare(graph).get(TEST_NODE)
    outcome = step(prepared=prepared, ctx=ctx)
    would = {"outcome": outcome.name, **_outcome_detail(outcome)}
    if node_type.kind == "logic" and prepared is not None and prepared.config is not None:
        would["explain"] = _logic_explained(node_type, prepared.config, ctx, ports)
    would["actions"] = [{key: value for key, value in action.items() if key not in ("key", "at", "node_id")}
                        for action in world.actions]
    return NodeTestResult(would=would)


def _logic_explained(node_type: NodeType, config: Any, ctx: StepContext, ports: Ports) -> list[dict[str, Any]]:
    """Why a condition said no, or which cases a switch passed by: the clauses that decided, with their values.
    Rules are read in order up to the first that holds (a switch's first matching case wins)."""
    explained: list[dict[str, Any]] = []
    for path, rule in node_type.rules(config):
        clauses = rule_explain(rule, ctx.rule_data(), now=ctx.now, contact_id=ctx.contact_id, activity=ports.activity)
        if not clauses:
            break
        explained.extend({"rule": path, **clause} for clause in clauses)
    return explained


def _outcome_detail(outcome: Outcome) -> dict[str, Any]:
    detail: dict[str, Any] = {"detail": outcome.detail}
    if isinstance(outcome, Advance):
        detail["branch"] = outcome.branch
    elif isinstance(outcome, Wait):
        detail.update(until=outcome.until.isoformat() if outcome.until else None, event=outcome.event,
                      timeout_at=outcome.timeout_at.isoformat() if outcome.timeout_at else None)
    elif isinstance(outcome, (Retry, Fail)):
        detail["reason"] = outcome.reason
    elif isinstance(outcome, Exit):
        detail.update(reason=outcome.reason, goal=outcome.goal)
    return detail
