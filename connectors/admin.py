from django.contrib import admin

from connectors.models import Connector


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    """The workspaces' CRM and social accounts; the secret is never shown (entered through the API)."""

    list_display = ["name", "kind", "status", "workspace", "last_error_at", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name"]
    fields = ["workspace", "kind", "name", "base_url", "settings", "status", "last_error", "last_error_at",
              "cursor", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
