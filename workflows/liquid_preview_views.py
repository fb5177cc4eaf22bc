"""`POST /api/v1/liquid/preview`: a step's Liquid text rendered for a contact, for the builder's side panel."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.schema import error_responses
from penguinflow.common.validators import StorableJSONField
from workflows.liquid_preview import liquid_preview

__all__ = ["LiquidPreviewView"]


class LiquidPreviewRequestSerializer(serializers.Serializer):
    value = StorableJSONField(allow_null=True, help_text="A text with Liquid, or a JSON value whose texts are Liquid (a body).")
    contact_id = serializers.UUIDField(help_text="The contact of this workspace to render for.")


class LiquidPreviewAnswerSerializer(serializers.Serializer):
    value = serializers.JSONField(allow_null=True, help_text="The value with each text rendered for the contact.")


class LiquidPreviewView(APIView):
    """Render a config value's Liquid for a contact (no event, no enrollment), changing nothing."""

    # Computes and changes nothing: an API key with the read scope may call it.
    api_key_scope = "read"

    @extend_schema(
        request=LiquidPreviewRequestSerializer,
        responses={200: LiquidPreviewAnswerSerializer, **error_responses(400, 404, descriptions={
            400: "The Liquid does not parse or render: the message and `details.value` say why.",
            404: "There is no such contact in this workspace.",
        })},
        examples=[OpenApiExample("A subject", request_only=True, value={
            "value": "Hot lead: {{ contact.first_name | default: 'someone' }}",
            "contact_id": "2f1c3a56-0000-4000-8000-000000000001"})],
    )
    def post(self, request):
        serializer = LiquidPreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return Response({"value": liquid_preview(workspace=request.workspace, value=data["value"],
                                                 contact_id=str(data["contact_id"]))})
