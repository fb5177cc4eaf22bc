"""The node-type registry: one declaration per node type, read by the builder, validation and execution.

A node type is declared where its behaviour belongs (engine-owned triggers, logic and waits in
``workflows/engine/nodes/``; domain actions in their app's ``nodes.py``)::

    @node_type("add_tag", kind="action", label="Add tag", description="Add a tag to the contact.")
    class AddTag(NodeType):
        class Config(NodeConfig):
            tag: str = Field(min_length=1, max_length=64)

        def run(self, ctx: StepContext, config: Config) -> Outcome:
            ctx.contacts.add_tag(key=ctx.effect_key, contact_id=ctx.contact_id, tag=config.tag)
            return Advance()
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from workflows.engine.conditions import compile_rule, truthy
from workflows.engine.graph import DEFAULT_BRANCH, Node, WorkflowSettings
from workflows.engine.outcomes import Outcome
from workflows.engine.timing import contact_zone

if TYPE_CHECKING:
    from workflows.engine.ports import (
        ActivityPort,
        CampaignsPort,
        ContactsPort,
        EmailPort,
        NotifyPort,
        Ports,
        TasksPort,
        WebhookPort,
        WorkflowsPort,
    )
    from workflows.engine.state import WaitState

__all__ = [
    "KINDS",
    "WAIT_KINDS",
    "BranchSource",
    "NodeConfig",
    "NodeType",
    "Reference",
    "Registry",
    "RetryPolicy",
    "StepContext",
    "load_node_types",
    "node_type",
    "registry",
]

Kind = Literal["trigger", "logic", "wait", "action"]
KINDS: tuple[str, ...] = ("trigger", "logic", "wait", "action")
WAIT_KINDS = frozenset({"wait"})


def field_title(name: str, _info: Any = None) -> str:
    """Return a config field's label for the builder's forms: ``from_email`` → "From email" (pydantic's default
    title-cases every word, "From Email", which reads like a key). A field declares ``Field(title=...)`` where
    words alone say it badly (an acronym, a unit); references are named by their noun (``annotate_references``)."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


