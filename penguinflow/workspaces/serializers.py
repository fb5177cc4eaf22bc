"""What the workspaces API shows: signing secrets (a hint only, the value once), members, the caller, credentials."""

from __future__ import annotations

from rest_framework import serializers

from penguinflow.common.fields import StrictCharField
from penguinflow.workspaces.models import ApiScope, Membership
from penguinflow.workspaces.services import DEFAULT_OVERLAP_HOURS, MAX_OVERLAP_HOURS


class SigningSecretSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    hint = serializers.CharField(read_only=True, help_text="The secret's first characters, to tell secrets apart.")
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                           help_text="When it stops signing (set when a newer secret replaced it).")
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    in_use = serializers.SerializerMethodField(help_text="Whether it signs webhooks now.")

    def get_in_use(self, secret) -> bool:
        return secret.pk in self.context.get("in_use", ())


class NewSigningSecretSerializer(SigningSecretSerializer):
    secret = serializers.CharField(read_only=True, help_text="The secret (`whsec_...`): shown this once.")


class _NumberField(serializers.FloatField):
    """A JSON number, and only that: DRF's FloatField takes `false` or `"2"` too, which the schema does not."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class RotateSerializer(serializers.Serializer):
    overlap_hours = _NumberField(
        required=False, default=DEFAULT_OVERLAP_HOURS, min_value=0, max_value=MAX_OVERLAP_HOURS,
        help_text="How long the secrets in use keep signing beside the new one (0: they stop now).")


class MemberSerializer(serializers.Serializer):
    """A person of the workspace, as pickers show them: the user's id, address, name and role here."""

    id = serializers.IntegerField(source="user.id", read_only=True, help_text="The user's id.")
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.SerializerMethodField(help_text="The user's full name, or their username when it is empty.")
    role = serializers.ChoiceField(choices=Membership.Role.choices, read_only=True)

    def get_name(self, membership: Membership) -> str:
        return membership.user.get_full_name() or membership.user.get_username()


class WorkspaceMemberSerializer(serializers.Serializer):
    """A membership as the people screen shows it: who, their role here and since when."""

    id = serializers.IntegerField(read_only=True, help_text="The membership's id: the `{id}` of PATCH and DELETE.")
    user_id = serializers.IntegerField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.SerializerMethodField(help_text="The user's full name, or their username when it is empty.")
    role = serializers.ChoiceField(choices=Membership.Role.choices, read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    def get_name(self, membership: Membership) -> str:
        return membership.user.get_full_name() or membership.user.get_username()


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices,
                                   help_text="owner, admin, editor or viewer (what each may do: SECURITY.md).")


class MemberAddSerializer(MemberRoleSerializer):
    email = StrictCharField(max_length=254, help_text="The address of an existing user (no invitation is sent).")


class MeWorkspaceSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class MeKeySerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True, source="prefix",
                               help_text="The key's public id: its first characters (the part before the dot), "
                                         "as the admin shows it. Never the secret.")
    label = serializers.CharField(read_only=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiScope.choices), read_only=True)


class MeUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices, read_only=True)


class MeSerializer(serializers.Serializer):
    """Who is calling: the workspace, and the API key (null for a browser session, which has `user` instead)."""

    workspace = MeWorkspaceSerializer(read_only=True)
    key = MeKeySerializer(read_only=True, allow_null=True, help_text="The API key of the call; null for a session.")
    user = MeUserSerializer(read_only=True, allow_null=True,
                            help_text="The logged-in user and their role, for a session; null for an API key.")


class CredentialSerializer(serializers.Serializer):
    """A credential as the API shows it: never its secret, not even a hint."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class CredentialCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, help_text="Unique in the workspace; steps show it.")
    description = StrictCharField(max_length=500, required=False, default="", allow_blank=True)
    secret = StrictCharField(
        write_only=True, max_length=10_000, trim_whitespace=False, style={"input_type": "password"},
        help_text="The secret (an API token): stored encrypted, never shown again. A step uses it as "
                  "{{ credential }} in a header value.")

    def validate_secret(self, value: str) -> str:
        # A header value cannot carry a line break or NUL; refused here, not at the first step that sends it.
        if not value.strip() or any(char in value for char in "\r\n\x00"):
            raise serializers.ValidationError("Give a secret without line breaks (it is sent in a header).")
        return value
