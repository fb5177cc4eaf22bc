from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.serializers import SkippedContactSerializer
from penguinflow.common.fields import StrictCharField
from penguinflow.common.validators import StorableJSONField
from workflows import version_graphs
from workflows.models import Workflow
from workflows.openapi import ref


# The engine validates graphs and settings (`workflows.version_graphs`); these fields only carry them, typed for
# the schema.
class _JSONObjectField(StorableJSONField):
    default_error_messages = {"not_object": "Must be a JSON object."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        return value


@extend_schema_field(ref("Graph"))
class GraphField(_JSONObjectField):
    pass


class SettingsField(_JSONObjectField):
    """Typed `WorkflowSettingsRequest` in requests and `WorkflowSettings` (defaults filled in) in answers."""


class SettingsFieldSchema(OpenApiSerializerFieldExtension):
    target_class = SettingsField

    def map_serializer_field(self, auto_schema, direction):
        return ref("WorkflowSettingsRequest" if direction == "request" else "WorkflowSettings")


class WorkflowCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=10_000)
    graph = GraphField(required=False)
    settings = SettingsField(required=False)


class DraftSaveSerializer(serializers.Serializer):
    graph = GraphField()
    settings = SettingsField(required=False, default=dict)
    revision = serializers.IntegerField(min_value=1)


class ValidateSerializer(serializers.Serializer):
    graph = GraphField(required=False)
    settings = SettingsField(required=False)


class WorkflowUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False)
    description = StrictCharField(required=False, allow_blank=True, max_length=10_000)


class WorkflowDraftSerializer(serializers.Serializer):
    graph = GraphField()
    settings = SettingsField()
    revision = serializers.IntegerField(help_text="Send it back with `PUT .../draft`: a stale one is a 409.")


class WorkflowSerializer(serializers.ModelSerializer):
    draft = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = ["id", "name", "description", "status", "published_version", "draft", "created_at", "updated_at"]

    @extend_schema_field(WorkflowDraftSerializer)
    def get_draft(self, workflow: Workflow) -> dict:
        draft = next((v for v in workflow.versions.all() if v.number is None), None)
        if draft is None:
            return None
        graph = version_graphs.builder_graph_of(draft)
        return {"graph": graph, "settings": draft.settings, "revision": draft.revision}


class EnrollContactSerializer(serializers.Serializer):
    id = StrictCharField(required=False, max_length=64)
    email = serializers.EmailField(required=False, max_length=254)

    def validate(self, attrs):
        if bool(attrs.get("id")) == bool(attrs.get("email")):
            raise serializers.ValidationError("Give exactly one of 'id' or 'email'.")
        return attrs


class EnrollSerializer(serializers.Serializer):
    contacts = serializers.ListField(child=EnrollContactSerializer(), required=False, default=list, max_length=1000)
    segment_id = serializers.UUIDField(required=False)

    def validate(self, attrs):
        if not attrs["contacts"] and not attrs.get("segment_id"):
            raise serializers.ValidationError({"contacts": "Give contacts, a segment_id, or both."})
        return attrs


def _timestamp_problem(value) -> str | None:
    """Why `value` is not an ISO 8601 timestamp with a zone (the engine would also read a number as Unix time)."""
    from datetime import datetime

    if isinstance(value, str):
        try:
            if datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None:
                return None
        except ValueError:
            pass
    return "Must be an ISO 8601 timestamp with a zone, e.g. 2026-11-22T10:00:00Z."


class SimulateSerializer(serializers.Serializer):
    version = StrictCharField(required=False, default="draft")
    contact = serializers.JSONField(required=False, default=dict)
    start = serializers.JSONField(required=False)
    events = serializers.JSONField(required=False, default=list)
    until = serializers.JSONField(required=False, default="P60D")
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**31)

    def validate_start(self, value):
        if value is not None and (problem := _timestamp_problem(value)):
            raise serializers.ValidationError(problem)
        return value

    def validate_contact(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value

    def validate_events(self, value):
        if not isinstance(value, list):
            raise serializers.ValidationError("Must be a list of events.")
        problems = {
            index: {"at": problem} for index, item in enumerate(value)
            if isinstance(item, dict) and item.get("at") is not None and (problem := _timestamp_problem(item["at"]))
        }
        if problems:
            raise serializers.ValidationError(problems)
        return value


# --- answers ----------------------------------------------------------------------------------------------------


class IssueSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField(help_text="What is wrong and how to fix it.")
    node_id = serializers.CharField(required=False)
    edge_id = serializers.CharField(required=False)


class ValidationReportSerializer(serializers.Serializer):
    errors = IssueSerializer(many=True, help_text="What `publish` refuses.")
    warnings = IssueSerializer(many=True)


class DraftSavedSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    validation = ValidationReportSerializer()


class PublishedSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The number of the new published version.")


class EnrollSkippedContactSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_null=True)
    email = serializers.CharField(required=False, allow_null=True)