class NodeConfig(BaseModel):
    """Base of node configs: unknown keys are refused and a parsed config cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True, field_title_generator=field_title)


class EmptyConfig(NodeConfig):
    """The config of node types that take none: an empty object."""


@dataclass(frozen=True)
class BranchSource:
    """Where a type with dynamic branches finds them in its config, so a builder can draw them without knowing it.

    The branches are ``config[items][*][id]`` (labelled by ``label``), then ``always`` (e.g. a switch's ``default``).
    """

    items: str
    id: str = "id"
    label: str = "label"
    always: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {"items": self.items, "id": self.id, "label": self.label, "always": list(self.always)}


class StepContext:
    """Everything one step may read, and the ports through which it acts. Built by the runner per step."""

    __slots__ = (
        "_rule_data",
        "attempt",
        "contact",
        "contact_id",
        "effect_key",
        "enrollment_id",
        "entered_at",
        "node",
        "now",
        "ports",
        "resume_event",
        "seed",
        "settings",
        "step_count",
        "trigger_event",
        "vars",
        "visit",
        "wait",
    )

    def __init__(
        self,
        *,
        enrollment_id: str,
        contact_id: str,
        contact: dict[str, Any],
        node: Node,
        now: datetime,
        settings: WorkflowSettings,
        ports: Ports,
        visit: int = 1,
        attempt: int = 0,
        trigger_event: dict[str, Any] | None = None,
        entered_at: datetime | None = None,
        step_count: int = 0,
        wait: WaitState | None = None,
        resume_event: dict[str, Any] | None = None,
        seed: int = 0,
        vars: dict[str, Any] | None = None,
    ) -> None:
        self.enrollment_id = enrollment_id
        self.contact_id = contact_id
        self.contact = contact
        self.node = node
        self.now = now
        self.settings = settings
        self.ports = ports
        self.visit = visit
        self.attempt = attempt
        self.trigger_event = trigger_event
        self.entered_at = entered_at or now
        self.step_count = step_count
        self.wait = wait
        self.resume_event = resume_event
        self.seed = seed
        # The enrollment's variables before this step (a step writes its own through ``Advance(vars=...)``).
        self.vars = vars if vars is not None else {}
        self.effect_key = f"{enrollment_id}:{node.id}:{visit}"
        self._rule_data: dict[str, Any] | None = None

    # Ports, by the names the node declarations use.
    @property
    def contacts(self) -> ContactsPort:
        return self.ports.contacts

    @property
    def campaigns(self) -> CampaignsPort:
        return self.ports.campaigns

    @property
    def email(self) -> EmailPort:
        return self.ports.email

    @property
    def tasks(self) -> TasksPort:
        return self.ports.tasks

    @property
    def notifications(self) -> NotifyPort:
        return self.ports.notify

    @property
    def webhooks(self) -> WebhookPort:
        return self.ports.webhooks

    @property
    def workflows(self) -> WorkflowsPort:
        return self.ports.workflows

    @property
    def activity(self) -> ActivityPort:
        return self.ports.activity

    def rule_data(self, *, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return what a rule sees: the contact, the event (the trigger's unless given), enrollment and now."""
        if event is None and self._rule_data is not None:
            return self._rule_data  # a switch evaluates several rules against the same data
        data = {
            "contact": self.contact,
            "event": event if event is not None else self.trigger_event,
            "enrollment": {
                "id": self.enrollment_id,
                "entered_at": self.entered_at.isoformat(),
                "steps": self.step_count,
                "vars": self.vars,
            },
            "now": self.now.isoformat(),
        }
        if event is None:
            self._rule_data = data
        return data

    def evaluate(self, rule: Any, *, event: dict[str, Any] | None = None) -> Any:
        """Return the value of a JsonLogic rule for this step; raise ``ConditionError`` when it fails."""
        return compile_rule(rule).evaluate(
            self.rule_data(event=event),
            now=self.now,
            contact_id=self.contact_id,
            activity=self.ports.activity,
        )

    def holds(self, rule: Any, *, event: dict[str, Any] | None = None) -> bool:
        """Return whether a JsonLogic rule is truthy for this step."""
        return truthy(self.evaluate(rule, event=event))

    def zone(self, name: str) -> ZoneInfo:
        """Return the zone ``name``; ``"contact"`` is the contact's zone, else the workflow's."""
        return contact_zone(name, contact=self.contact, fallback=self.settings.timezone)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a node type retries when a port fails in a way that may pass: attempts and exponential backoff."""

    max_attempts: int = 5
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class Reference:
    """A config value that names an object of the workspace, checked when a version is published.

    ``path`` is the key in the config (dotted for nested objects: ``audience.segment_id``); ``model`` names the
    object's model by its label (``"templates.EmailTemplate"``): the engine knows no models, the runtime looks
    them up. A required reference must name an existing object; an optional one is checked only when given.
    ``collection`` is the API collection the builder picks such objects from (``"templates"`` for
    ``/api/v1/templates``): the config schema marks the property with ``"x-reference": collection``.
    ``where`` narrows the objects that fit (``{"kind__in": [...]}``: a CRM connector, not a social one); an
    object that exists but does not fit is refused with ``unfit``, which says what is expected instead.
    """

    path: str
    model: str
    noun: str
    optional: bool = False
    collection: str = ""
    where: tuple[tuple[str, Any], ...] = ()
    unfit: str = ""

    def value_in(self, config: Mapping[str, Any]) -> Any:
        """Return the value at ``path`` in a raw config (``None`` where a part is missing or not an object)."""
        value: Any = config
        for key in self.path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        return value


class NodeType:
    """Behaviour and schema of one kind of node. Subclass, set ``Config``, override ``run``, decorate."""

    type: ClassVar[str]
    kind: ClassVar[Kind]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[NodeConfig]] = EmptyConfig
    # The branches a node can take; "dynamic" when they come from the config (see ``branches_for``).
    branches: ClassVar[tuple[str, ...] | Literal["dynamic"]] = (DEFAULT_BRANCH,)
    # For dynamic branches: where in the config they are (the builder draws exits from it; None otherwise).
    branch_source: ClassVar[BranchSource | None] = None
    # Retries of a transient port failure (PortError(retryable=True)); exhaustion fails the enrollment.
    retry: ClassVar[RetryPolicy] = RetryPolicy()
    # Config values naming objects of the workspace (templates, campaigns, segments, workflows): publish checks them.
    references: ClassVar[tuple[Reference, ...]] = ()
    # The ports (fields of ``Ports``) its steps act through.
    ports: ClassVar[tuple[str, ...]] = ()
    # For a type that sends a message to the contact: its channel ("email", "sms", "push"; "any" for a type that
    # picks one per contact). Frequency caps and the per-channel analytics count the steps of every type that
    # names one.
    channel: ClassVar[str | None] = None
    # "fork" for a type that runs branches at once (``parallel``), "join" for the type they meet at (``merge``),
    # "each" for one that runs a branch once per item (``for_each``):
    # the runner and validation treat the two by this, not by a type's name.
    flow: ClassVar[Literal["fork", "join", "each"] | None] = None
    # False for a type whose side effects ship later: publish refuses it, live steps fail, simulation shows it.
    available: ClassVar[bool] = True
    unavailable_because: ClassVar[str] = ""

    def parse_config(self, config: Mapping[str, Any]) -> NodeConfig:
        """Return the validated config; raise pydantic's ``ValidationError`` when it is invalid."""
        return self.Config.model_validate(config)

    def branches_for(self, config: NodeConfig) -> tuple[str, ...]:
        """Return the branches a node with this config can take."""
        if self.branches == "dynamic":
            raise NotImplementedError(f"{self.type} declares dynamic branches and must compute them")
        return self.branches

    def rules(self, config: NodeConfig) -> Iterable[tuple[str, Any]]:
        """Return the JsonLogic rules in a config as ``(config path, rule)`` pairs, for validation."""
        return ()

    def problems(self, config: NodeConfig) -> Iterable[tuple[str, str, str]]:
        """Return ``(level, code, message)`` for what is valid JSON but wrong for this type (e.g. zero weights)."""
        return ()

    def run(self, ctx: StepContext, config: Any) -> Outcome:
        """Execute one step of a node of this type and return what happens next."""
        raise NotImplementedError

    @property
    def is_wait(self) -> bool:
        return self.kind in WAIT_KINDS

    def describe(self) -> dict[str, Any]:
        """Return this type's entry of ``GET /api/v1/node-types``."""
        return {
            "type": self.type,
            "kind": self.kind,
            "label": self.label,
            "description": self.description,
            "config_schema": annotate_references(_untitled(self.Config.model_json_schema()), self.references),
            "branches": self.branches if self.branches == "dynamic" else list(self.branches),
            "branch_source": self.branch_source.describe() if self.branch_source else None,
        }


def _untitled(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop the config's own title: it is the class's name ("Config", "TagConfig"), which a form would show as a
    heading; the builder titles the form with the node type's label."""
    schema.pop("title", None)
    return schema


def annotate_references(schema: dict[str, Any], references: Iterable[Reference]) -> dict[str, Any]:
    """Mark the property at each reference's path with ``"x-reference": <collection>`` (a JSON Schema extension
    keyword) so the builder offers a picker of that collection; nested paths follow ``$ref`` into ``$defs``. Its
    title becomes the reference's noun ("Email template" rather than "Template id"), unless the field declared
    one of its own."""
    for reference in references:
        if not reference.collection:
            continue
        node: dict[str, Any] | None = schema
        *parents, leaf = reference.path.split(".")
        for key in parents:
            node = _resolved(schema, ((node or {}).get("properties") or {}).get(key))
        prop = ((node or {}).get("properties") or {}).get(leaf)
        if isinstance(prop, dict):
            prop["x-reference"] = reference.collection
            if prop.get("title") == field_title(leaf):
                prop["title"] = field_title(reference.noun)
    return schema


def _resolved(schema: dict[str, Any], prop: Any) -> dict[str, Any] | None:
    """Return the object schema a property stands for: itself, its ``$ref``'s target, or its one non-null option."""
    if not isinstance(prop, dict):
        return None
    options = [option for option in prop.get("anyOf", ()) if option.get("type") != "null"]
    if len(options) == 1:
        prop = options[0]
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return (schema.get("$defs") or {}).get(ref.rsplit("/", 1)[-1])
    return prop


class Registry:
    """The node types known to this process, by type name."""

    def __init__(self) -> None:
        self._types: dict[str, NodeType] = {}
        self.version = 0  # bumped on every registration so that prepared graphs know to re-prepare
        self._described: list[dict[str, Any]] | None = None

    def register(self, node: NodeType) -> None:
        """Add a node type; the same class declared again (a module reload) replaces the first."""
        existing = self._types.get(node.type)
        if existing is not None and _origin(existing) != _origin(node):
            raise ValueError(
                f"node type {node.type!r} is declared twice: {_origin(existing)} and {_origin(node)}"
            )
        self._types[node.type] = node
        self.version += 1
        self._described = None

    def get(self, type_name: str) -> NodeType | None:
        """Return the node type called ``type_name``, or ``None`` when it is unknown."""
        return self._types.get(type_name)

    def all(self) -> list[NodeType]:
        """Return every node type, triggers first, then logic, waits and actions, each by name."""
        return sorted(self._types.values(), key=lambda node: (KINDS.index(node.kind), node.type))

    def describe(self) -> list[dict[str, Any]]:
        """Return ``[{type, kind, label, description, config_schema, branches}]`` for the builder."""
        if self._described is None:
            self._described = [node.describe() for node in self.all()]
        return self._described

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types

    def __iter__(self) -> Iterator[NodeType]:
        return iter(self.all())


def _origin(node: NodeType) -> str:
    return f"{type(node).__module__}.{type(node).__qualname__}"


registry = Registry()


def node_type(
    type_name: str,
    *,
    kind: Kind,
    label: str,
    description: str = "",
    branches: tuple[str, ...] | Literal["dynamic"] | None = None,
) -> Callable[[type[NodeType]], type[NodeType]]:
    """Register the decorated ``NodeType`` subclass under ``type_name``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")

    def register(cls: type[NodeType]) -> type[NodeType]:
        config = cls.Config
        if config.model_config.get("extra") != "forbid":
            raise TypeError(f"{cls.__qualname__}.Config must refuse unknown keys: derive it from NodeConfig")
        cls.type = type_name
        cls.kind = kind
        cls.label = label
        cls.description = description or (cls.__doc__ or "").strip()
        if branches is not None:
            cls.branches = branches
        registry.register(cls())
        return cls

    return register


def load_node_types(packages: Iterable[str]) -> list[str]:
    """Import ``<package>.nodes`` for each package that has one; return the modules imported.

    Django calls this from ``AppConfig.ready`` with the installed apps; tests call it with the app names.
    """
    loaded: list[str] = []
    for package in packages:
        name = f"{package}.nodes"
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            continue  # the package itself is not importable here: it has no node types to offer
        if spec is None:
            continue
        importlib.import_module(name)
        loaded.append(name)
    return loaded
