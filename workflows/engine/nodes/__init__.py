"""The node types the engine owns: triggers, logic, waits, and the actions that act only through its ports.

Domain actions (tags, fields, campaigns, email) live in their apps' ``nodes.py``.
"""

from __future__ import annotations

from workflows.engine.nodes import actions, data, flow, logic, messages, triggers, waits

__all__ = ["actions", "data", "flow", "logic", "messages", "triggers", "waits"]
