"""The inbound URL of a workflow's `trigger_webhook`: the secret token in the path is the only credential.

POST /api/v1/hooks/workflows/<token> with `{"contact": {"email"|"id"|"external_id": ...}, "properties": {...}}`:
the body is stored as a `webhook.received` event of the contact (created when the email is new) and the contact
enters the workflow at its webhook trigger.
"""

from __future__ import annotations

import hmac
import re

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.errors import NotFound
from penguinflow.common.fields import StrictCharField
from penguinflow.common.schema import error_responses, one_of_keys
from penguinflow.common.validators import StrictJSONObjectField
from workflows.entry_path import webhook_entry_start
from workflows.models import Workflow

# What `secrets.token_urlsafe` makes (the model's default). Anything else cannot be a token, and must not reach
# the database: PostgreSQL refuses NUL in a query, hmac.compare_digest refuses non-ASCII text.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class HookContactSerializer(serializers.Serializer):
    id = serializers.UUIDField(required=False)
    email = serializers.EmailField(required=False, max_length=254)
    external_id = StrictCharField(required=False, max_length=255)

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Identify the contact by exactly one of id, email or external_id.")
        return attrs


class HookSerializer(serializers.Serializer):
    contact = HookContactSerializer()
    properties = StrictJSONObjectField(required=False, default=dict, max_bytes=32 * 1024)


# What HookSerializer takes: the contact by exactly one of id, email or external_id.
HOOK_SCHEMA = {
    "type": "object",
    "required": ["contact"],
    "properties": {
        "contact": one_of_keys({
            "id": {"type": "string", "format": "uuid"},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "external_id": {"type": "string", "maxLength": 255, "pattern": r"\S"},
        }),
        "properties": {"type": "object", "additionalProperties": {},
                       "description": "Stored with the event; at most 32 KiB."},
    },
}


class WorkflowWebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(request={"application/json": HOOK_SCHEMA}, auth=[], responses={
        202: inline_serializer("HookResult", fields={
            "enrolled": serializers.IntegerField(),
            "skipped": inline_serializer("HookSkipped", many=True, fields={
                "reason": serializers.CharField(), "message": serializers.CharField()}),
        }),
        **error_responses(422, descriptions={422: "The workflow is not active, or has no webhook trigger."}),
    })
    def post(self, request, token: str):
        workflow = self._workflow(token)
        serializer = HookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = webhook_entry_start(workflow=workflow, contact=data["contact"], properties=data["properties"])
        skipped = [{"reason": code, "message": message} for _, code, message in report.skipped]
        return Response({"enrolled": len(report.started), "skipped": skipped}, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _workflow(token: str) -> Workflow:
        if not _TOKEN.fullmatch(token):
            raise NotFound("Not found.")
        workflow = Workflow.objects.select_related("workspace").filter(webhook_token=token).first()
        # Compare anyway, in constant time, so a lookup miss and a hit take the same path.
        if workflow is None or not hmac.compare_digest(workflow.webhook_token, token):
            raise NotFound("Not found.")
        return workflow
