from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.consent import CHANNELS, STATUSES, channels_view
from contacts.models import Contact, Segment
from contacts.phones import phone_normalise
from contacts.segments import rule_sql_note
from penguinflow.common.errors import InvalidInput
from penguinflow.common.fields import StrictCharField
from penguinflow.common.schema import one_of_keys
from penguinflow.common.validators import StorableJSONField, StrictJSONObjectField, TimeZoneField
from workflows.engine.conditions import check_rule
from workflows.engine.expressions import ExpressionError, expression_compile


def tag_field() -> serializers.CharField:
    return StrictCharField(max_length=64, allow_blank=False, trim_whitespace=True)


class ConsentChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATUSES)
    source = StrictCharField(max_length=64, required=False, allow_blank=True, allow_null=True,
                             help_text="Where the consent came from; default: api.")
    proof = StrictJSONObjectField(required=False, max_bytes=4 * 1024,
                                  help_text="Evidence kept with the change: form, IP, text of the opt-in...")


class ChannelsField(serializers.Field):
    """Consent per channel: written as changes (`{"sms": {"status": "subscribed", "proof": {...}}}`, recorded
    with their proof by contacts.consent), read as every channel's state."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("An object keyed by channel: email, sms or push.")
        unknown = sorted(set(data) - set(CHANNELS))
        if unknown:
            raise serializers.ValidationError(f"Unknown channel(s): {', '.join(unknown)}; use {', '.join(CHANNELS)}.")
        changes = {}
        for channel, change in data.items():
            serializer = ConsentChangeSerializer(data=change)
            if not serializer.is_valid():
                raise serializers.ValidationError({channel: serializer.errors})
            changes[channel] = serializer.validated_data
        return {"channels": changes}  # merged into the contact's validated data (source="*")

    def to_representation(self, contact):
        return channels_view(contact)


_CHANNELS_SCHEMA = {
    "type": "object",
    "description": "Consent per channel. Read: the state of email and of every channel the contact was asked about "
                   "(`at` null: set through `status`). Write: the changes to record, each with its proof.",
    "properties": {channel: {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": list(STATUSES)},
        "source": {"type": "string", "nullable": True, "maxLength": 64},
        "at": {"type": "string", "nullable": True, "format": "date-time", "readOnly": True},
        "proof": {"type": "object", "writeOnly": True},
        "devices": {"type": "integer", "readOnly": True, "description": "Push: live subscriptions."}}}
        for channel in CHANNELS},
    "additionalProperties": False,
}
ChannelsField = extend_schema_field(_CHANNELS_SCHEMA)(ChannelsField)


class PhoneField(StrictCharField):
    """A phone number, stored in E.164; one written without its country code is refused with a hint."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not text:
            return ""
        try:
            return phone_normalise(text)
        except InvalidInput as error:
            raise serializers.ValidationError(error.details["phone"]) from error


class ContactSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(max_length=254)
    timezone = TimeZoneField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Contact.Status.choices, required=False)
    score = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    fields = StrictJSONObjectField(required=False, max_bytes=32 * 1024)
    tags = serializers.ListField(child=tag_field(), required=False, max_length=200)
    external_id = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    first_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    phone = PhoneField(max_length=32, required=False, allow_blank=True,
                       help_text="E.164 (+14155550100); written with its country code.")
    channels = ChannelsField(source="*", required=False)
    preferred_channel = serializers.ChoiceField(choices=["", *CHANNELS], required=False, allow_blank=True)
    topic_opt_outs = serializers.ListField(child=tag_field(), required=False, max_length=100)
    predictions = serializers.JSONField(
        read_only=True,
        help_text="Predictive scores by model (churn_risk, conversion, engagement_decay): {score: 0-100 or null "
                  "(not enough data), reasons, model_version, scored_at}. Written by scoring, never by clients.",
    )

    class Meta:
        model = Contact
        fields = [
            "id", "email", "first_name", "last_name", "timezone", "status", "score", "fields", "tags",
            "external_id", "phone", "channels", "preferred_channel", "topic_opt_outs", "predictions", "interests",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "predictions", "interests", "created_at", "updated_at"]


