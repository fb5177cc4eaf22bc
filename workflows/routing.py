"""Websocket routes of the runtime's screens (mounted by penguinflow.routing through WEBSOCKET_URLPATTERNS)."""

from django.urls import path, re_path

from workflows.consumers import ExecutionConsumer, NoRouteConsumer, WorkflowConsumer, WorkspaceConsumer

websocket_urlpatterns = [
    path("ws/workflows/<str:workflow_id>/", WorkflowConsumer.as_asgi()),
    path("ws/executions/<str:execution_id>/", ExecutionConsumer.as_asgi()),
    path("ws/workspace/", WorkspaceConsumer.as_asgi()),
    re_path(r"", NoRouteConsumer.as_asgi()),
]
