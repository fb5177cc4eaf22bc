"""Ops staff see the push outbox (and resend an `unknown` or `failed` message deliberately) and the browsers.
The VAPID private key is not shown anywhere."""

from __future__ import annotations

from django.contrib import admin, messages

from penguinflow.common.admin import ReadOnlyAdmin
from penguinflow.common.errors import DomainError
from push.models import PushMessage, PushSettings, PushSubscription
from push.recovery import push_resend


@admin.action(description="Send the selected messages again (unknown or failed ones only)")
def resend(modeladmin, request, queryset):
    done = refused = 0
    for message in queryset:
        try:
            push_resend(message=message)
            done += 1
        except DomainError:
            refused += 1
    modeladmin.message_user(request, f"{done} messages are queued again.", level=messages.SUCCESS)
    if refused:
        modeladmin.message_user(
            request, f"{refused} were neither unknown nor failed: left alone.", level=messages.WARNING
        )


@admin.register(PushMessage)
class PushMessageAdmin(ReadOnlyAdmin):
    list_display = ["title", "contact", "status", "attempts", "response_status", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["key", "title"]
    actions = [resend]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["contact", "endpoint", "source", "created_at"]
    list_filter = ["source"]


@admin.register(PushSettings)
class PushSettingsAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "site_key", "subject", "updated_at"]
    exclude = ["vapid_private_key_encrypted", "identity_secret"]
