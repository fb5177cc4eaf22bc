from django.contrib import admin

from events.models import Event, EventKey
from penguinflow.common.admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "contact_id", "occurred_at", "received_at", "source", "processed_at", "workspace"]
    list_filter = ["source", "type", "workspace"]
    search_fields = ["type", "client_id", "=contact_id"]
    show_full_result_count = False  # counting a large partitioned table on every page view is not worth it

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EventKey)
class EventKeyAdmin(ReadOnlyAdmin):
    list_display = ["key", "event_id", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["key"]
