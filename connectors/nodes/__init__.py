"""The connectors' node types (plain Python, as every node declaration): CRM writes."""

from __future__ import annotations

from connectors.nodes import crm

__all__ = ["crm"]
