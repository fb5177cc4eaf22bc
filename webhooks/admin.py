"""Ops staff see every subscription and its delivery log; replays call the same services as the API."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone

from penguinflow.common.admin import ReadOnlyAdmin
from penguinflow.common.errors import DomainError
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription


@admin.action(description="Replay the selected deliveries")
def replay_deliveries(modeladmin, request, queryset):
    replayed, refused = 0, 0
    for delivery in queryset.select_related("subscription"):
        try:
            services.delivery_replay(delivery=delivery)
            replayed += 1
        except DomainError:
            refused += 1
    modeladmin.message_user(request, f"{replayed} deliveries are due again now.", level=messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, f"{refused} belong to disabled subscriptions: enable them first.",
                                level=messages.WARNING)


@admin.action(description="Replay the last 24 hours of deliveries")
def replay_last_day(modeladmin, request, queryset):
    replayed = 0
    for subscription in queryset:
        try:
            replayed += services.deliveries_replay_since(subscription=subscription,
                                                         since=timezone.now() - timedelta(days=1))
        except DomainError as error:
            modeladmin.message_user(request, f"{subscription}: {error.message}", level=messages.WARNING)
    modeladmin.message_user(request, f"{replayed} deliveries are due again now.", level=messages.SUCCESS)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["url", "events", "status", "ordered", "failing_since", "workspace", "created_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["url", "description"]
    exclude = ["secret", "previous_secret"]
    actions = [replay_last_day]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "event_id", "status", "attempts", "response_status", "latency_ms",
                    "next_attempt_at", "subscription", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["msg_id", "subscription__url"]
    raw_id_fields = ["subscription"]
    actions = [replay_deliveries]
