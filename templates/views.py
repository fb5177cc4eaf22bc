from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.models import Contact
from penguinflow.common.api import WorkspaceScopedViewSet
from templates import authoring
from templates.models import EmailTemplate
from templates.serializers import (
    EmailTemplateSerializer,
    TemplatePreviewResultSerializer,
    TemplatePreviewSerializer,
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
