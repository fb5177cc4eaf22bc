"""Webhook subscriptions and deliveries as the API shows them (CONTRACT §14). The secret appears once: in the
answer that made it (creation, rotation)."""

from __future__ import annotations

from rest_framework import serializers

from penguinflow.common.fields import StrictCharField
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import MAX_EVENTS


class _StrictBooleanField(serializers.BooleanField):
    """`true` or `false` only: DRF's BooleanField also takes "yes", 1, "on"..., which the schema does not say."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _event_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=StrictCharField(max_length=128), min_length=1, max_length=MAX_EVENTS,
                                 help_text="Event types (CONTRACT §3): exact (`contact.created`), a family "
                                           "(`email.*`) or `*`; a custom type once the workspace has recorded one.",
                                 **kwargs)


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "description", "ordered", "status", "disabled_reason", "disabled_at",
                  "previous_secret_expires_at", "created_at", "updated_at"]
        read_only_fields = fields


class NewSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret (`whsec_...`): shown this once.")

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SubscriptionCreateSerializer(serializers.Serializer):
    """`{url, events}`, or the REST-hooks form Zapier sends: `{target_url, event}`."""

    url = StrictCharField(max_length=2000, required=False, help_text="The endpoint: http(s), not an internal address.")
    target_url = StrictCharField(max_length=2000, required=False, help_text="REST hooks' name for `url`.")
    events = _event_list(required=False)
    event = StrictCharField(max_length=128, required=False, help_text="REST hooks: one event type (for `events`).")
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    ordered = _StrictBooleanField(required=False, default=False,
                                  help_text="Deliver each contact's events one at a time, in order.")

    def validate(self, attrs):
        errors = {}
        if ("url" in attrs) == ("target_url" in attrs):
            errors["url"] = "Give exactly one of `url` and `target_url`."
        if ("events" in attrs) == ("event" in attrs):
            errors["events"] = "Give exactly one of `events` and `event`."
        if errors:
            raise serializers.ValidationError(errors)
        return {"url": attrs.get("url", attrs.get("target_url")),
                "events": attrs["events"] if "events" in attrs else [attrs["event"]],
                "description": attrs["description"], "ordered": attrs["ordered"]}


class SubscriptionUpdateSerializer(serializers.Serializer):
    url = StrictCharField(max_length=2000, required=False)
    events = _event_list(required=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    ordered = _StrictBooleanField(required=False)
    status = serializers.ChoiceField(choices=WebhookSubscription.Status.choices, required=False,
                                     help_text="`active` enables (failures forgotten), `disabled` stops and cancels "
                                               "what is pending.")


class _NumberField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class RotateSecretSerializer(serializers.Serializer):
    overlap_hours = _NumberField(required=False, default=24, min_value=0, max_value=168,
                                 help_text="How long the current secret keeps signing beside the new one (0: stops now).")


class ReplaySinceSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Replay the deliveries made at or after this time (with a zone).")


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="Deliveries due again now.")


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(source="msg_id", read_only=True,
                                       help_text="The `webhook-id` header (and the envelope's `id`).")
    next_attempt_at = serializers.SerializerMethodField(help_text="When pending: the next attempt.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook_id", "event_id", "event_type", "contact_id", "status", "attempts",
                  "next_attempt_at", "last_attempt_at", "response_status", "latency_ms", "response_body", "error",
                  "created_at", "delivered_at"]
        read_only_fields = fields

    def get_next_attempt_at(self, delivery) -> str | None:
        if delivery.status != WebhookDelivery.Status.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class SampleSerializer(serializers.Serializer):
    """The envelope every webhook carries (CONTRACT §14)."""

    id = serializers.CharField(help_text="The `webhook-id`: unique per event.")
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    workspace_id = serializers.UUIDField()
    data = serializers.DictField(help_text="The event as GET /api/v1/events shows it, with `contact` (or null).")
