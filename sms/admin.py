from django.contrib import admin

from penguinflow.common.admin import ReadOnlyAdmin, service_action
from sms import recovery
from sms.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    """The SMS outbox: every SMS, its status and last error. `unknown` ones wait for a person's decision."""

    list_display = [
        "to_phone",
        "status",
        "segments",
        "attempts",
        "workspace",
        "node_id",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "workspace", "created_at"]
    search_fields = ["to_phone", "key", "provider_sid", "=id"]
    list_select_related = ["workspace"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = [field.name for field in SmsMessage._meta.fields]
    actions = [
        service_action(
            "Resend deliberately (unknown or failed only)",
            lambda message: recovery.sms_resend(message=message),
            done="SMS queued again",
        )
    ]
