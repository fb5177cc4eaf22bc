from django.contrib import admin, messages

from events.models import Event, EventKey
from events.processing import events_unpark
from penguinflow.common.admin import ReadOnlyAdmin


class ParkedFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "parked"

    def lookups(self, request, model_admin):
        return [("yes", "Parked (gave up after repeated failures)"), ("no", "Not parked")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(parked_at__isnull=self.value() == "no")
        return queryset


@admin.action(description="Replay the selected parked events")
def replay_parked(modeladmin, request, queryset):
    replayed = 0
    for workspace_id in set(queryset.values_list("workspace_id", flat=True)):
        ids = list(queryset.filter(workspace_id=workspace_id).values_list("id", flat=True))
        replayed += events_unpark(workspace_id=workspace_id, event_ids=ids)
    modeladmin.message_user(request, f"{replayed} parked events are queued again.", level=messages.SUCCESS)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "contact_id", "occurred_at", "received_at", "source", "processed_at", "attempts",
                    "parked_at", "workspace"]
    list_filter = [ParkedFilter, "source", "type", "workspace"]
    actions = [replay_parked]
    search_fields = ["type", "client_id", "=contact_id"]
    show_full_result_count = False  # counting a large partitioned table on every page view is not worth it

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EventKey)
class EventKeyAdmin(ReadOnlyAdmin):
    list_display = ["key", "event_id", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["key"]
