"""Shapes of CONTRACT §9/§9a: an execution, its step log, the retry/cancel requests and the bulk answers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from workflows.models import Enrollment, StepRun


class StepRunSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()
    duration_ms = serializers.SerializerMethodField()

    class Meta:
        model = StepRun
        fields = ["id", "node_id", "type", "status", "attempt", "visit", "started_at", "finished_at", "duration_ms",
                  "branch", "detail", "error"]

    def get_error(self, step: StepRun) -> dict | None:
        if not step.error_type and not step.error_message:
            return None
        return {"type": step.error_type, "message": step.error_message, "traceback": step.error_traceback}

    def get_duration_ms(self, step: StepRun) -> int | None:
        if step.finished_at is None:
            return None
        return round((step.finished_at - step.started_at).total_seconds() * 1000)


class ExecutionSerializer(serializers.ModelSerializer):
    workflow = serializers.UUIDField(source="workflow_id")
    version = serializers.IntegerField(source="version.number")
    contact = serializers.SerializerMethodField()
    current_node = serializers.CharField(source="current_node_id")

    class Meta:
        model = Enrollment
        fields = ["id", "workflow", "version", "contact", "status", "current_node", "entered_at", "updated_at",
                  "next_run_at", "finished_at", "goal", "error"]

    def get_contact(self, enrollment: Enrollment) -> dict:
        return {"id": str(enrollment.contact_id), "email": enrollment.contact.email}


class ExecutionDetailSerializer(ExecutionSerializer):
    steps = StepRunSerializer(source="step_runs", many=True)
    duration_ms = serializers.SerializerMethodField()
    vars = serializers.SerializerMethodField(
        help_text="The variables steps wrote (http_request, lookup), as rules read them: enrollment.vars.<name>.")

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "duration_ms", "vars", "steps"]

    def get_vars(self, enrollment: Enrollment) -> dict[str, Any]:
        return (enrollment.context or {}).get("vars") or {}

    def get_duration_ms(self, enrollment: Enrollment) -> int | None:
        """From entry to the end (finished ones) or to the last change (live ones)."""
        end = enrollment.finished_at or enrollment.updated_at
        return round((end - enrollment.entered_at).total_seconds() * 1000) if end else None


def _retry_fields() -> dict[str, serializers.Field]:
    # `from` is a Python keyword, hence fields declared through a mapping.
    return {
        "from": serializers.ChoiceField(choices=["failed_step", "start"], default="failed_step",
                                        help_text="Resume at the failed step, or start over at the trigger."),
        "version": serializers.ChoiceField(choices=["own", "latest"], default="own",
                                           help_text="Run on the execution's own version or the latest published."),
    }


class RetrySerializer(serializers.Serializer):
    locals().update(_retry_fields())


class BulkRetryAnswerSerializer(serializers.Serializer):
    matched = serializers.IntegerField(help_text="Failed executions that match the filters.")
    retried = serializers.IntegerField(help_text="Retried now (0 in a dry run).")
    refused = serializers.DictField(child=serializers.CharField(), help_text="Execution id -> why it was left.")


class BulkCancelAnswerSerializer(serializers.Serializer):
    matched = serializers.IntegerField(help_text="Live or failed executions that match the filters.")
    cancelled = serializers.IntegerField(help_text="Cancelled now (0 in a dry run).")
