from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "penguinflow.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces and access"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from penguinflow.common import schema  # noqa: F401  (registers the OpenAPI auth extensions)
        from penguinflow.workspaces.models import Workspace, WorkspaceAPIKey

        # Signals, against the house rule, because keys and workspaces are revoked, changed and deleted by code
        # that is not ours (djangorestframework-api-key's admin, the admin's cascades): every such write must
        # make the API-key caches of every process stale, and this is the one place that sees them all.
        for model in (Workspace, WorkspaceAPIKey):
            post_save.connect(_keys_changed, sender=model, dispatch_uid=f"key-generation-save-{model.__name__}")
            post_delete.connect(_keys_changed, sender=model, dispatch_uid=f"key-generation-delete-{model.__name__}")


def _keys_changed(sender, created: bool = False, **kwargs) -> None:
    if created:
        return  # a new key or workspace is in no cache yet
    # Django imports apps.py before the models are ready, and auth imports the models: no cycle, load order.
    from penguinflow.common.auth import key_generation_bump

    key_generation_bump()
