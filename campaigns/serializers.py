from __future__ import annotations

from rest_framework import serializers

from campaigns.models import Campaign
from contacts.serializers import SkippedContactSerializer
from penguinflow.common.fields import StrictCharField


class CampaignSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10_000)

    class Meta:
        model = Campaign
        fields = ["id", "name", "description", "status", "created_at", "updated_at"]
        read_only_fields = ["id", "status", "created_at", "updated_at"]


class CampaignMembershipResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Contacts added (or removed) by this call.")
    unchanged = serializers.IntegerField(help_text="Contacts that were in (or out of) the campaign already.")
    skipped = SkippedContactSerializer(many=True, help_text="References that name no contact of the workspace.")
