from django.contrib import admin

from penguinflow.common.admin import ReadOnlyAdmin, ReadOnlyInline, service_action
from workflows import services
from workflows.models import (
    Connection,
    Enrollment,
    Step,
    StepRun,
    TriggerCursor,
    Workflow,
    WorkflowCounter,
    WorkflowVersion,
)


class VersionInline(ReadOnlyInline):
    model = WorkflowVersion
    fields = ["number", "revision", "published_at", "updated_at"]
    readonly_fields = fields


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "published_version", "workspace", "updated_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["name", "description"]
    readonly_fields = ["id", "status", "published_version", "settings", "created_at", "updated_at"]
    inlines = [VersionInline]
    actions = [
        service_action("Pause selected workflows now", lambda w: services.workflow_pause(workflow=w),
                       done="workflow(s) paused"),
        service_action("Resume selected workflows", lambda w: services.workflow_resume(workflow=w),
                       done="workflow(s) resumed"),
        service_action("Archive selected workflows", lambda w: services.workflow_archive(workflow=w),
                       done="workflow(s) archived"),
    ]


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = ["node_id", "type", "label", "config", "position_x", "position_y"]


class ConnectionInline(admin.TabularInline):
    model = Connection
    extra = 0
    fields = ["edge_id", "source_node_id", "branch", "target_node_id"]


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ["workflow", "number", "revision", "published_at", "updated_at"]
    list_filter = ["workflow__workspace"]
    search_fields = ["workflow__name"]
    readonly_fields = ["id", "workflow", "number", "revision", "published_at", "created_at", "updated_at"]
    inlines = [StepInline, ConnectionInline]

    def has_change_permission(self, request, obj=None) -> bool:
        # A published version is immutable; the draft is edited in the builder, where it is validated.
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Step)
class StepAdmin(ReadOnlyAdmin):
    list_display = ["node_id", "type", "label", "version"]
    list_filter = ["type"]
    search_fields = ["node_id", "label", "version__workflow__name"]


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ["edge_id", "source_node_id", "branch", "target_node_id", "version"]
    search_fields = ["edge_id", "source_node_id", "target_node_id"]


class StepRunInline(ReadOnlyInline):
    model = StepRun
    fields = ["started_at", "node_id", "type", "attempt", "status", "branch", "error_type", "error_message"]
    readonly_fields = fields
    ordering = ["sequence"]


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "workflow", "contact", "status", "current_node_id", "entered_at", "next_run_at"]
    list_filter = ["status", "workflow__workspace", "workflow"]
    search_fields = ["=id", "contact__email", "workflow__name"]
    list_select_related = ["workflow", "contact"]
    raw_id_fields = ["contact", "workflow", "version"]
    show_full_result_count = False
    inlines = [StepRunInline]
    actions = [
        service_action("Retry selected failed enrollments", lambda e: services.enrollment_retry(enrollment=e),
                       done="enrollment(s) retried at their failed step"),
        service_action("Cancel selected enrollments", lambda e: services.enrollment_cancel(enrollment=e),
                       done="enrollment(s) cancelled"),
    ]


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "node_id", "type", "attempt", "status", "branch", "error_type", "enrollment"]
    list_filter = ["status", "type", "error_type"]
    search_fields = ["=enrollment__id", "node_id", "error_message"]
    raw_id_fields = ["enrollment"]
    show_full_result_count = False


@admin.register(WorkflowCounter)
class WorkflowCounterAdmin(ReadOnlyAdmin):
    list_display = ["key", "value", "version"]
    list_filter = ["version__workflow"]
    search_fields = ["key", "version__workflow__name"]


@admin.register(TriggerCursor)
class TriggerCursorAdmin(ReadOnlyAdmin):
    list_display = ["node_id", "fired_until", "version"]
    search_fields = ["node_id", "version__workflow__name"]
