"""The node types the engine owns: triggers, logic and waits. Domain actions live in their apps' nodes.py."""

from __future__ import annotations

from workflows.engine.nodes import logic, triggers, waits

__all__ = ["logic", "triggers", "waits"]
