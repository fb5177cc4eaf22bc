"""`POST /api/v1/sms/segments`: how an SMS text travels (GSM-7 or UCS-2, how many segments), for the builder's
send_sms form as the marketer types. The node test (`POST /api/v1/node-types/send_sms/test`) says the same of
the text rendered for a contact."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.fields import StrictCharField
from penguinflow.common.schema import error_responses
from sms.segments import MAX_CHARACTERS, sms_shape

__all__ = ["SmsSegmentsView"]


class SmsSegmentsRequestSerializer(serializers.Serializer):
    # Longer than any sendable SMS, so that a text over the limit is answered with its count, not refused.
    text = StrictCharField(allow_blank=True, trim_whitespace=False, max_length=4 * MAX_CHARACTERS)


class SmsSegmentsAnswerSerializer(serializers.Serializer):
    encoding = serializers.ChoiceField(choices=["GSM-7", "UCS-2"])
    segments = serializers.IntegerField()
    characters = serializers.IntegerField()
    units = serializers.IntegerField(help_text="Septets (GSM-7) or UTF-16 code units (UCS-2).")
    non_gsm = serializers.ListField(child=serializers.CharField(), help_text="Characters that forced UCS-2.")
    too_long = serializers.BooleanField(help_text="Over max_segments or max_characters: the step would fail.")
    max_segments = serializers.IntegerField()
    max_characters = serializers.IntegerField()


class SmsSegmentsView(APIView):
    """Count a text's SMS encoding and segments; changes nothing."""

    api_key_scope = "read"

    @extend_schema(
        request=SmsSegmentsRequestSerializer,
        responses={200: SmsSegmentsAnswerSerializer, **error_responses(400)},
        examples=[
            OpenApiExample("A text", request_only=True, value={"text": "Hi Zoë, your order has shipped."})
        ],
    )
    def post(self, request):
        serializer = SmsSegmentsRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(sms_shape(serializer.validated_data["text"]).as_dict())
