"""`GET|POST /api/v1/connectors`, `GET|PATCH|DELETE /api/v1/connectors/{id}` (CONTRACT §18): secrets write-only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from connectors import services
from connectors.models import Connector
from connectors.serializers import ConnectorSerializer, ConnectorUpdateSerializer, ConnectorWriteSerializer
from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.permissions import ADMIN
from penguinflow.common.schema import error_responses


class ConnectorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    """The workspace's CRM and social accounts, newest first; a secret goes in and never comes out."""

    model = Connector
    serializer_class = ConnectorSerializer
    required_role = ADMIN  # accounts of other systems, used by every workflow that names them
    filter_backends: list = []

    @extend_schema(request=ConnectorWriteSerializer, responses={201: ConnectorSerializer, **error_responses(409)},
                   summary="Connect an account",
                   description="`kind` is one of hubspot, salesforce, pipedrive (CRM: crm_create and crm_update "
                               "steps name it by `connector_id`), linkedin, x, facebook (social_post names it by "
                               "`account_id`). The secret is encrypted at rest and never shown again. A name "
                               "already used is a 409 (`connector_name_taken`).")
    def create(self, request):
        serializer = ConnectorWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connector = services.connector_create(workspace=self.workspace, **serializer.validated_data)
        return Response(ConnectorSerializer(connector).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConnectorUpdateSerializer, responses={200: ConnectorSerializer, **error_responses(409)},
                   description="Change the name, address or settings, or enter a new secret (which also clears "
                               "`needs_attention`). The kind cannot change.")
    def partial_update(self, request, pk=None):
        connector = self.get_object()
        serializer = ConnectorUpdateSerializer(connector, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        connector = services.connector_update(connector=connector, **serializer.validated_data)
        return Response(ConnectorSerializer(connector).data)

    @extend_schema(responses={204: None},
                   description="Delete the connector; steps that name it fail from then on, saying so.")
    def destroy(self, request, pk=None):
        services.connector_delete(connector=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
