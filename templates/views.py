from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.models import Contact
from contacts.selectors import contacts_by_reference
from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.errors import NotFound
from penguinflow.common.schema import error_responses
from templates import authoring
from templates.models import EmailTemplate
from templates.outbox import email_send
from templates.serializers import (
    EmailTemplateSerializer,
    TemplatePreviewResultSerializer,
    TemplatePreviewSerializer,
    TemplateSendResultSerializer,
    TemplateSendSerializer,
)

_OBJECT = {"type": "object", "additionalProperties": {}}
# What TemplatePreviewSerializer takes: a stored contact by id, or one given inline, never both.
PREVIEW_SCHEMA = {
    "type": "object",
    "properties": {
        "contact_id": {"type": "string", "format": "uuid"},
        "contact": {**_OBJECT, "properties": {"email": {"type": "string", "nullable": True}},
                    "description": "The contact's attributes, as templates read them."},
        "event": {**_OBJECT, "description": "What `{{ event }}` reads."},
        "enrollment": {**_OBJECT, "description": "What `{{ enrollment }}` reads."},
    },
    "oneOf": [{"required": ["contact_id"]}, {"required": ["contact"]}],
}


class EmailTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    model = EmailTemplate
    serializer_class = EmailTemplateSerializer
    api_key_scope = {"preview": "read"}  # renders, stores and sends nothing

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = authoring.template_create(workspace=self.workspace, **serializer.validated_data)
        return Response(EmailTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template = self.get_object()
        serializer = self.get_serializer(template, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = authoring.template_update(template=template, **serializer.validated_data)
        return Response(EmailTemplateSerializer(template).data)

    def update(self, request, pk=None):
        template = self.get_object()
        serializer = self.get_serializer(template, data=request.data)
        serializer.is_valid(raise_exception=True)
        template = authoring.template_update(template=template, **serializer.validated_data)
        return Response(EmailTemplateSerializer(template).data)

    @extend_schema(request={"application/json": PREVIEW_SCHEMA}, responses=TemplatePreviewResultSerializer)
    @action(detail=True, methods=["post"], url_path="preview")
    def preview(self, request, pk=None):
        """Render the template for a contact (stored, or given inline); nothing is stored or sent."""
        template = self.get_object()
        serializer = TemplatePreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = None
        if "contact_id" in data:
            contact = Contact.objects.for_workspace(self.workspace).filter(pk=data["contact_id"]).first()
            if contact is None:
                raise Http404
        context = {name: data[name] for name in ("event", "enrollment") if name in data}
        rendered = authoring.template_preview(
            template=template, contact=contact, contact_data=data.get("contact"), context=context
        )
        return Response({"subject": rendered.subject, "html": rendered.html, "text": rendered.text})


    @extend_schema(request=TemplateSendSerializer, responses={202: TemplateSendResultSerializer, **error_responses(
        422, descriptions={422: "The template does not render for this contact (`template_render_error`)."})},
        description="Send the template to one contact now, outside any workflow. A suppressed or unsubscribed "
                    "contact is not mailed: `outcome` says so. Send it with an `Idempotency-Key` to be sure a "
                    "retry does not send it twice.")
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        template = self.get_object()
        serializer = TemplateSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact, _ = contacts_by_reference(workspace=self.workspace, references=[data["contact"]])
        if not contact:
            raise NotFound("No contact of this workspace is named so.", details={"contact": "Not found."})
        result = email_send(key=f"api:{uuid.uuid4()}", workspace=self.workspace, contact=contact[0],
                            template=template, from_email=data.get("from_email"), reply_to=data.get("reply_to"))
        return Response({"message_id": result.message_id, "outcome": result.outcome, "status": result.status,
                         "detail": result.detail}, status=status.HTTP_202_ACCEPTED)
