"""Websocket routes; the execution-history issue adds /ws/workflows/{id}/ and /ws/executions/{id}/."""

websocket_urlpatterns: list = []
