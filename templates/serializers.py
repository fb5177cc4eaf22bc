from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from contacts.serializers import ContactReferenceSerializer
from penguinflow.common.fields import StrictCharField
from penguinflow.common.validators import StrictJSONObjectField
from templates.models import EmailTemplate


class NoControlCharsCharField(StrictCharField):
    """A single-line value: CR, LF and other control characters are refused (no header injection)."""

    default_error_messages = {"control": "Must be a single line without control characters."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            self.fail("control")
        return value


class NoControlCharsCharFieldSchema(OpenApiSerializerFieldExtension):
    target_class = NoControlCharsCharField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        # No control character, and (trimmed, not blank) at least one other than a space.
        return {**schema, "pattern": r"^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"}


class EmailTemplateSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=200)
    subject = NoControlCharsCharField(max_length=998)
    html = StrictCharField(max_length=512 * 1024, trim_whitespace=False)
    # At most half the html's: both at their maximum must still fit the 1 MiB body limit.
    text = StrictCharField(max_length=256 * 1024, required=False, allow_blank=True, trim_whitespace=False)

    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "subject", "html", "text", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TemplatePreviewSerializer(serializers.Serializer):
    """`{contact_id}` or `{contact: {...}}` (CONTRACT §4), and optionally `event` / `enrollment` objects."""

    contact_id = serializers.UUIDField(required=False)
    contact = StrictJSONObjectField(required=False, max_bytes=32 * 1024)
    event = StrictJSONObjectField(required=False, max_bytes=32 * 1024)
    enrollment = StrictJSONObjectField(required=False, max_bytes=32 * 1024)

    def validate(self, attrs):
        if ("contact_id" in attrs) == ("contact" in attrs):
            raise serializers.ValidationError({"contact": "Give either contact_id or contact."})
        email = attrs.get("contact", {}).get("email")
        if email is not None and not isinstance(email, str):
            raise serializers.ValidationError({"contact.email": "Must be a string."})
        return attrs


class TemplatePreviewResultSerializer(serializers.Serializer):
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


class TemplateSendSerializer(serializers.Serializer):
    contact = ContactReferenceSerializer(help_text="The contact to send to, by id or email.")
    from_email = StrictCharField(required=False, max_length=254, help_text="The sender; default: the workspace's.")
    reply_to = serializers.EmailField(required=False, max_length=254)


class TemplateSendResultSerializer(serializers.Serializer):
    message_id = serializers.UUIDField(help_text="The outbox message.")
    outcome = serializers.ChoiceField(choices=["queued", "suppressed", "not_subscribed"],
                                      help_text="`queued`: it will be sent; otherwise why it will not be.")
    status = serializers.CharField(help_text="The message's status: `queued`, or `skipped`.")
    detail = serializers.CharField(allow_blank=True)