class EnrollSkippedSerializer(serializers.Serializer):
    contact = EnrollSkippedContactSerializer()
    reason = serializers.CharField(help_text="A code, e.g. `unknown_contact`, `suppressed`, `already_enrolled`.")
    message = serializers.CharField()


class EnrollResultSerializer(serializers.Serializer):
    enrolled = serializers.IntegerField()
    skipped = EnrollSkippedSerializer(many=True)


class SimulationStepSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField()
    at = serializers.DateTimeField()
    outcome = serializers.CharField()
    branch = serializers.CharField(allow_null=True)
    detail = serializers.JSONField(allow_null=True)
    error = serializers.DictField(required=False, child=serializers.JSONField(allow_null=True))


class SimulatedEmailSerializer(serializers.Serializer):
    """The email a simulated send_email step would send (templates.previews.email_preview)."""

    to = serializers.CharField()
    reply_to = serializers.CharField(allow_null=True, allow_blank=True)
    subject = serializers.CharField(allow_blank=True)
    headers = serializers.DictField(child=serializers.CharField())
    text = serializers.CharField(allow_blank=True)
    html = serializers.CharField(allow_blank=True)
    links = serializers.ListField(child=serializers.JSONField())


# `from` is a Python keyword: the field is declared beside the class body.
SimulatedEmailSerializer._declared_fields["from"] = serializers.CharField()


class SimulationActionSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField()
    at = serializers.DateTimeField()
    summary = serializers.CharField(help_text="What the action would have done, in words.")
    email = SimulatedEmailSerializer(required=False, help_text="send_email: the email as it would be sent to the "
                                   "contact as the run had it then (nothing is stored or sent).")
    email_error = serializers.CharField(required=False, help_text="send_email: why the email could not be "
                                        "rendered (live, the step would fail).")
    sms = serializers.DictField(required=False, child=serializers.JSONField(allow_null=True),
                                help_text="send_sms: `{to, text, encoding, segments, ...}` as it would be sent.")
    sms_error = serializers.CharField(required=False, help_text="send_sms: why the text could not be rendered.")
    push = serializers.DictField(required=False, child=serializers.JSONField(allow_null=True),
                                 help_text="send_push: `{title, body, url, icon}` as the notification would show.")
    push_error = serializers.CharField(required=False, help_text="send_push: why the notification could not be "
                                       "rendered.")


class SimulationResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="completed, exited, waiting or failed when the run stopped.")
    path = SimulationStepSerializer(many=True)
    actions = SimulationActionSerializer(many=True, help_text="What the actions would have done.")
    entered_at = serializers.DateTimeField(allow_null=True)
    trigger_node = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    contact = serializers.DictField(child=serializers.JSONField(allow_null=True),
                                    help_text="The contact as the run left it.")


class EnrollmentCountsSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    waiting = serializers.IntegerField()
    completed = serializers.IntegerField()
    exited = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class WorkflowListItemSerializer(WorkflowSerializer):
    """A workflow as the list answers it: beside the detail's fields, its enrollments per status (all published
    versions), which the view reads for the whole page at once and passes in the context as `counts`."""

    counts = serializers.SerializerMethodField()

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "counts"]

    @extend_schema_field(EnrollmentCountsSerializer)
    def get_counts(self, workflow: Workflow) -> dict:
        return self.context["counts"][workflow.pk]


class NodeCountsSerializer(serializers.Serializer):
    entered = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    waiting_now = serializers.IntegerField()
    # Added for the canvas's counts (docs/api-additions.md).
    goal_reached = serializers.IntegerField(help_text="Goal conversions of the enrollments that went through this "
                                                      "step (counted from when this counter was added).")


class GoalCountsSerializer(serializers.Serializer):
    reached = serializers.IntegerField()
    rate = serializers.FloatField(help_text="Goals reached per enrollment, 0 to 1.")


class SplitCountsSerializer(serializers.Serializer):
    entered = serializers.IntegerField()
    goal_reached = serializers.IntegerField()


class AnalyticsDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    entries = serializers.IntegerField()
    goals = serializers.IntegerField()


class AnalyticsSeriesSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    days = AnalyticsDaySerializer(many=True, help_text="One per UTC day, zeros included.")


class SplitVariantTestSerializer(serializers.Serializer):
    entered = serializers.IntegerField()
    goal_reached = serializers.IntegerField()
    rate = serializers.FloatField()
    probability_best = serializers.FloatField(help_text="Chance this variant has the highest goal rate.")


class SplitTestSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["exact", "monte_carlo"], help_text="How probability_best was found.")
    samples = serializers.IntegerField(help_text="Monte Carlo draws behind probability_best (0 when exact).")
    variants = serializers.DictField(child=SplitVariantTestSerializer())


class SplitAllocationChangeSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    goal = serializers.CharField(help_text="The goal the split optimizes for.")
    shares = serializers.DictField(child=serializers.FloatField(), help_text="Share of traffic by variant id.")
    probability_best = serializers.DictField(child=serializers.FloatField(),
                                             help_text="Chance each variant has the best goal rate.")
    winner = serializers.CharField(allow_null=True, help_text="The variant declared the winner, if any.")
    reason = serializers.CharField(help_text="Why the allocation is what it is, in words.")


