"""The API of CONTRACT §9/§9a: executions (list, detail, retry, cancel, bulk, CSV export) and the node catalogue."""

from workflows.executions.views import ExecutionViewSet, NodeTypesView

__all__ = ["ExecutionViewSet", "NodeTypesView"]
