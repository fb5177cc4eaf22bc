"""`POST /api/v1/node-types/{type}/test`: what a node would do for a contact, before it is published (CONTRACT
§5a). The answer comes from `workflows.node_testing`; nothing is changed or sent."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.fields import StrictCharField
from penguinflow.common.schema import error_responses
from workflows.node_testing import node_type_test

__all__ = ["NodeTypeTestView"]


class TestEventSerializer(serializers.Serializer):
    type = StrictCharField(max_length=100)
    properties = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False, default=dict)
    occurred_at = serializers.DateTimeField(required=False)


class NodeTypeTestRequestSerializer(serializers.Serializer):
    config = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False, default=dict,
                                   help_text="The node's `data.config`, as the builder would save it.")
    contact = serializers.DictField(
        child=serializers.JSONField(allow_null=True), required=False, default=dict,
        help_text="`{id}` of a stored contact (its real history and segments are read), or attributes "
                  "`{email, first_name, timezone, status, score, tags, fields, segments}` of a sample one.",
    )
    event = TestEventSerializer(required=False, allow_null=True,
                                help_text="For event triggers: the event to test with (`occurred_at`: now).")


class NodeTypeTestAnswerSerializer(serializers.Serializer):
    fires = serializers.BooleanField(required=False, help_text="Triggers: whether it would start an enrollment.")
    reasons = serializers.ListField(
        child=serializers.JSONField(), required=False,
        help_text="Triggers: why not: sentences, and the filter's clauses that failed "
                  "(`{rule, clause, result, values}`, `values` naming what each variable held).",
    )
    would = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="What the node would do. Steps: `outcome` (advance, wait, retry, fail, exit), `branch`, "
                  "`detail`, `reason`, `actions` (each effect, e.g. the rendered `email` with its headers and "
                  "tracked links) and for conditions `explain`. Triggers: how they are entered.",
    )


class NodeTypeTestView(APIView):
    """Test a node of this type with a config, a contact and (for triggers) an event, without acting."""

    # Computes and changes nothing: an API key with the read scope may call it.
    api_key_scope = "read"

    @extend_schema(
        request=NodeTypeTestRequestSerializer,
        responses={200: NodeTypeTestAnswerSerializer, **error_responses(404, 422, descriptions={
            404: "There is no node type of this name.",
            422: "Publishing would refuse this config (a deleted template, say): `details.errors` says why.",
        })},
    )
    def post(self, request, node_type: str):
        serializer = NodeTypeTestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return Response(node_type_test(workspace=request.workspace, type_name=node_type, config=data["config"],
                                       contact=data["contact"], event=data.get("event")))
