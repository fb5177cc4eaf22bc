"""Admin helpers: read-only audit fields and actions that call services and report per object."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages

from penguinflow.common.errors import DomainError


def service_action(description: str, call: Callable, *, done: str):
    """Build an admin action that calls `call(obj)` for each selected object, reporting refusals one by one."""

    def run(modeladmin, request, queryset):
        succeeded = 0
        for obj in queryset:
            try:
                call(obj)
                succeeded += 1
            except DomainError as error:
                modeladmin.message_user(request, f"{obj}: {error.message}", level=messages.WARNING)
        if succeeded:
            modeladmin.message_user(request, f"{succeeded} {done}.", level=messages.SUCCESS)

    run.short_description = description
    run.__name__ = f"action_{description.lower().replace(' ', '_')}"
    return run


class ReadOnlyAdmin(admin.ModelAdmin):
    """For logs and audit rows: visible and searchable, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
