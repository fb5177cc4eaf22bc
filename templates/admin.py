from django.contrib import admin

from penguinflow.common.admin import ReadOnlyAdmin, service_action
from templates import recovery
from templates.models import EmailTemplate, OutboxMessage


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "subject", "workspace", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "subject"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """The outbox: every email, its status and last error. `unknown` ones wait for a person's decision."""

    list_display = ["to_email", "subject", "kind", "status", "attempts", "workspace", "node_id", "created_at", "sent_at"]
    list_filter = ["status", "kind", "workspace", "created_at"]
    search_fields = ["to_email", "subject", "key", "esp_message_id", "message_id", "=id"]
    list_select_related = ["workspace"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = [
        service_action(
            "Resend deliberately (unknown or failed only)",
            lambda message: recovery.outbox_resend(message=message),
            done="messages queued again",
        )
    ]
