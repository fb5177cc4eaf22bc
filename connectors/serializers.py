from __future__ import annotations

from rest_framework import serializers

from connectors.kinds import KINDS
from penguinflow.common.fields import StrictCharField


class ConnectorSerializer(serializers.Serializer):
    """A connector as the API shows it: never its secret."""

    id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField(read_only=True)
    category = serializers.SerializerMethodField()
    name = serializers.CharField(read_only=True)
    base_url = serializers.CharField(read_only=True)
    settings = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True)
    last_error = serializers.CharField(read_only=True)
    last_error_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_category(self, connector) -> str:
        return KINDS[connector.kind].category

    def get_settings(self, connector) -> dict:
        # The webhook secret is write-only, like the secret: the settings say only whether one is set.
        shown = {key: value for key, value in (connector.settings or {}).items() if not key.endswith("_encrypted")}
        return {**shown, "webhook_secret_set": bool((connector.settings or {}).get("webhook_secret_encrypted"))}


def _secret_field(*, required: bool) -> StrictCharField:
    return StrictCharField(
        write_only=True, required=required, max_length=10_000, trim_whitespace=False,
        style={"input_type": "password"},
        help_text="The service's API key or OAuth access token: stored encrypted, never shown again.")


class ConnectorWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(KINDS))
    name = StrictCharField(max_length=100, help_text="Unique in the workspace; steps show it.")
    base_url = serializers.URLField(max_length=500, required=False, default="", allow_blank=True,
                                    help_text="The service's API address when not the kind's default (required "
                                              "for Salesforce: the organisation's instance URL).")
    settings = serializers.DictField(required=False, default=dict,
                                     help_text="Kind-specific: organization_id (LinkedIn), page_id (Facebook), "
                                               "field_map, pipeline.")
    secret = _secret_field(required=True)

    def validate_secret(self, value: str) -> str:
        # Sent in an Authorization header: a line break or NUL is refused here, not at the first step that sends it.
        if not value.strip() or any(char in value for char in "\r\n\x00"):
            raise serializers.ValidationError("Give a secret without line breaks (it is sent in a header).")
        return value

    def validate(self, attrs: dict) -> dict:
        kind = KINDS[attrs.get("kind") or self.instance.kind]
        base_url = attrs.get("base_url", getattr(self.instance, "base_url", ""))
        if not (base_url or kind.default_base_url):
            raise serializers.ValidationError({"base_url": f"{kind.label} needs its API address (base_url)."})
        settings = attrs.get("settings", getattr(self.instance, "settings", {}))
        missing = [key for key in kind.required_settings if not settings.get(key)]
        if missing:
            raise serializers.ValidationError({"settings": f"{kind.label} needs {', '.join(missing)} in settings."})
        return attrs


class ConnectorUpdateSerializer(ConnectorWriteSerializer):
    """A change: any of the fields; the kind never changes (make another connector)."""

    kind = None
    name = StrictCharField(max_length=100, required=False)
    base_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    settings = serializers.DictField(required=False)
    secret = _secret_field(required=False)
