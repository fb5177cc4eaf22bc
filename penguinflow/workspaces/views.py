"""`GET /api/v1/webhook-signing-secrets`, `POST /api/v1/webhook-signing-secrets/rotate`,
`DELETE /api/v1/webhook-signing-secrets/{id}`: the secrets the workspace signs its outbound webhooks with.
`GET /api/v1/members`: the people of the workspace (read-only), for the builder's pickers of people.
`GET|POST /api/v1/workspace/members`, `PATCH|DELETE /api/v1/workspace/members/{id}`: who is a member, with
which role (managed by owners and admins: `penguinflow.common.permissions`).
`GET /api/v1/me`: who is calling (Zapier's connection test and label).
`GET|PATCH /api/v1/workspace/settings`: sending on every channel.
`GET /api/v1/workspace/write-key`, `POST /api/v1/workspace/write-key/rotate`: the website tracking script's public
write key, with the snippet to paste into a site's pages.
`GET|POST /api/v1/credentials`, `GET|DELETE /api/v1/credentials/{id}`: secrets steps send (write-only)."""

from __future__ import annotations

import django_filters
from django.conf import settings as django_settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.auth import ApiKeyPrincipal, request_role
from penguinflow.common.errors import InvalidInput, NotFound
from penguinflow.common.permissions import ADMIN, ANY_SCOPE
from penguinflow.common.schema import error_responses, pydantic_schema
from penguinflow.workspaces import services
from penguinflow.workspaces.messaging_settings import MessagingSettings, messaging_settings
from penguinflow.workspaces.models import Credential, Membership, WebhookSigningSecret
from penguinflow.workspaces.selectors import memberships_of, workspace_messaging_settings
from penguinflow.workspaces.serializers import (
    CredentialCreateSerializer,
    CredentialSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MeSerializer,
    NewSigningSecretSerializer,
    RotateSerializer,
    SigningSecretSerializer,
    WorkspaceMemberSerializer,
)


class WebhookSigningSecretViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """The workspace's webhook signing secrets, newest first; values are never listed, only hints."""

    model = WebhookSigningSecret
    serializer_class = SigningSecretSerializer
    required_role = ADMIN  # receivers check every webhook of the workspace against these

    def get_serializer_context(self):
        in_use = {secret.pk for secret in services.signing_secrets_in_use(workspace=self.workspace)}
        return {**super().get_serializer_context(), "in_use": in_use}

    @extend_schema(request=RotateSerializer, responses={201: NewSigningSecretSerializer},
                   description="Make a new signing secret (the first one, too) and show it once; the secrets in "
                               "use keep signing beside it for `overlap_hours` (default 24), so receivers can "
                               "switch without losing a call.")
    @action(detail=False, methods=["post"])
    def rotate(self, request):
        serializer = RotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        secret = services.signing_secret_rotate(workspace=self.workspace, **serializer.validated_data)
        context = {**self.get_serializer_context()}
        return Response(NewSigningSecretSerializer(secret, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, description="Revoke the secret: it stops signing at once.")
    def destroy(self, request, pk=None):
        services.signing_secret_revoke(secret=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberFilter(django_filters.FilterSet):
    # Declared for the schema and the one-value check; the selector applies it (it spans the user's fields).
    q = django_filters.CharFilter(method="filter_q", help_text="Part of the email, name or username.")

    class Meta:
        model = Membership
        fields = ["q"]

    def filter_q(self, queryset, name, value):
        return queryset  # applied by memberships_of


class MemberViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The people of the request's workspace, newest member first; another workspace's people never show."""

    serializer_class = MemberSerializer
    filterset_class = MemberFilter

    def get_queryset(self):
        return memberships_of(workspace=getattr(self.request, "workspace", None),
                              q=self.request.query_params.get("q", "").strip())


# Written out: drf-spectacular makes every field of a PATCH body optional, and `role` is what this PATCH is.
MEMBER_ROLE_BODY = {"type": "object", "required": ["role"], "properties": {"role": {
    "type": "string", "enum": Membership.Role.values,
    "description": "owner, admin, editor or viewer (what each may do: SECURITY.md)."}}}


class WorkspaceMemberViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The workspace's memberships, newest first. Owners manage everyone; admins (and API keys, which act as
    admins) manage editors and viewers; the last owner stays (409 `last_owner`)."""

    serializer_class = WorkspaceMemberSerializer
    filterset_class = MemberFilter
    lookup_value_regex = "[0-9]{1,18}"
    required_role = ADMIN  # the finer rule (who may touch whom) is the services'

    def get_queryset(self):
        return memberships_of(workspace=getattr(self.request, "workspace", None),
                              q=self.request.query_params.get("q", "").strip())

    def get_object(self) -> Membership:
        membership = memberships_of(workspace=self.request.workspace).filter(pk=self.kwargs["pk"]).first()
        if membership is None:
            raise NotFound(f"No member {self.kwargs['pk']} in this workspace.")
        return membership

    def _answer(self, membership: Membership, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(WorkspaceMemberSerializer(membership).data, status=status_code)

    @extend_schema(request=MemberAddSerializer,
                   responses={201: WorkspaceMemberSerializer, **error_responses(404, 409)},
                   summary="Add a member",
                   description="Make an existing user (found by email address, case-insensitive) a member with "
                               "`role`. No invitation is sent: an address no user has is a 404 naming "
                               "`email`. Already a member: 409 `already_member`. Only an owner adds an admin or "
                               "an owner.")
    def create(self, request):
        serializer = MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_add(workspace=request.workspace, actor_role=request_role(request),
                                         **serializer.validated_data)
        return self._answer(membership, status.HTTP_201_CREATED)

    @extend_schema(request={"application/json": MEMBER_ROLE_BODY},
                   responses={200: WorkspaceMemberSerializer, **error_responses(409)},
                   summary="Change a member's role",
                   description="Only an owner changes an owner's or an admin's role, or gives those roles. "
                               "Demoting the last owner is a 409 `last_owner`.")
    def partial_update(self, request, pk=None):
        membership = self.get_object()  # another workspace's member is a 404 whatever the body
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_role_change(membership=membership, actor_role=request_role(request),
                                                 role=serializer.validated_data["role"])
        return self._answer(membership)

    @extend_schema(responses={204: None, **error_responses(409)}, summary="Remove a member",
                   description="The user leaves the workspace (the account stays). Removing the last owner is a "
                               "409 `last_owner`.")
    def destroy(self, request, pk=None):
        services.member_remove(membership=self.get_object(), actor_role=request_role(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """`GET /api/v1/me`: the caller's workspace and key; any valid key may ask, whatever its scopes."""

    api_key_scope = ANY_SCOPE

    @extend_schema(responses=MeSerializer,
                   description="The workspace of the call and the API key used, `{id, label, scopes}` (`id` is "
                               "the key's prefix). For a browser session `key` is null and `user` describes the "
                               "logged-in user; for a key `user` is null.")
    def get(self, request):
        workspace = request.workspace
        caller = request.user
        key = user = None
        if isinstance(caller, ApiKeyPrincipal):
            key = {"prefix": caller.prefix, "label": caller.label, "scopes": sorted(caller.scopes)}
        else:
            user = {"id": caller.pk, "username": caller.get_username(), "email": caller.email,
                    "role": request_role(request)}
        return Response(MeSerializer({"workspace": workspace, "key": key, "user": user}).data)


SETTINGS_SCHEMA = pydantic_schema(MessagingSettings)


class WorkspaceSettingsView(APIView):
    """`GET|PATCH /api/v1/workspace/settings`: sending on every channel (caps, quiet hours, topics, push origins)."""

    required_role = ADMIN  # every send of every workflow obeys them

    @extend_schema(responses={(200, "application/json"): SETTINGS_SCHEMA},
                   description="The workspace's sending settings, defaults filled in.")
    def get(self, request):
        return Response(workspace_messaging_settings(request.workspace).model_dump(mode="json"))

    @extend_schema(request={"application/json": SETTINGS_SCHEMA},
                   responses={(200, "application/json"): SETTINGS_SCHEMA, **error_responses(400)},
                   description="Replace the top-level settings given (each one whole); the others stay. A "
                               "frequency cap's `per` is between one minute and one year.")
    def patch(self, request):
        if not isinstance(request.data, dict):
            raise InvalidInput("The body must be a JSON object of settings.")
        workspace = services.workspace_settings_change(workspace=request.workspace, changes=request.data)
        return Response(messaging_settings(workspace).model_dump(mode="json"))


class WriteKeySerializer(serializers.Serializer):
    write_key = serializers.CharField(allow_null=True, help_text="Public: it only adds events (POST /api/v1/track), "
                                                                  "from the origins in `tracking_origins`. Null until "
                                                                  "made with rotate.")
    tracking_origins = serializers.ListField(child=serializers.CharField(),
                                             help_text="The sites allowed to send (PATCH /api/v1/workspace/settings).")
    script_url = serializers.CharField()
    snippet = serializers.CharField(allow_null=True, help_text="The HTML to paste into the site's pages.")


def _write_key_body(workspace) -> dict:
    base = django_settings.PUBLIC_BASE_URL
    key = workspace.write_key
    return {"write_key": key, "tracking_origins": messaging_settings(workspace).tracking_origins,
            "script_url": f"{base}/js/penguinflow.js",
            "snippet": services.tracking_snippet(write_key=key, base_url=base) if key else None}


class WriteKeyView(APIView):
    """`GET /api/v1/workspace/write-key`: the website tracking script's public write key and its snippet."""

    @extend_schema(responses=WriteKeySerializer, description="The public write key of the website tracking script "
                   "(null until made), the sites allowed to use it and the snippet to paste into their pages.")
    def get(self, request):
        return Response(WriteKeySerializer(_write_key_body(request.workspace)).data)


class WriteKeyRotateView(APIView):
    """`POST /api/v1/workspace/write-key/rotate`: make the write key (the first, or a new one)."""

    required_role = ADMIN  # every site's snippet stops adding events until it is updated

    @extend_schema(request=None, responses={201: WriteKeySerializer},
                   description="Make a new public write key; the old one stops adding events within seconds.")
    def post(self, request):
        workspace = services.write_key_rotate(workspace=request.workspace)
        return Response(WriteKeySerializer(_write_key_body(workspace)).data, status=status.HTTP_201_CREATED)


class CredentialViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                        WorkspaceScopedViewSet):
    """The workspace's credentials, newest first: names only; a secret goes in once and never comes out."""

    model = Credential
    serializer_class = CredentialSerializer
    required_role = ADMIN  # secrets of other systems, used by every step that names them
    filter_backends: list = []

    @extend_schema(request=CredentialCreateSerializer, responses={201: CredentialSerializer, **error_responses(409)},
                   summary="Store a credential",
                   description="The secret is encrypted at rest and never shown again (the answer has no "
                               "`secret`). An http_request step names it by `credential_id` and sends it as "
                               "`{{ credential }}` in a header. A name already used is a 409 "
                               "(`credential_name_taken`).")
    def create(self, request):
        serializer = CredentialCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credential = services.credential_create(workspace=self.workspace, **serializer.validated_data)
        return Response(CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None},
                   description="Delete the credential; the steps that name it fail from then on, saying so.")
    def destroy(self, request, pk=None):
        services.credential_delete(credential=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
