"""The marketplace API's input and output shapes (CONTRACT §15)."""

from __future__ import annotations

from rest_framework import serializers

from marketplace.manifest import CATEGORIES
from marketplace.models import WorkflowTemplate
from penguinflow.common.fields import StrictCharField


class TemplateRequirementSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The key `resources` of an install uses.")
    kind = serializers.ChoiceField(
        choices=["segment", "campaign", "workflow", "tag", "event", "field"],
        help_text="segment, campaign and workflow name an object to pick or create; "
        "tag, event and field say what the workflow reads or writes.",
    )
    name = serializers.CharField()
    description = serializers.CharField()


class TemplateParameterSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=["duration", "text", "number", "tag", "email", "emails", "url"])
    default = serializers.JSONField(allow_null=True)
    description = serializers.CharField()
    required = serializers.BooleanField(help_text="True when there is no default: installing needs a value.")


class TemplateStatsSerializer(serializers.Serializer):
    installs = serializers.IntegerField()
    published = serializers.IntegerField(help_text="Workflows made from it that were published.")
    enrollments = serializers.IntegerField(allow_null=True)
    completion_rate = serializers.FloatField(allow_null=True)
    goal_rate = serializers.FloatField(allow_null=True)
    rates_hidden_because = serializers.CharField(
        allow_null=True, help_text="Why the rates are not shown, if not."
    )


class TemplateListItemSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=list(CATEGORIES))
    description = serializers.CharField()
    outcome = serializers.CharField()
    source = serializers.CharField(
        help_text="shipped, workspace (this workspace's), organization, community, or shared (reached by a link)."
    )
    version = serializers.IntegerField()
    email_count = serializers.IntegerField()
    requires = TemplateRequirementSerializer(many=True)
    parameters = TemplateParameterSerializer(many=True)
    stats = TemplateStatsSerializer()


class TemplateEmailSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


class TemplateSampleSerializer(serializers.Serializer):
    contact = serializers.DictField()
    start = serializers.CharField()
    events = serializers.ListField(child=serializers.DictField())
    until = serializers.CharField()
    expected_path = serializers.ListField(child=serializers.CharField())
    expected_status = serializers.CharField()
    path = serializers.ListField(
        child=serializers.DictField(), help_text="The sample run's steps, as simulated."
    )


class TemplateInstallPlanSerializer(serializers.Serializer):
    missing = serializers.ListField(
        child=serializers.DictField(),
        help_text="What installing into this workspace needs a choice or a value for.",
    )
    reused = serializers.ListField(
        child=serializers.DictField(),
        help_text="Objects of the workspace installing will use, found by name.",
    )


class TemplateDetailSerializer(TemplateListItemSerializer):
    graph = serializers.DictField()
    settings = serializers.DictField()
    emails = TemplateEmailSerializer(many=True)
    sample = TemplateSampleSerializer()
    install = TemplateInstallPlanSerializer(help_text="What installing into the asking workspace needs.")
    moderation = serializers.DictField(
        allow_null=True, help_text="Saved templates, for their authors: status and reason."
    )
    versions = serializers.ListField(child=serializers.DictField())


class TemplateInstallSerializer(serializers.Serializer):
    parameters = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    resources = serializers.DictField(
        child=StrictCharField(max_length=100),
        required=False,
        default=dict,
        help_text='`{requirement_id: existing_id | "create"}`',
    )
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class TemplateInstalledSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    created = serializers.ListField(child=serializers.DictField())
    reused = serializers.ListField(child=serializers.DictField())


class TemplateSaveSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    visibility = serializers.ChoiceField(choices=WorkflowTemplate.Visibility.choices)
    name = StrictCharField(
        max_length=120, required=False, allow_blank=True, help_text="Default: the workflow's name."
    )
    description = StrictCharField(max_length=1000, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=list(CATEGORIES), required=False)


class TemplateImportSerializer(serializers.Serializer):
    document = serializers.DictField(help_text="A template document (docs/templates.md).")
    visibility = serializers.ChoiceField(
        choices=WorkflowTemplate.Visibility.choices, default=WorkflowTemplate.Visibility.WORKSPACE
    )


class TemplateChangeSerializer(serializers.Serializer):
    visibility = serializers.ChoiceField(choices=WorkflowTemplate.Visibility.choices, required=False)


class TemplateVersionSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField(required=False, help_text="Default: the workflow it was saved from.")


class SavedTemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    version = serializers.IntegerField()
    visibility = serializers.CharField()
    moderation_status = serializers.CharField()
    moderation_reason = serializers.CharField()
    problems = serializers.DictField(help_text="What the automatic checks found (community submissions).")
