"""Moderation of community templates in the Django admin: staff read the automatic checks' findings and the
template, then approve it, or reject it with a reason its authors will read."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from marketplace.authoring import template_moderate
from marketplace.checks import template_problems
from marketplace.community_checks import community_problems
from marketplace.manifest import TemplateFormatError, manifest_parse
from marketplace.models import TemplateInstall, TemplateStats, WorkflowTemplate, WorkflowTemplateVersion
from penguinflow.common.admin import ReadOnlyInline, service_action

Moderation = WorkflowTemplate.Moderation


class ModerationForm(forms.ModelForm):
    decision = forms.ChoiceField(
        choices=[("", "No decision"), ("approve", "Approve"), ("reject", "Reject")], required=False
    )
    reason = forms.CharField(
        widget=forms.Textarea, required=False, help_text="Required to reject: authors read it."
    )

    class Meta:
        model = WorkflowTemplate
        fields = []

    def clean(self):
        data = super().clean()
        if data.get("decision") and self.instance.moderation_status != Moderation.PENDING:
            raise forms.ValidationError(
                f"Only a pending template can be moderated; this one is {self.instance.moderation_status}."
            )
        if data.get("decision") == "reject" and not data.get("reason", "").strip():
            raise forms.ValidationError("Say why the template is rejected: its authors read it.")
        return data


class VersionInline(ReadOnlyInline):
    model = WorkflowTemplateVersion
    fields = ["number", "created_at"]
    readonly_fields = fields


@admin.register(WorkflowTemplate)
class WorkflowTemplateAdmin(admin.ModelAdmin):
    form = ModerationForm
    list_display = ["slug", "name", "category", "visibility", "moderation_status", "workspace", "updated_at"]
    list_filter = ["moderation_status", "visibility", "category"]
    search_fields = ["slug", "name", "description"]
    readonly_fields = [
        "slug",
        "name",
        "category",
        "description",
        "workspace",
        "visibility",
        "moderation_status",
        "moderation_reason",
        "moderated_at",
        "moderated_by",
        "current_version",
        "checks",
        "document",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "slug",
                    "name",
                    "category",
                    "description",
                    "workspace",
                    "visibility",
                    "current_version",
                ]
            },
        ),
        ("Automatic checks", {"fields": ["checks", "document"]}),
        (
            "Moderation",
            {
                "fields": [
                    "moderation_status",
                    "moderation_reason",
                    "moderated_at",
                    "moderated_by",
                    "decision",
                    "reason",
                ]
            },
        ),
    ]
    inlines = [VersionInline]
    actions = [
        service_action(
            "Approve selected pending templates",
            lambda t: template_moderate(template=t, approve=True, by="admin"),
            done="template(s) approved",
        )
    ]

    def _document(self, template: WorkflowTemplate) -> dict:
        return template.versions.get(number=template.current_version).document

    @admin.display(description="Findings of the current version")
    def checks(self, template: WorkflowTemplate) -> str:
        try:
            manifest = manifest_parse(self._document(template))
        except TemplateFormatError as error:
            return f"Does not follow the format: {error.details}"
        problems = template_problems(manifest) | community_problems(manifest)
        if not problems:
            return "No problem found: valid, simulates as shown, no secret, personal data or private webhook."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", problems.items()))

    @admin.display(description="Template document")
    def document(self, template: WorkflowTemplate) -> str:
        return format_html(
            "<pre>{}</pre>",
            json.dumps(self._document(template), indent=2),
        )

    def save_model(self, request, obj, form, change):
        decision = form.cleaned_data.get("decision")
        if decision:
            template_moderate(
                template=obj,
                approve=decision == "approve",
                reason=form.cleaned_data.get("reason", ""),
                by=request.user.get_username(),
            )

    def has_add_permission(self, request) -> bool:
        return False  # templates are saved from workflows, through the API


@admin.register(TemplateInstall)
class TemplateInstallAdmin(admin.ModelAdmin):
    list_display = ["template_slug", "template_version", "workspace", "workflow", "created_at"]
    list_filter = ["template_slug"]
    readonly_fields = ["template_slug", "template_version", "workspace", "workflow", "created_at"]


@admin.register(TemplateStats)
class TemplateStatsAdmin(admin.ModelAdmin):
    list_display = [
        "template_slug",
        "installs",
        "published",
        "workspaces",
        "enrollments",
        "completed",
        "goals",
        "updated_at",
    ]
