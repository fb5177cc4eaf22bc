from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "penguinflow.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces and access"

    def ready(self) -> None:
        from penguinflow.common import schema  # noqa: F401  (registers the OpenAPI auth extensions)
