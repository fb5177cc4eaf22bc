"""Where enrollments start: which triggers an event starts for a contact, and, for the others, why not.

Trigger node types decide, and nothing else does. A ``TriggerType`` declares how it is entered (``entered_by``:
an event, a time tick, by hand, an inbound webhook), which event types it listens to, and whether one of them
starts it for a contact (``matches``, given a ``TriggerScope``). The simulator and the live runtime ask the same
questions through ``trigger_decision`` and ``trigger_entries``; only the scope they pass differs: the simulator
gives its fake activity and virtual clock, the runtime the contact's stored activity and the processing time.

A filter that cannot be evaluated (an operation without the data it needs, a segment deleted since publishing)
is a decision like the others: "not entered, because ...", with the error, for the caller to record. It is
never swallowed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import ValidationError

from workflows.engine.conditions import ConditionError, compile_rule
from workflows.engine.graph import Graph
from workflows.engine.outcomes import Advance, Outcome
from workflows.engine.registry import NodeConfig, NodeType, StepContext, registry

if TYPE_CHECKING:
    from workflows.engine.ports import ActivityPort

__all__ = [
    "Decision",
    "EnteredBy",
    "GraphTrigger",
    "NotEntered",
    "SegmentCheckedActivity",
    "TimeFiring",
    "TriggerContact",
    "TriggerContacts",
    "TriggerEntries",
    "TriggerScope",
    "TriggerType",
    "entry_trigger",
    "event_triggers",
    "trigger_decision",
    "trigger_entries",
    "webhook_trigger",
]

EnteredBy = Literal["event", "time", "manual", "webhook"]


@dataclass(frozen=True, slots=True)
class TriggerScope:
    """What a trigger may read when it decides: the event and the contact as rules see them, the contact's
    history (``activity``) and the current time. ``contact`` is ``None`` when no filter needs it."""

    event: Mapping[str, Any] | None
    contact: Mapping[str, Any] | None
    contact_id: str | None
    activity: ActivityPort | None
    now: datetime | None

    def holds(self, rule: Any) -> bool:
        """Return whether ``rule`` holds over ``{event, contact}``; raise ``ConditionError`` when it cannot be
        evaluated."""
        return compile_rule(rule).holds(
            {"event": self.event, "contact": self.contact},
            now=self.now,
            contact_id=self.contact_id,
            activity=self.activity,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a trigger starts an enrollment; when not, why (a clause: "not entered, because <reason>"), and the
    evaluation error when its filter could not be evaluated."""

    entered: bool
    reason: str = ""
    error: str | None = None


ENTERS = Decision(True)


@dataclass(frozen=True, slots=True)
class TimeFiring:
    """What a time-based trigger does on a tick: who enters (contact id, occasion), who could not be judged
    (contact id, reason), and how far the trigger has now fired."""

    fired_until: datetime
    entries: list[tuple[str, str]] = field(default_factory=list)
    not_entered: list[tuple[str, str]] = field(default_factory=list)


class TriggerContact(Protocol):
    """A contact as a time-based trigger reads it: ``data`` is what rules see (built when first read)."""

    id: str
    timezone: str | None
    fields: Mapping[str, Any]

    @property
    def data(self) -> Mapping[str, Any]: ...


class TriggerContacts(Protocol):
    """The subscribed contacts of a workspace, as time-based triggers ask for them (live: the database)."""

    def subscribed(self, *, segment_id: str | None) -> Iterable[TriggerContact]:
        """Return every subscribed contact, or those of the segment (none when it does not exist)."""
        ...

    def with_field(self, *, field: str) -> Iterable[TriggerContact]:
        """Return the subscribed contacts that have ``field`` among their fields."""
        ...

    def inactive(self, *, events: Sequence[str], since: datetime) -> Iterable[tuple[str, datetime | None]]:
        """Return the subscribed contacts created before ``since`` with none of ``events`` since then: each one's
        id and the moment of its last such event (None when it never had one)."""
        ...


class TriggerType(NodeType):
    """A node type where enrollments start. ``entered_by`` says how; event triggers declare what they listen to
    and decide with ``matches``; time-based ones declare ``fire`` (and how often they may scan contacts)."""

    entered_by: ClassVar[EnteredBy]
    # Time-based triggers that scan every contact do so at most this often (None: on every tick).
    scan_interval: ClassVar[timedelta | None] = None
    # A trigger that offers the same contacts again on every scan (its occasion key makes it start them once):
    # the offers refused then are its own dedupe, not entries worth counting as skipped.
    reoffers: ClassVar[bool] = False

    @property
    def time_based(self) -> bool:
        return self.entered_by == "time"

    def listens_to(self, config: Any) -> tuple[str, ...]:
        """Return the event types that may start this trigger (the live index is keyed by them)."""
        return ()

    def reads_contact(self, config: Any) -> bool:
        """Return whether ``matches`` reads the contact (the live path reads contacts only for those)."""
        return False

    def matches(self, config: Any, scope: TriggerScope) -> bool:
        """Return whether the scope's event starts an enrollment here; raise ``ConditionError`` when a filter
        cannot be evaluated."""
        return False

    def not_entered_reason(self, config: Any) -> str:
        """Return why an event this trigger listens to did not start it, when ``matches`` said no."""
        return "the trigger's conditions do not hold for this event and contact"

    def fire(
        self, config: Any, *, fired_until: datetime, now: datetime, contacts: TriggerContacts, timezone: str
    ) -> TimeFiring | None:
        """Return who enters on a tick at ``now`` (the trigger has fired up to ``fired_until``), or ``None`` when
        nothing is due. ``timezone`` is the workflow's, for contacts without one."""
        raise NotImplementedError(f"{self.type} is not time-based")

    def run(self, ctx: StepContext, config: Any) -> Outcome:
        """Move on to the next node: a trigger only marks where the enrollment started."""
        event = ctx.trigger_event or {}
        return Advance(detail={"trigger": self.type, "event": event.get("type")})


