from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html
from rest_framework_api_key.admin import APIKeyModelAdmin

from penguinflow.workspaces.models import (
    ApiScope,
    Credential,
    IdempotentRequest,
    Membership,
    WebhookSigningSecret,
    Workspace,
    WorkspaceAPIKey,
)
from penguinflow.workspaces.services import (
    api_key_revoke,
    signing_secret_revoke,
    tracking_snippet,
    workspace_owner_ensure,
    write_key_rotate,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "timezone", "send_rate_per_minute", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["id", "created_at", "updated_at", "write_key", "tracking_snippet"]
    inlines = [MembershipInline]
    actions = ["rotate_write_key"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:  # a new workspace without an owner among its members gets its creator as owner
            workspace_owner_ensure(workspace=form.instance, user=request.user)

    @admin.display(description="Website tracking snippet")
    def tracking_snippet(self, workspace):
        """What to paste into the site's pages (the sites themselves are the setting `tracking_origins`)."""
        if not workspace.write_key:
            return "No write key yet: use the action \u201cMake a new website write key\u201d on the list."
        snippet = tracking_snippet(write_key=workspace.write_key, base_url=settings.PUBLIC_BASE_URL)
        return format_html('<textarea readonly rows="6" cols="100" onclick="this.select()">{}</textarea>', snippet)

    @admin.action(description="Make a new website write key (the old one stops adding events)")
    def rotate_write_key(self, request, queryset):
        for workspace in queryset:
            write_key_rotate(workspace=workspace)
        self.message_user(request, f"New write keys for {queryset.count()} workspace(s): update the sites' snippet.")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "user__email", "workspace__slug"]
    autocomplete_fields = ["user", "workspace"]


class WorkspaceAPIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple,
                                       help_text="read: every GET; write: every change, events included; "
                                                 "events: only POST /api/v1/events.")

    class Meta:
        model = WorkspaceAPIKey
        fields = ["workspace", "name", "scopes", "rate_limit_per_minute", "expiry_date", "revoked"]
        labels = {"name": "Label"}


@admin.register(WorkspaceAPIKey)
class WorkspaceAPIKeyAdmin(APIKeyModelAdmin):
    """Create (the key is shown once), label, scope and revoke keys; a change takes effect on the next request
    in every process (saving bumps the key generation the caches check)."""

    form = WorkspaceAPIKeyForm
    list_display = ["prefix", "name", "workspace", "scopes", "last_used_at", "created", "expiry_date", "revoked"]
    list_filter = [*APIKeyModelAdmin.list_filter, "revoked", "workspace"]
    search_fields = [*APIKeyModelAdmin.search_fields, "workspace__slug"]
    autocomplete_fields = ["workspace"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "last_used_at")

    @admin.action(description="Revoke: refuse the selected keys from the next request on")
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)


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


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    """The Idempotency-Keys of the last day, to see what a client sent; read-only (the middleware writes them)."""

    list_display = ["key", "owner", "status", "created_at"]
    search_fields = ["key", "owner"]
    fields = ["owner", "key", "fingerprint", "status", "content_type", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """The workspaces' credentials by name; the secret is never shown (made and deleted through the API)."""

    list_display = ["name", "workspace", "created_at"]
    search_fields = ["name"]
    fields = ["workspace", "name", "description", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
