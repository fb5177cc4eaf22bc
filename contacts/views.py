from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts import services
from contacts.filters import ContactFilter
from contacts.models import Contact, Segment
from contacts.segments import segment_contacts, segment_save
from contacts.selectors import tags_in_use
from contacts.serializers import (
    ContactSerializer,
    FieldSetSerializer,
    FindOrCreateResultSerializer,
    ScoreChangeSerializer,
    SegmentSerializer,
    TagListSerializer,
    TagsChangeSerializer,
)
from events.models import Event
from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.pagination import CreatedCursorPagination
from penguinflow.common.schema import error_responses

_TAGS = {"type": "array", "maxItems": 200, "items": {"type": "string", "maxLength": 64, "pattern": r"\S",
                                                    "description": "Trimmed; not blank."}}
# What TagsChangeSerializer takes: tags to add, to remove, or both, and at least one tag.
TAGS_CHANGE_SCHEMA = {
    "type": "object",
    "properties": {"add": _TAGS, "remove": _TAGS},
    "anyOf": [{"required": ["add"], "properties": {"add": {"minItems": 1}}},
              {"required": ["remove"], "properties": {"remove": {"minItems": 1}}}],
}

_SCORE = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
# What ScoreChangeSerializer takes: exactly one of delta and set.
SCORE_CHANGE_SCHEMA = {
    "type": "object",
    "properties": {"delta": {**_SCORE, "description": "Added to the score (negative to lower it)."},
                   "set": {**_SCORE, "description": "The new score."}},
    "oneOf": [{"required": ["delta"], "not": {"required": ["set"]}},
              {"required": ["set"], "not": {"required": ["delta"]}}],
}

# Email and external_id are unique in a workspace.
DUPLICATE = error_responses(409, descriptions={409: "Another contact of the workspace has this email or external_id."})


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def scoped_queryset(self, queryset):
        return queryset.prefetch_related("scores")  # a page's scores in one query

    @extend_schema(responses={201: ContactSerializer, **DUPLICATE})
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_create(workspace=self.workspace, source=Event.Source.API, **serializer.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ContactSerializer, **DUPLICATE})
    def partial_update(self, request, pk=None):
        return self._update(partial=True)

    @extend_schema(
        responses={200: ContactSerializer, **DUPLICATE},
        description="Like PATCH, but `email` is required (as in POST); fields left out keep their values.",
    )
    def update(self, request, pk=None):
        return self._update(partial=False)

    def _update(self, *, partial: bool) -> Response:
        contact = self.get_object()
        serializer = self.get_serializer(contact, data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(contact=contact, changes=serializer.validated_data, source=Event.Source.API)
        return Response(ContactSerializer(contact).data)

    @extend_schema(description="Erase the person: PII, events and enrollments go; a hashed suppression entry stays.",
                   responses={204: None})
    def destroy(self, request, pk=None):
        services.contact_erase(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request={"application/json": TAGS_CHANGE_SCHEMA}, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def tags(self, request, pk=None):
        contact = self.get_object()
        serializer = TagsChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_tags_change(contact=contact, source=Event.Source.API, **serializer.validated_data)
        return Response(ContactSerializer(contact).data)

    # --- actions for integrations (docs/integrations-actions.md) ---------------------------------------------

    @extend_schema(request=ContactSerializer,
                   responses={200: FindOrCreateResultSerializer, 201: FindOrCreateResultSerializer, **DUPLICATE},
                   description="The contact with this email, unchanged (200), or a new one made from the body "
                               "(201), as `POST /api/v1/contacts` makes it. `created` says which. A 409 only when "
                               "the new contact's external_id is another contact's.")
    @action(detail=False, methods=["post"], url_path="find-or-create")
    def find_or_create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact, created = services.contact_find_or_create(workspace=self.workspace, source=Event.Source.API,
                                                           **serializer.validated_data)
        return Response({**ContactSerializer(contact).data, "created": created},
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={200: TagListSerializer},
                   description="The tags the workspace's contacts carry, by name, each with how many contacts "
                               "carry it (at most 1,000 tags): what a tag dropdown offers.")
    @action(detail=False, methods=["get"], url_path="tags", url_name="tags-in-use", pagination_class=None)
    def tags_in_use(self, request):
        return Response({"results": tags_in_use(workspace=self.workspace)})

    @extend_schema(request=FieldSetSerializer, responses=ContactSerializer,
                   description="Set one custom field of the contact (`fields[field]`); a null value removes it.")
    @action(detail=True, methods=["post"], url_path="set-field")
    def set_field(self, request, pk=None):
        contact = self.get_object()
        serializer = FieldSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_field_set(contact=contact, source=Event.Source.API, **serializer.validated_data)
        return Response(ContactSerializer(contact).data)

    @extend_schema(request={"application/json": SCORE_CHANGE_SCHEMA}, responses=ContactSerializer,
                   description="Add `delta` to the contact's score, or `set` it; the score stays a 32-bit integer.")
    @action(detail=True, methods=["post"])
    def score(self, request, pk=None):
        contact = self.get_object()
        serializer = ScoreChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = services.contact_score_change(contact=contact, delta=data.get("delta"), set_to=data.get("set"),
                                                source=Event.Source.API)
        return Response(ContactSerializer(contact).data)

    @extend_schema(request=None, responses=ContactSerializer,
                   description="Unsubscribe the contact (status `unsubscribed`); already unsubscribed changes nothing.")
    @action(detail=True, methods=["post"])
    def unsubscribe(self, request, pk=None):
        contact = services.contact_unsubscribe(contact=self.get_object(), source=Event.Source.API)
        return Response(ContactSerializer(contact).data)


OVER_SEGMENT_BUDGET = error_responses(422, descriptions={
    422: "The rule would take the workspace's segments over the cost every contact change may spend on them "
         "(`segment_budget_exceeded`), or it uses an operation segments cannot run exactly and fast, such as regex "
         "(`rule_not_compilable`; `details.rule` says which)."})


class MembersCursorPagination(CreatedCursorPagination):
    """Members by contact id: the (segment, contact) unique index of the membership table walks them in order."""

    ordering = ("id",)


@extend_schema_view(create=extend_schema(responses={201: SegmentSerializer, **OVER_SEGMENT_BUDGET}),
                    update=extend_schema(responses={200: SegmentSerializer, **OVER_SEGMENT_BUDGET}),
                    partial_update=extend_schema(responses={200: SegmentSerializer, **OVER_SEGMENT_BUDGET}))
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
        segment_save(workspace=self.workspace, serializer=serializer)

    def perform_update(self, serializer):
        segment_save(workspace=self.workspace, serializer=serializer, replacing=serializer.instance)

    @extend_schema(responses=ContactSerializer(many=True),
                   description="The segment's members, in the order of their ids (a cursor over the membership "
                               "table: each page is one indexed read, however large the segment).")
    @action(detail=True, methods=["get"], pagination_class=MembersCursorPagination)
    def contacts(self, request, pk=None):
        segment = self.get_object()
        queryset = segment_contacts(segment=segment).prefetch_related("scores")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ContactSerializer(page, many=True).data)
