from __future__ import annotations

from rest_framework import mixins, status
from rest_framework.response import Response

from penguinflow.common.api import WorkspaceScopedViewSet
from templates import services
from templates.models import EmailTemplate
from templates.serializers import EmailTemplateSerializer


class EmailTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    model = EmailTemplate
    serializer_class = EmailTemplateSerializer

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = services.template_create(workspace=self.workspace, **serializer.validated_data)
        return Response(EmailTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template = self.get_object()
        serializer = self.get_serializer(template, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = services.template_update(template=template, **serializer.validated_data)
        return Response(EmailTemplateSerializer(template).data)

    def update(self, request, pk=None):
        template = self.get_object()
        serializer = self.get_serializer(template, data=request.data)
        serializer.is_valid(raise_exception=True)
        template = services.template_update(template=template, **serializer.validated_data)
        return Response(EmailTemplateSerializer(template).data)
