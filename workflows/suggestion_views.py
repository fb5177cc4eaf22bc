"""Path suggestions over HTTP (CONTRACT §16): list, apply (a draft change), dismiss, and the acceptance stats."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.schema import error_responses
from workflows import suggestions

__all__ = ["SuggestionActionsMixin", "SuggestionStatsView"]

SUGGESTION_ID = r"[0-9a-f]{16}"


class ChangeSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["replace_split_with_branch"])
    node_id = serializers.CharField()
    variant = serializers.CharField()
    target = serializers.CharField(help_text="The node the split's callers lead to once applied.")


class SuggestionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stable: a hash of the kind, the node and a bucket of the evidence.")
    kind = serializers.ChoiceField(choices=list(suggestions.KINDS))
    node_id = serializers.CharField()
    message = serializers.CharField()
    evidence = serializers.DictField(help_text="The figures the suggestion rests on (by kind).")
    change = ChangeSerializer(required=False, help_text="Absent when the suggestion has no automatic change.")


class SuggestionDecidedSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["applied", "dismissed"])
    revision = serializers.IntegerField(required=False, help_text="Apply: the draft's new revision.")
    validation = serializers.DictField(required=False, help_text="Apply: the draft's validation, {errors, warnings}.")


class AcceptanceSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True, help_text="applied / (applied + dismissed).")


class SuggestionStatsSerializer(serializers.Serializer):
    kinds = serializers.DictField(child=AcceptanceSerializer(), help_text="By suggestion kind.")
    total = AcceptanceSerializer()


class SuggestionActionsMixin:
    """The suggestion actions of the workflow viewset (`get_object()` scopes the workflow to the workspace)."""

    @extend_schema(responses=SuggestionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def suggestions(self, request, pk=None):
        return Response(suggestions.workflow_suggestions(workflow=self.get_object()))

    @extend_schema(operation_id="v1_workflows_suggestion_apply", request=None,
                   responses={200: SuggestionDecidedSerializer, **error_responses(409)},
                   description="Make the suggestion's change to the draft (never the live version); 409 when it "
                               "has no automatic change or was already decided.")
    @action(detail=True, methods=["post"], url_path=rf"suggestions/(?P<sid>{SUGGESTION_ID})/apply")
    def suggestion_apply(self, request, pk=None, sid=None):
        return Response(suggestions.suggestion_apply(workflow=self.get_object(), suggestion_id=sid))

    @extend_schema(operation_id="v1_workflows_suggestion_dismiss", request=None,
                   responses={200: SuggestionDecidedSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"], url_path=rf"suggestions/(?P<sid>{SUGGESTION_ID})/dismiss")
    def suggestion_dismiss(self, request, pk=None, sid=None):
        return Response(suggestions.suggestion_dismiss(workflow=self.get_object(), suggestion_id=sid))


class SuggestionStatsView(APIView):
    """How the workspace's path suggestions were received: applied, dismissed and acceptance rate per kind."""

    api_key_scope = "read"

    @extend_schema(responses=SuggestionStatsSerializer)
    def get(self, request):
        return Response(suggestions.suggestion_stats(workspace=request.workspace))