def trigger_decision(trigger: TriggerType, config: Any, scope: TriggerScope) -> Decision:
    """Return whether ``trigger`` (with its parsed ``config``) starts an enrollment for the scope's event."""
    try:
        if trigger.matches(config, scope):
            return ENTERS
    except ConditionError as error:
        return Decision(False, f"its filter could not be evaluated ({error})", str(error))
    return Decision(False, trigger.not_entered_reason(config))


@dataclass(frozen=True, slots=True)
class GraphTrigger:
    """An event-entered trigger of a graph, with its type and parsed config."""

    node_id: str
    trigger: TriggerType
    config: NodeConfig
    listens_to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotEntered:
    """A trigger that heard an event and did not start: why (a clause), and the filter's error if any."""

    node_id: str
    type: str
    reason: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TriggerEntries:
    """The triggers of a graph that an event starts (graph order), and those that heard it but did not start."""

    entered: tuple[str, ...] = ()
    not_entered: tuple[NotEntered, ...] = ()

    @property
    def heard(self) -> bool:
        """Whether any trigger listens to the event at all."""
        return bool(self.entered or self.not_entered)


def event_triggers(graph: Graph) -> list[GraphTrigger]:
    """Return the graph's event-entered triggers whose config is valid, in graph order (cached on the graph)."""
    cached = graph._cache.get("event_triggers")
    if cached is not None and cached[0] == registry.version:
        return cached[1]
    found: list[GraphTrigger] = []
    for node in graph.nodes:
        trigger = registry.get(node.type)
        if not isinstance(trigger, TriggerType) or trigger.entered_by != "event":
            continue
        try:
            config = trigger.parse_config(node.config_dict())
        except ValidationError:
            continue  # validation reports it; an invalid trigger starts nothing
        found.append(GraphTrigger(node.id, trigger, config, trigger.listens_to(config)))
    graph._cache["event_triggers"] = (registry.version, found)
    return found


def trigger_entries(graph: Graph, scope: TriggerScope) -> TriggerEntries:
    """Return which triggers of ``graph`` the scope's event starts, and why the others that heard it did not."""
    event_type = (scope.event or {}).get("type")
    entered: list[str] = []
    refused: list[NotEntered] = []
    for found in event_triggers(graph):
        if event_type not in found.listens_to:
            continue
        decision = trigger_decision(found.trigger, found.config, scope)
        if decision.entered:
            entered.append(found.node_id)
        else:
            refused.append(NotEntered(found.node_id, found.trigger.type, decision.reason, decision.error))
    return TriggerEntries(tuple(entered), tuple(refused))


def _triggers(graph: Graph) -> Iterable[tuple[str, NodeType]]:
    for node in graph.nodes:
        node_type = registry.get(node.type)
        if node_type is not None and node_type.kind == "trigger":
            yield node.id, node_type


def entry_trigger(graph: Graph) -> str | None:
    """Return the trigger an API/UI enrollment enters at: a manual trigger if any, else the first trigger."""
    triggers = list(_triggers(graph))
    for node_id, node_type in triggers:
        if getattr(node_type, "entered_by", None) == "manual":
            return node_id
    return triggers[0][0] if triggers else None


def webhook_trigger(graph: Graph) -> str | None:
    """Return the trigger an inbound webhook call enters at, if the graph has one."""
    return next(
        (
            node_id
            for node_id, node_type in _triggers(graph)
            if getattr(node_type, "entered_by", None) == "webhook"
        ),
        None,
    )


class SegmentCheckedActivity:
    """The activity a trigger filter reads, where ``in_segment`` of a segment that does not exist (deleted since
    the workflow was published) cannot be evaluated, instead of answering "not a member" as if it could."""

    def __init__(self, activity: ActivityPort, *, segment_exists: Callable[[str, str], bool]) -> None:
        self._activity = activity
        self._segment_exists = segment_exists  # (contact id, segment id) -> bool: segments are per workspace

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool:
        if not self._segment_exists(contact_id, segment_id):
            raise ConditionError(f"the segment {segment_id!r} does not exist (deleted since publishing?)")
        return self._activity.in_segment(contact_id=contact_id, segment_id=segment_id)

    def event_count(self, *, contact_id: str, type: str, since: datetime | None) -> int:
        return self._activity.event_count(contact_id=contact_id, type=type, since=since)

    def email_event(
        self,
        *,
        contact_id: str,
        event: str,
        node_id: str | None,
        url_contains: str | None,
        since: datetime | None,
    ) -> bool:
        return self._activity.email_event(
            contact_id=contact_id, event=event, node_id=node_id, url_contains=url_contains, since=since
        )

    def message_event(self, *, contact_id: str, event: str, node_id: str | None, since: datetime | None) -> bool:
        return self._activity.message_event(contact_id=contact_id, event=event, node_id=node_id, since=since)
