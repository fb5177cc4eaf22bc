"""`/api/v1/webhooks` (CONTRACT §14): subscriptions, their delivery log and replays, sample payloads.

The pair `POST /api/v1/webhooks` and `DELETE /api/v1/webhooks/{id}` is also the REST-hook subscribe and
unsubscribe that Zapier calls (`{target_url, event}` is accepted for `{url, events}`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from penguinflow.common.api import WorkspaceScopedViewSet
from penguinflow.common.errors import InvalidInput, NotFound
from penguinflow.common.pagination import CreatedCursorPagination
from penguinflow.common.schema import error_responses
from webhooks import selectors, services
from webhooks.event_types import type_problem
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.serializers import (
    DeliverySerializer,
    NewSubscriptionSerializer,
    ReplayedSerializer,
    ReplaySinceSerializer,
    RotateSecretSerializer,
    SampleSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
    SubscriptionUpdateSerializer,
)

CONFLICTS = error_responses(409, descriptions={
    409: "A subscription to this URL for these events exists already (`duplicate`)."})
DISABLED = error_responses(409, descriptions={
    409: "The subscription is disabled (`subscription_disabled`): enable it, then replay."})


def _one_parameter(request, name: str) -> str | None:
    """The query parameter ``name`` given at most once (as the filters everywhere else: twice is a 400)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput("A query parameter was given more than once.", details={name: "Give this parameter once."})
    return values[0] if values else None


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                     WorkspaceScopedViewSet):
    model = WebhookSubscription
    serializer_class = SubscriptionSerializer
    filter_backends: list = []

    @extend_schema(request=SubscriptionCreateSerializer, responses={201: NewSubscriptionSerializer, **CONFLICTS},
                   summary="Subscribe an endpoint to event types",
                   description="Answers the signing secret this once. A URL on a private, loopback, link-local or "
                               "metadata address is refused (400 `url_refused`), as is an unknown event type "
                               "(400 `unknown_event_type`).")
    def create(self, request):
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_create(workspace=self.workspace, **serializer.validated_data)
        return Response(NewSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SubscriptionUpdateSerializer, responses={200: SubscriptionSerializer, **CONFLICTS})
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        serializer = SubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_update(subscription=subscription, **serializer.validated_data)
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None}, description="Unsubscribe: the subscription and its delivery log go.")
    def destroy(self, request, pk=None):
        services.subscription_delete(subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RotateSecretSerializer, responses={200: NewSubscriptionSerializer},
                   description="Make a new signing secret and show it once; the current one keeps signing beside "
                               "it (a second `v1,` signature) for `overlap_hours` (default 24).")
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        subscription = self.get_object()  # another workspace's id is a 404 whatever the body
        serializer = RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_rotate_secret(
            subscription=subscription, overlap=timedelta(hours=serializer.validated_data["overlap_hours"]))
        return Response(NewSubscriptionSerializer(subscription).data)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=WebhookDelivery.Status.values,
                                     description="Only deliveries in this status.")],
        responses={200: DeliverySerializer(many=True)},
        description="The subscription's delivery log, newest first, cursor paginated.",
    )
    @action(detail=True, methods=["get"], pagination_class=CreatedCursorPagination)
    def deliveries(self, request, pk=None):
        wanted = _one_parameter(request, "status") or None
        if wanted is not None and wanted not in WebhookDelivery.Status.values:
            raise InvalidInput("Unknown delivery status.",
                               details={"status": f"One of {', '.join(WebhookDelivery.Status.values)}."})
        deliveries = selectors.deliveries_of(subscription=self.get_object(), status=wanted)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: DeliverySerializer, **DISABLED},
                   parameters=[OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   description="Send the delivery again now: a new round of attempts, the same webhook-id and body.")
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9a-fA-F-]{36})/replay")
    def replay_delivery(self, request, pk=None, delivery_id=None):
        subscription = self.get_object()
        try:
            delivery = subscription.deliveries.get(pk=uuid.UUID(delivery_id))
        except (ValueError, WebhookDelivery.DoesNotExist):
            raise NotFound("No delivery of this subscription has that id.") from None
        delivery = services.delivery_replay(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ReplaySinceSerializer, responses={202: ReplayedSerializer, **DISABLED},
                   description="Send again every delivery made since `since` that is no longer pending.")
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        subscription = self.get_object()
        serializer = ReplaySinceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.deliveries_replay_since(subscription=subscription, since=serializer.validated_data["since"])
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("event", str, required=True, description="The event type, e.g. email.opened.")],
        responses={200: SampleSerializer(many=True)},
        description="Recent real events of this type in the envelope a subscription gets, newest first (at most "
                    "3; Zapier's performList).",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def samples(self, request):
        event_type = _one_parameter(request, "event") or ""
        if not event_type or event_type.endswith("*") or type_problem(event_type):
            raise InvalidInput("Name one event type.", details={"event": "One event type, e.g. email.opened."})
        return Response(selectors.samples_of(workspace=self.workspace, event_type=event_type))
