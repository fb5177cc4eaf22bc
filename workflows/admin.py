from django.contrib import admin, messages

from penguinflow.common.admin import ReadOnlyAdmin, ReadOnlyInline, service_action
from workflows import execution_actions, services
from workflows.execution_query import (
    ALL_WORKSPACES,
    MAX_TEXT,
    MIN_SEARCH,
    ExecutionQuery,
    executions_matching,
)
from workflows.models import (
    Connection,
    ContentChoice,
    EngagementHour,
    Enrollment,
    SendLedgerEntry,
    SplitAllocationChange,
    Step,
    StepRun,
    SuggestionDecision,
    TriggerCursor,
    VersionMigration,
    VersionMigrationItem,
    Workflow,
    WorkflowCounter,
    WorkflowDailyCounter,
    WorkflowVersion,
    WorkspaceEngagementHour,
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
    actions = ["action_retry_from_failed_step", "action_retry_from_start_on_latest", "action_cancel_selected"]

    def get_search_results(self, request, queryset, search_term):
        """The fields above, or the API's own search (workflows.execution_query): part of the contact's email or
        of the error message, through the same trigram indexes, so ops staff find what the screens find."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if len(term) < MIN_SEARCH or "\x00" in term or len(term) > MAX_TEXT:
            return results, may_have_duplicates
        matching = executions_matching(workspace=ALL_WORKSPACES, query=ExecutionQuery(q=term))
        return results | queryset.filter(pk__in=matching.values("pk")), may_have_duplicates

    def _report(self, request, report, verb: str) -> None:
        # The same services as the API's bulk actions and `retry_failed` (workflows.execution_actions).
        self.message_user(request, f"{report.done} of {report.matched} matching enrollment(s) {verb}.",
                          level=messages.SUCCESS if report.done else messages.WARNING)
        for enrollment_id, (code, reason) in list(report.refused.items())[:20]:
            self.message_user(request, f"{enrollment_id}: {reason} ({code})", level=messages.WARNING)

    @admin.action(description="Retry selected failed enrollments at their failed step")
    def action_retry_from_failed_step(self, request, queryset):
        self._report(request, execution_actions.executions_retry(enrollments=queryset), "retried")

    @admin.action(description="Retry selected failed enrollments from the start, on the latest published version")
    def action_retry_from_start_on_latest(self, request, queryset):
        report = execution_actions.executions_retry(enrollments=queryset, start_from="start", version="latest")
        self._report(request, report, "retried")

    @admin.action(description="Cancel selected enrollments")
    def action_cancel_selected(self, request, queryset):
        self._report(request, execution_actions.executions_cancel(enrollments=queryset), "cancelled")


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


@admin.register(WorkflowDailyCounter)
class WorkflowDailyCounterAdmin(ReadOnlyAdmin):
    list_display = ["day", "key", "value", "version"]
    list_filter = ["key"]
    search_fields = ["key", "version__workflow__name"]


@admin.register(TriggerCursor)
class TriggerCursorAdmin(ReadOnlyAdmin):
    list_display = ["node_id", "fired_until", "version"]
    search_fields = ["node_id", "version__workflow__name"]


@admin.register(SendLedgerEntry)
class SendLedgerEntryAdmin(ReadOnlyAdmin):
    """The messages frequency caps count (written by the runtime; forgotten after a year)."""

    list_display = ["contact", "channel", "sent_at", "key"]
    list_filter = ["channel"]
    search_fields = ["key"]
    raw_id_fields = ["contact"]
    show_full_result_count = False


@admin.register(EngagementHour)
class EngagementHourAdmin(ReadOnlyAdmin):
    """When each contact engages, by local hour of the week (0 = Monday 00:00) and channel: what send-time
    optimization learns from (kept by event processing; `engagement_hours_rebuild` recounts)."""

    list_display = ["contact", "channel", "hour", "count"]
    list_filter = ["channel"]
    raw_id_fields = ["contact"]
    show_full_result_count = False


@admin.register(WorkspaceEngagementHour)
class WorkspaceEngagementHourAdmin(ReadOnlyAdmin):
    """The workspace's engagement by hour of the week: what a contact with little data falls back to."""

    list_display = ["workspace", "channel", "hour", "count"]
    list_filter = ["channel"]


@admin.register(SplitAllocationChange)
class SplitAllocationChangeAdmin(ReadOnlyAdmin):
    """Each change an optimizing split made to its traffic shares, and why (the canvas shows the latest)."""

    list_display = ["workflow", "node_id", "goal", "at", "winner", "reason"]
    list_filter = ["winner"]
    search_fields = ["workflow__name", "node_id"]
    raw_id_fields = ["workflow"]
    show_full_result_count = False


@admin.register(ContentChoice)
class ContentChoiceAdmin(ReadOnlyAdmin):
    """Which candidate template a send step chose for each contact, and whether it was clicked: the evidence of
    content recommendations."""

    list_display = ["workflow", "node_id", "template_id", "topic", "clicked", "chosen_at"]
    list_filter = ["clicked"]
    search_fields = ["key", "workflow__name"]
    raw_id_fields = ["workflow"]
    show_full_result_count = False


@admin.register(VersionMigration)
class VersionMigrationAdmin(ReadOnlyAdmin):
    """Jobs that move live enrollments onto a newer version (CONTRACT §17): their plan and progress."""

    list_display = ["workflow", "to_version", "status", "total", "moved", "exited", "left", "created_at",
                    "finished_at"]
    list_filter = ["status"]
    list_select_related = ["workflow", "to_version"]


@admin.register(VersionMigrationItem)
class VersionMigrationItemAdmin(ReadOnlyAdmin):
    """Enrollments a running migration still has to move."""

    list_display = ["enrollment_id", "migration"]
    show_full_result_count = False


@admin.register(SuggestionDecision)
class SuggestionDecisionAdmin(ReadOnlyAdmin):
    """What marketers did with path suggestions: the acceptance rate per kind is read from these rows."""

    list_display = ["kind", "status", "at", "workflow", "suggestion_id"]
    list_filter = ["kind", "status"]
    search_fields = ["suggestion_id", "workflow__name"]
