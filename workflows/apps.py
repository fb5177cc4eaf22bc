from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from django.conf import settings

        from workflows.engine.registry import load_node_types

        # Domain node types live in the app that owns them (`<app>/nodes.py`); this imports every one.
        load_node_types(settings.INSTALLED_APPS)
