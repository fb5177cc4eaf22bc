from __future__ import annotations

from rest_framework import serializers

from penguinflow.common.validators import StorableJSONField
from workflows import graphs
from workflows.models import Workflow


class WorkflowCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    graph = StorableJSONField(required=False)
    settings = StorableJSONField(required=False)


class DraftSaveSerializer(serializers.Serializer):
    graph = StorableJSONField()
    settings = StorableJSONField(required=False, default=dict)
    revision = serializers.IntegerField(min_value=1)


class ValidateSerializer(serializers.Serializer):
    graph = StorableJSONField(required=False)
    settings = StorableJSONField(required=False)


class WorkflowUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class WorkflowSerializer(serializers.ModelSerializer):
    draft = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = ["id", "name", "description", "status", "published_version", "draft", "created_at", "updated_at"]

    def get_draft(self, workflow: Workflow) -> dict:
        draft = next((v for v in workflow.versions.all() if v.number is None), None)
        if draft is None:
            return None
        return {"graph": graphs.graph_of(draft).to_builder(), "settings": draft.settings, "revision": draft.revision}


class EnrollContactSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, max_length=64)
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


class SimulateSerializer(serializers.Serializer):
    version = serializers.CharField(required=False, default="draft")
    contact = serializers.JSONField(required=False, default=dict)
    start = serializers.JSONField(required=False)
    events = serializers.JSONField(required=False, default=list)
    until = serializers.JSONField(required=False, default="P60D")
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**31)
