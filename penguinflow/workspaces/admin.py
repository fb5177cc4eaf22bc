from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin

from penguinflow.workspaces.models import Membership, WebhookSigningSecret, Workspace, WorkspaceAPIKey
from penguinflow.workspaces.services import signing_secret_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "timezone", "send_rate_per_minute", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "user__email", "workspace__slug"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(WorkspaceAPIKey)
class WorkspaceAPIKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "workspace"]
    list_filter = [*APIKeyModelAdmin.list_filter, "workspace"]
    search_fields = [*APIKeyModelAdmin.search_fields, "workspace__slug"]
    autocomplete_fields = ["workspace"]


@admin.register(WebhookSigningSecret)
class WebhookSigningSecretAdmin(admin.ModelAdmin):
    """Secrets are listed by hint only; a new one is made with the API or `manage.py rotate_webhook_secret`,
    which show its value once."""

    list_display = ["hint", "workspace", "created_at", "expires_at", "revoked_at"]
    list_filter = ["workspace"]
    fields = ["workspace", "hint", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["workspace", "hint", "created_at", "expires_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke: stop signing with the selected secrets now")
    def revoke(self, request, queryset):
        for secret in queryset:
            signing_secret_revoke(secret=secret)
