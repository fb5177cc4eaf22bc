"""The template format (docs/templates.md): what a workflow template file holds, checked as data.

A template is a workflow graph and its settings, the emails it sends, a manifest of what it needs from the
workspace (``requires``) and of what a user may set (``parameters``), and a sample scenario with its expected path.
Config values refer to those by placeholders, ``${param.<id>}``, ``${email.<id>}``, ``${segment.<id>}``,
``${campaign.<id>}``, ``${workflow.<id>}``, which installing replaces (``marketplace.placeholders``).

Plain Python and pydantic: the files are checked at start and in tests without a database.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "CATEGORIES",
    "FORMAT_VERSION",
    "RESOURCE_KINDS",
    "Email",
    "Parameter",
    "Requirement",
    "Sample",
    "Step",
    "TemplateFormatError",
    "TemplateManifest",
    "manifest_parse",
]

FORMAT_VERSION = 1

# The catalogue's categories, in the order the gallery shows them, with their labels.
CATEGORIES = {
    "lead-nurturing": "Lead nurturing",
    "onboarding": "Onboarding and trials",
    "re-engagement": "Re-engagement and win-back",
    "sales": "Sales and cold outreach",
    "e-commerce": "E-commerce",
    "events": "Events and webinars",
    "customer-success": "Customer success",
    "internal": "Transactional and internal",
}

# Requirements that name an object of the workspace (installing picks one or creates it); the other kinds (a tag,
# a custom event, a contact field) are documentation of what the workflow reads or writes.
RESOURCE_KINDS = ("segment", "campaign", "workflow")
INFORMATIVE_KINDS = ("tag", "event", "field")

# Limits on a template, so that one submission cannot take the catalogue's memory or a request's time.
MAX_STEPS = 100
MAX_EMAILS = 20
MAX_EMAIL_CHARS = 100_000
MAX_PARAMETERS = 30
MAX_REQUIREMENTS = 30

SLUG = r"^[a-z0-9][a-z0-9-]{1,79}$"
KEY = r"^[a-z][a-z0-9_]{0,47}$"


class TemplateFormatError(ValueError):
    """A template that does not follow the format; ``details`` maps field paths to messages."""

    def __init__(self, message: str, details: dict[str, str]):
        super().__init__(message)
        self.message = message
        self.details = details


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """A value a user may set when installing: a delay, a subject line, a tag, a threshold, an address."""

    id: str = Field(pattern=KEY)
    label: str = Field(min_length=1, max_length=120)
    type: Literal["duration", "text", "number", "tag", "email", "emails", "url"]
    default: Any = None
    example: Any = Field(
        default=None, description="The value the checks and the sample run use when there is no default"
    )
    description: str = Field(default="", max_length=500)

    @property
    def required(self) -> bool:
        return self.default is None


class Requirement(_Strict):
    """Something the workflow needs from the workspace. ``rule`` is the rule a created segment gets."""

    id: str = Field(pattern=KEY)
    kind: Literal["segment", "campaign", "workflow", "tag", "event", "field"]
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    rule: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _rule_for_segments_only(self) -> Requirement:
        if self.rule is not None and self.kind != "segment":
            raise ValueError("only a segment requirement has a rule")
        return self

    @property
    def is_resource(self) -> bool:
        return self.kind in RESOURCE_KINDS


class Email(_Strict):
    """An email the workflow sends, in Liquid; installing creates it as an email template of the workspace."""

    id: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=500)
    html: str = Field(min_length=1, max_length=MAX_EMAIL_CHARS)
    text: str = Field(default="", max_length=MAX_EMAIL_CHARS)


class Step(_Strict):
    """A node in the compact form: ``next`` is the target of the main branch, or ``{branch: target}``."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    type: str = Field(min_length=1, max_length=64)
    label: str = Field(default="", max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    next: str | dict[str, str] | None = None

    def branches(self) -> dict[str, str]:
        """Return ``{branch: target node id}`` of this step's outgoing edges."""
        if self.next is None:
            return {}
        if isinstance(self.next, str):
            return {"default": self.next}
        return dict(self.next)


class GraphJSON(BaseModel):
    """The builder's graph (CONTRACT §5), checked for its outer shape here and in full by the engine."""

    model_config = ConfigDict(extra="allow", frozen=True)
    nodes: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_STEPS)
    edges: list[dict[str, Any]] = Field(default_factory=list, max_length=4 * MAX_STEPS)


class Sample(_Strict):
    """A contact and scripted events (CONTRACT §8's timeline) and the path the simulation must take.

    ``expected_path`` lists the nodes visited, in order, each once per visit (a wait and its wake-up are one
    visit); ``expected_status`` is the enrollment's status at the end.
    """

    contact: dict[str, Any] = Field(default_factory=dict)
    start: str = "2026-11-23T08:00:00Z"
    events: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    until: str = "P60D"
    expected_path: list[str] = Field(min_length=1)
    expected_status: Literal["completed", "exited", "waiting", "failed"] = "completed"


class TemplateManifest(_Strict):
    """One template file, as written (placeholders not yet replaced)."""

    format: Literal[1] = FORMAT_VERSION
    slug: str = Field(pattern=SLUG)
    version: int = Field(default=1, ge=1)
    name: str = Field(min_length=1, max_length=120)
    category: str
    description: str = Field(min_length=1, max_length=1000)
    outcome: str = Field(default="", max_length=500)
    keywords: list[str] = Field(default_factory=list, max_length=20)
    parameters: list[Parameter] = Field(default_factory=list, max_length=MAX_PARAMETERS)
    requires: list[Requirement] = Field(default_factory=list, max_length=MAX_REQUIREMENTS)
    emails: list[Email] = Field(default_factory=list, max_length=MAX_EMAILS)
    settings: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step] | None = Field(default=None, max_length=MAX_STEPS)
    graph: GraphJSON | None = None
    sample: Sample

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"must be one of {', '.join(CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _one_graph_form(self) -> TemplateManifest:
        if (self.steps is None) == (self.graph is None):
            raise ValueError(
                "give the workflow as 'steps' (compact) or as 'graph' (the builder's JSON), not both"
            )
        keys = [p.id for p in self.parameters] + [r.id for r in self.requires] + [e.id for e in self.emails]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(
                f"ids must be unique across parameters, requires and emails: {', '.join(repeated)}"
            )
        return self

    def requirement(self, key: str) -> Requirement | None:
        return next((r for r in self.requires if r.id == key), None)

    def parameter(self, key: str) -> Parameter | None:
        return next((p for p in self.parameters if p.id == key), None)

    def email(self, key: str) -> Email | None:
        return next((e for e in self.emails if e.id == key), None)


def _path(location: tuple[Any, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def manifest_parse(data: Any) -> TemplateManifest:
    """Return the manifest of a template document, or raise ``TemplateFormatError`` naming each problem."""
    if not isinstance(data, dict):
        raise TemplateFormatError("A template is a JSON object.", {"(root)": "Must be an object."})
    if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise TemplateFormatError(
            f"This PenguinFlow reads template format {FORMAT_VERSION}; the template is format {data.get('format')!r}.",
            {"format": f"Must be {FORMAT_VERSION}."},
        )
    try:
        return TemplateManifest.model_validate(data)
    except ValidationError as error:
        details = {_path(e["loc"]): e["msg"].removeprefix("Value error, ") for e in error.errors()}
        raise TemplateFormatError("The template does not follow the template format.", details) from None


PLACEHOLDER = re.compile(r"\$\{(param|email|segment|campaign|workflow)\.([a-z][a-z0-9_]*)\}")
