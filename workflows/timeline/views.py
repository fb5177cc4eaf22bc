from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.models import Contact
from penguinflow.common.db_router import replica_reads
from penguinflow.common.errors import InvalidInput
from penguinflow.common.pagination import limit_parameter, page_size_from
from workflows.contact_timeline import contact_timeline

_ALLOWED = {"kind", "workflow", "cursor", "limit"}

_ITEM_FIELDS = {
    "at": serializers.DateTimeField(),
    "kind": serializers.ChoiceField(choices=["event", "step"]),
    "type": serializers.CharField(help_text="The event's type, or the step's node type."),
    "id": serializers.CharField(),
    "workflow": serializers.UUIDField(required=False, help_text="Steps: the workflow."),
    "version": serializers.IntegerField(required=False, help_text="Steps: the number of the version it ran on."),
    "execution": serializers.UUIDField(required=False, help_text="Steps: the execution (enrollment)."),
    "node_id": serializers.CharField(required=False),
    "status": serializers.CharField(required=False, help_text="Steps: succeeded, failed, skipped or waiting."),
    "channel": serializers.ChoiceField(choices=["email", "sms", "push"], allow_null=True,
                                       help_text="The channel of a message's event or step (null: not a message)."),
    "detail": serializers.DictField(),
}


class ContactTimelineView(APIView):
    """Every event of the contact and every step of every workflow it went through, newest first."""

    @extend_schema(
        operation_id="v1_contacts_timeline",
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=["event", "step"], description="Only events or steps."),
            OpenApiParameter("workflow", OpenApiTypes.UUID, description="Only the steps of this workflow."),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next` of the previous page."),
            limit_parameter(),
        ],
        responses=inline_serializer("TimelinePage", {"results": inline_serializer("TimelineItem", _ITEM_FIELDS, many=True),
                                                     "next": serializers.CharField(allow_null=True)}),
    )
    @replica_reads
    def get(self, request, contact_id: str):
        params = request.query_params
        unknown = {name: "Unknown parameter." for name in params if name not in _ALLOWED}
        repeated = {name: "Give this parameter once." for name in _ALLOWED if len(params.getlist(name)) > 1}
        if unknown or repeated:
            raise InvalidInput("The query is not valid.", details={**unknown, **repeated})
        kind = params.get("kind") or None
        if kind not in (None, "event", "step"):
            raise InvalidInput("The query is not valid.", details={"kind": "Must be event or step."})
        workflow = None
        if params.get("workflow"):
            try:
                workflow = uuid.UUID(params["workflow"])
            except ValueError:
                raise InvalidInput("The query is not valid.", details={"workflow": "Must be a UUID."}) from None
        contact = _contact(request.workspace, contact_id)
        page = contact_timeline(contact=contact, kind=kind, workflow_id=workflow, cursor=params.get("cursor") or None,
                                limit=page_size_from(params.get("limit")))
        return Response(page)


def _contact(workspace, contact_id: str) -> Contact:
    try:
        key = uuid.UUID(contact_id)
    except ValueError:
        raise Http404 from None
    contact = Contact.objects.for_workspace(workspace).filter(pk=key).first()
    if contact is None:
        raise Http404
    return contact