class SplitAllocationSerializer(SplitAllocationChangeSerializer):
    changes = SplitAllocationChangeSerializer(many=True, help_text="The latest changes, newest first.")


class ChannelMeasuresSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Messages queued.")
    delivered = serializers.IntegerField(help_text="Delivery reports (push: accepted by the push service).")
    engaged = serializers.IntegerField(help_text="Opens and clicks (email), clicks (push): interactions.")
    failed = serializers.IntegerField(help_text="Steps failed for good, bounces and failed deliveries.")
    suppressed = serializers.IntegerField(help_text="Not sent: no consent, unsubscribed, no address, suppressed.")
    capped_deferred = serializers.IntegerField(help_text="Times a frequency cap made a step wait.")
    capped_skipped = serializers.IntegerField(help_text="Messages a frequency cap skipped.")
    quiet_deferred = serializers.IntegerField(help_text="Times the recipient's quiet hours made a step wait.")
    quiet_skipped = serializers.IntegerField(help_text="Messages quiet hours skipped.")


class ChannelAnalyticsSerializer(serializers.Serializer):
    totals = serializers.DictField(child=ChannelMeasuresSerializer(), help_text="By channel: email, sms, push.")
    nodes = serializers.DictField(child=serializers.DictField(child=ChannelMeasuresSerializer()),
                                  help_text="By node id, then channel.")


class TriggerCountsSerializer(serializers.Serializer):
    not_entered = serializers.IntegerField(help_text="Contacts the trigger could not judge (a filter that could not "
                                                     "be evaluated); the workers' log says why.")
    skipped = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Entries the trigger offered that did not start, by reason: `already_enrolled` (the contact's "
                  "enrollment was still live), `reenrollment_not_allowed` (the re-enrollment rule), `already_started` "
                  "(this event or schedule occasion started the contact's entry before: a replay), `duplicate` "
                  "(the contact was entering already in the same batch), `self_triggered` (an event this "
                  "workflow caused). Counted from when this counter was added.")


class AnalyticsSerializer(serializers.Serializer):
    enrollments = EnrollmentCountsSerializer()
    nodes = serializers.DictField(child=NodeCountsSerializer(), help_text="By node id.")
    goals = GoalCountsSerializer()
    splits = serializers.DictField(child=serializers.DictField(child=SplitCountsSerializer()),
                                   help_text="By split node id, then variant id.")
    channels = ChannelAnalyticsSerializer(help_text="Messages of the send steps per channel (CONTRACT §13).")
    # Added by the execution history (workflows.analytics): the charts' series and the split tests.
    series = AnalyticsSeriesSerializer()
    split_tests = serializers.DictField(child=SplitTestSerializer(), help_text="By split node id.")
    split_allocations = serializers.DictField(
        child=SplitAllocationSerializer(),
        help_text="Optimizing splits (mode: optimize) by node id: the allocation in force and its changes.")
    triggers = serializers.DictField(child=TriggerCountsSerializer(), help_text="By trigger node id: the entries "
                                     "it offered that did not start, and why. Triggers with none are left out.")


class VersionSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    revision = serializers.IntegerField(help_text="The draft revision it was published from.")
    published_by = serializers.CharField(help_text="Who published it: a user's name, \"API key\", or empty "
                                                   "when not known (versions published before this was kept).")
    in_flight = serializers.IntegerField(help_text="Enrollments still live on this version (active or waiting): "
                                                   "they stay on it when a newer version is published.")


class VersionSerializer(VersionSummarySerializer):
    graph = GraphField()
    settings = SettingsField()


@extend_schema_field({"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string", "enum": ["dynamic"]}],
                      "description": "The node's exits (edge `sourceHandle`s), or `dynamic` when the config names "
                                     "them (switch cases, split variants)."})
class BranchesField(serializers.JSONField):
    pass


class BranchSourceSerializer(serializers.Serializer):
    items = serializers.CharField(help_text="The config key of the list whose items are branches.")
    id = serializers.CharField(help_text="The key of an item's branch id (the edge `sourceHandle`).")
    label = serializers.CharField(help_text="The key of an item's label.")
    always = serializers.ListField(child=serializers.CharField(),
                                   help_text="Branches every node of the type has, after the items' (e.g. `default`).")


class NodeTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    kind = serializers.ChoiceField(choices=["trigger", "logic", "wait", "action"])
    label = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    config_schema = serializers.DictField(child=serializers.JSONField(allow_null=True),
                                          help_text="The JSON Schema of the node's `data.config`.")
    branches = BranchesField()
    branch_source = BranchSourceSerializer(allow_null=True, required=False, help_text="Where `dynamic` branches are in the config; "
                                           "null for a fixed list.")


class UnenrollResultSerializer(serializers.Serializer):
    cancelled = serializers.IntegerField(help_text="Live enrollments of these contacts in the workflow, cancelled.")
    skipped = SkippedContactSerializer(many=True, help_text="References that name no contact of the workspace.")
