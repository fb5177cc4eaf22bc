"""The connectors' node types (plain Python, as every node declaration): social posting."""

from __future__ import annotations

from connectors.nodes import social

__all__ = ["social"]
