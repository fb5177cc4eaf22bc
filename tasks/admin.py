from django.contrib import admin

from tasks.models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "assignee", "due_at", "workspace", "created_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["title", "description", "contact__email", "assignee__email"]
    raw_id_fields = ["contact", "assignee"]
    readonly_fields = ["id", "execution_id", "effect_key", "created_at", "updated_at"]
