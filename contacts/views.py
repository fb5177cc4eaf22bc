from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts import selectors, services
from contacts.filters import ContactFilter
from contacts.models import Contact, Segment
from contacts.serializers import ContactSerializer, SegmentSerializer, TagsChangeSerializer
from events.models import Event
from penguinflow.common.api import WorkspaceScopedViewSet


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_create(workspace=self.workspace, source=Event.Source.API, **serializer.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        contact = self.get_object()
        serializer = self.get_serializer(contact, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(contact=contact, changes=serializer.validated_data, source=Event.Source.API)
        return Response(ContactSerializer(contact).data)

    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    @extend_schema(description="Erase the person: PII, events and enrollments go; a hashed suppression entry stays.")
    def destroy(self, request, pk=None):
        services.contact_erase(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TagsChangeSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def tags(self, request, pk=None):
        contact = self.get_object()
        serializer = TagsChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_tags_change(contact=contact, source=Event.Source.API, **serializer.validated_data)
        return Response(ContactSerializer(contact).data)


class SegmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceScopedViewSet,
):
    model = Segment
    serializer_class = SegmentSerializer

    def perform_create(self, serializer):
        serializer.save(workspace=self.workspace)

    @extend_schema(responses=ContactSerializer(many=True))
    @action(detail=True, methods=["get"])
    def contacts(self, request, pk=None):
        segment = self.get_object()
        queryset = selectors.segment_contacts(segment=segment)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ContactSerializer(page, many=True).data)
