from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns import services
from campaigns.models import Campaign
from campaigns.serializers import CampaignMembershipResultSerializer, CampaignSerializer
from contacts.selectors import contacts_by_reference
from contacts.serializers import ContactReferencesSerializer
from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.schema import error_responses

# start, pause and complete follow the campaign's allowed transitions (draft -> running -> paused|completed).
TRANSITION = {200: CampaignSerializer, **error_responses(
    409, descriptions={409: "The campaign's status does not allow this change: `details.allowed` lists what does."})}


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices)
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Campaign
        fields = ["status", "q"]


class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceScopedViewSet,
):
    model = Campaign
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_create(workspace=self.workspace, **serializer.validated_data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    def _set_status(self, to: str):
        campaign = services.campaign_set_status(campaign=self.get_object(), status=to)
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses=TRANSITION)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._set_status(Campaign.Status.RUNNING)

    @extend_schema(request=None, responses=TRANSITION)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._set_status(Campaign.Status.PAUSED)

    @extend_schema(request=None, responses=TRANSITION)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._set_status(Campaign.Status.COMPLETED)

    # --- actions for integrations (docs/integrations-actions.md) ---------------------------------------------

    def _members_change(self, request, change) -> Response:
        campaign = self.get_object()
        serializer = ContactReferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contacts, skipped = contacts_by_reference(workspace=self.workspace,
                                                  references=serializer.validated_data["contacts"])
        changed = sum(change(campaign=campaign, contact=contact) for contact in contacts)
        return Response({"changed": changed, "unchanged": len(contacts) - changed, "skipped": skipped})

    @extend_schema(request=ContactReferencesSerializer, responses=CampaignMembershipResultSerializer,
                   description="Add contacts (by id or email) to the campaign; one already in it is `unchanged`. "
                               "Each added contact emits `campaign.contact_added`.")
    @action(detail=True, methods=["post"], url_path="add-contacts")
    def add_contacts(self, request, pk=None):
        return self._members_change(request, services.campaign_contact_add)

    @extend_schema(request=ContactReferencesSerializer, responses=CampaignMembershipResultSerializer,
                   description="Remove contacts (by id or email) from the campaign; one not in it is `unchanged`. "
                               "Each removed contact emits `campaign.contact_removed`.")
    @action(detail=True, methods=["post"], url_path="remove-contacts")
    def remove_contacts(self, request, pk=None):
        return self._members_change(request, services.campaign_contact_remove)