class TagInUseSerializer(serializers.Serializer):
    name = serializers.CharField()
    contacts = serializers.IntegerField(help_text="How many of the workspace's contacts carry the tag.")


class TagListSerializer(serializers.Serializer):
    results = TagInUseSerializer(many=True)


class TagsChangeSerializer(serializers.Serializer):
    add = serializers.ListField(child=tag_field(), required=False, default=list, max_length=200)
    remove = serializers.ListField(child=tag_field(), required=False, default=list, max_length=200)

    def validate(self, attrs):
        if not attrs["add"] and not attrs["remove"]:
            raise serializers.ValidationError({"add": "Give tags to add or to remove."})
        return attrs


CONTACT_REFERENCE_SCHEMA = one_of_keys({"id": {"type": "string", "format": "uuid"},
                                        "email": {"type": "string", "format": "email", "maxLength": 254}})


@extend_schema_field(CONTACT_REFERENCE_SCHEMA)
class ContactReferenceSerializer(serializers.Serializer):
    """A contact named by its id or its email (exactly one)."""

    id = serializers.UUIDField(required=False)
    email = serializers.EmailField(required=False, max_length=254)

    def validate(self, attrs):
        if ("id" in attrs) == ("email" in attrs):
            raise serializers.ValidationError("Give exactly one of 'id' or 'email'.")
        return {name: str(value) for name, value in attrs.items()}


@extend_schema_field({"type": "array", "minItems": 1, "maxItems": 1000, "items": CONTACT_REFERENCE_SCHEMA})
class _ContactReferenceList(serializers.ListField):
    """Described by hand: drf-spectacular would make the items a component without their one-of rule."""


class ContactReferencesSerializer(serializers.Serializer):
    contacts = _ContactReferenceList(child=ContactReferenceSerializer(), min_length=1, max_length=1000)


class SkippedContactSerializer(serializers.Serializer):
    contact = serializers.DictField(child=serializers.CharField(), help_text="The reference as it was given.")
    reason = serializers.CharField(help_text="A code, e.g. `not_found`.")
    message = serializers.CharField()


class FindOrCreateResultSerializer(ContactSerializer):
    created = serializers.BooleanField(read_only=True, help_text="Whether the contact was created by this call.")

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "created"]


class FieldSetSerializer(serializers.Serializer):
    field = StrictCharField(max_length=64, help_text="The custom field's name (a key of `fields`).")
    value = StorableJSONField(allow_null=True, help_text="Its new value, any JSON; null removes the field.")


class ScoreChangeSerializer(serializers.Serializer):
    delta = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1,
                                     help_text="Added to the score (negative to lower it).")
    set = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1,
                                   help_text="The new score.")

    def validate(self, attrs):
        if ("delta" in attrs) == ("set" in attrs):
            raise serializers.ValidationError("Give exactly one of 'delta' or 'set'.")
        return attrs


class SegmentSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    rule = StorableJSONField()
    sql_compiled = serializers.SerializerMethodField(
        help_text="Whether the rule runs as one database query. When false, members are found by evaluating the "
                  "rule contact by contact, which is slow on large workspaces; sql_note says why.")
    sql_note = serializers.SerializerMethodField(
        help_text="Why the rule is not compiled to a database query (which operation, and what to use instead "
                  "where there is something); empty when sql_compiled is true.")

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rule", "sql_compiled", "sql_note", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_sql_compiled(self, segment: Segment) -> bool:
        return not rule_sql_note(segment.rule)

    def get_sql_note(self, segment: Segment) -> str:
        return rule_sql_note(segment.rule)

    def validate_rule(self, rule):
        if isinstance(rule, dict) and set(rule) == {"js"}:  # an expression (CONTRACT §7a): its JsonLogic is stored
            if not isinstance(rule["js"], str):
                raise serializers.ValidationError("js must be an expression, as text.")
            try:
                rule = expression_compile(rule["js"])
            except ExpressionError as error:
                raise serializers.ValidationError(str(error)) from None
        problems = check_rule(rule)
        if problems:
            raise serializers.ValidationError(" ".join(problems))
        return rule
