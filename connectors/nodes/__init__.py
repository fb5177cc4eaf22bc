"""The connectors' node types (plain Python, as every node declaration): CRM writes and social posting."""

from __future__ import annotations

from connectors.nodes import crm, social

__all__ = ["crm", "social"]
