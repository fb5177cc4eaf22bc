"""The push API's shapes (CONTRACT §13): subscriptions as browsers give them, the workspace's push settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from rest_framework import serializers

from push.models import PushSettings, PushSubscription


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200, help_text="The browser's P-256 public key, base64url.")
    auth = serializers.CharField(max_length=100, help_text="The browser's 16-byte auth secret, base64url.")


class PushSubscriptionInSerializer(serializers.Serializer):
    """`PushSubscription.toJSON()` of the browser: `{endpoint, keys: {p256dh, auth}}` (expirationTime ignored)."""

    endpoint = serializers.CharField(max_length=2000, help_text="The push service URL (https).")
    keys = PushKeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)


class PushSubscriptionSerializer(serializers.ModelSerializer):
    push_service = serializers.SerializerMethodField(
        help_text="The origin of the endpoint (the browser's vendor)."
    )

    class Meta:
        model = PushSubscription
        fields = [
            "id",
            "contact_id",
            "endpoint",
            "push_service",
            "source",
            "user_agent",
            "created_at",
            "updated_at",
        ]

    def get_push_service(self, subscription: PushSubscription) -> str:
        parts = urlsplit(subscription.endpoint)
        return f"{parts.scheme}://{parts.netloc}"


class PushVapidPublicKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(
        help_text="The applicationServerKey for PushManager.subscribe (base64url)."
    )


class PushSettingsSerializer(serializers.ModelSerializer):
    # RFC 8292's `sub`: a contact for the push services' operators. Empty: the workspace's sender address.
    subject = serializers.RegexField(
        r"^(mailto:[^@\s]+@[^@\s]+|https://[^\s]+)$", max_length=254, allow_blank=True, required=False,
        error_messages={"invalid": "A mailto: address or an https:// URL (RFC 8292 'sub')."},
    )  # fmt: skip

    class Meta:
        model = PushSettings
        fields = ["vapid_public_key", "site_key", "subject", "updated_at"]
        read_only_fields = ["vapid_public_key", "site_key", "updated_at"]


class PushIdentitySecretSerializer(serializers.Serializer):
    identity_secret = serializers.CharField(
        help_text="Shown this once. The site's backend signs a visitor's address with it: "
        "hex(HMAC-SHA256(secret, lower-cased email))."
    )


class PushSiteSubscribeSerializer(serializers.Serializer):
    subscription = PushSubscriptionInSerializer()
    email = serializers.EmailField(max_length=254)
    signature = serializers.CharField(
        max_length=128, help_text="hex(HMAC-SHA256(identity secret, lower(email)))"
    )


class PushSiteUnsubscribeSerializer(serializers.Serializer):
    endpoint = serializers.CharField(max_length=2000)
