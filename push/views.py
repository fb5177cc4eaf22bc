"""The push API (CONTRACT §13): the VAPID public key, the workspace's push settings, and a contact's browsers."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.models import Contact
from penguinflow.common.errors import NotFound
from penguinflow.common.permissions import ADMIN
from penguinflow.common.schema import error_responses
from push import services
from push.models import PushSubscription
from push.serializers import (
    PushIdentitySecretSerializer,
    PushSettingsSerializer,
    PushSubscriptionInSerializer,
    PushSubscriptionSerializer,
    PushVapidPublicKeySerializer,
)
from push.subscriptions import subscription_remove, subscription_store
from push.vapid import push_settings_get


def _contact(request, contact_id) -> Contact:
    contact = Contact.objects.for_workspace(request.workspace).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("No contact with this id in your workspace.")
    return contact


class VapidPublicKeyView(APIView):
    @extend_schema(
        responses={200: PushVapidPublicKeySerializer},
        summary="The workspace's VAPID public key",
        description="The `applicationServerKey` a page passes to `PushManager.subscribe`. The private key "
        "never leaves the server.",
    )
    def get(self, request):
        return Response({"public_key": push_settings_get(workspace=request.workspace).vapid_public_key})


class PushSettingsView(APIView):
    required_role = ADMIN  # which sites may subscribe the workspace's contacts
    @extend_schema(responses={200: PushSettingsSerializer})
    def get(self, request):
        return Response(PushSettingsSerializer(push_settings_get(workspace=request.workspace)).data)

    @extend_schema(
        request=PushSettingsSerializer,
        responses={200: PushSettingsSerializer, **error_responses(400)},
        description="Set the origins whose pages may subscribe (the public endpoint's CORS) and the "
        "VAPID subject.",
    )
    def patch(self, request):
        serializer = PushSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = services.push_settings_update(workspace=request.workspace, **serializer.validated_data)
        return Response(PushSettingsSerializer(updated).data)


class IdentitySecretView(APIView):
    required_role = ADMIN  # the secret that vouches for a contact's identity
    @extend_schema(
        request=None,
        responses={200: PushIdentitySecretSerializer},
        description="Make a new identity secret and show it once (the old one stops working).",
    )
    def post(self, request):
        return Response({"identity_secret": services.identity_secret_rotate(workspace=request.workspace)})


class ContactSubscriptionsView(APIView):
    @extend_schema(responses={200: PushSubscriptionSerializer(many=True)}, summary="The contact's browsers")
    def get(self, request, contact_id: uuid.UUID):
        rows = PushSubscription.objects.filter(contact=_contact(request, contact_id)).order_by("created_at")
        return Response(PushSubscriptionSerializer(rows, many=True).data)

    @extend_schema(
        request=PushSubscriptionInSerializer,
        responses={
            201: PushSubscriptionSerializer,
            200: PushSubscriptionSerializer,
            **error_responses(400, 404),
        },
        summary="Store a browser's push subscription",
        description="Body: the browser's `PushSubscription.toJSON()`. Records push consent (source "
        "`push_subscription`). 201 when new, 200 when the endpoint was known (keys updated, "
        "or moved to this contact). Bad keys (`invalid_push_keys`), an endpoint that is not "
        "https or is on a private, loopback, link-local or metadata address "
        "(`invalid_push_endpoint`): 400.",
    )
    def post(self, request, contact_id: uuid.UUID):
        contact = _contact(request, contact_id)
        serializer = PushSubscriptionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription, created = subscription_store(
            workspace=request.workspace, contact=contact, endpoint=data["endpoint"], p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"], source="api", user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )  # fmt: skip
        return Response(
            PushSubscriptionSerializer(subscription).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ContactSubscriptionView(APIView):
    @extend_schema(responses={204: None, **error_responses(404)}, summary="Remove a browser")
    def delete(self, request, contact_id: uuid.UUID, subscription_id: uuid.UUID):
        contact = _contact(request, contact_id)
        if not PushSubscription.objects.filter(pk=subscription_id, contact=contact).exists():
            raise NotFound("This contact has no push subscription with this id.")
        subscription_remove(subscription_id=subscription_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
