"""Presets: ready-made configs of node types, offered by the builder as trigger and action templates.

A preset is declared next to its node type, in the ``presets`` attribute of the node type's class, so that the
libraries cannot drift from the types they configure: ``GET /api/v1/trigger-templates`` and
``GET /api/v1/action-templates`` and ``docs/nodes.md`` read them from the registry, never from a list of their own.

A config value naming an object of the workspace is a placeholder (``PLACEHOLDER_*``); the preset's
``example["fill_in"]`` says what to put there. ``example["event"]`` and ``example["contact"]`` describe a
moment that starts (or a contact that the action applies to) as the preset stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.engine.registry import NodeType, Registry

__all__ = [
    "PLACEHOLDER_CAMPAIGN",
    "PLACEHOLDER_SEGMENT",
    "PLACEHOLDER_TEMPLATE",
    "PLACEHOLDER_WORKFLOW",
    "Preset",
    "action_presets",
    "presets_of",
    "step_presets",
    "trigger_presets",
]

PLACEHOLDER_TEMPLATE = "<template-id>"
PLACEHOLDER_SEGMENT = "<segment-id>"
PLACEHOLDER_CAMPAIGN = "<campaign-id>"
PLACEHOLDER_WORKFLOW = "<workflow-id>"


@dataclass(frozen=True, slots=True)
class Preset:
    """One ready-made config of the node type that declares it; ``id`` is stable and unique across types."""

    id: str
    label: str
    description: str
    category: str
    config: Mapping[str, Any] = field(default_factory=dict)
    example: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, node_type: str) -> dict[str, Any]:
        """Return this preset's entry of the template endpoints."""
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "category": self.category,
            "type": node_type,
            "config": _plain(self.config),
            "example": _plain(self.example),
        }


def _plain(value: Any) -> Any:
    """Return a fresh JSON-shaped copy, so that no caller can change a declaration."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def presets_of(node: NodeType) -> tuple[Preset, ...]:
    """Return the presets a node type declares (none when it declares none)."""
    return tuple(getattr(node, "presets", ()))


def _described(registry: Registry, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    found = [preset.describe(node.type) for node in registry.all() if node.kind in kinds for preset in presets_of(node)]
    ids = [entry["id"] for entry in found]
    if len(set(ids)) != len(ids):
        raise ValueError(f"preset ids must be unique: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
    return sorted(found, key=lambda entry: (entry["category"], entry["id"]))


def trigger_presets(registry: Registry) -> list[dict[str, Any]]:
    """Return ``GET /api/v1/trigger-templates``: the presets of trigger types, by category then id."""
    return _described(registry, ("trigger",))


def action_presets(registry: Registry) -> list[dict[str, Any]]:
    """Return ``GET /api/v1/action-templates``: the presets of action types, by category then id."""
    return _described(registry, ("action",))


def step_presets(registry: Registry) -> list[dict[str, Any]]:
    """Return the presets of logic and wait types (the documentation's examples; no endpoint serves them)."""
    return _described(registry, ("logic", "wait"))
