"""The provider's callbacks (CONTRACT §13): `POST /hooks/sms/twilio/status` and `/hooks/sms/twilio/inbound`, each
refused with 403 unless `X-Twilio-Signature` signs it with our auth token."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from penguinflow.common.errors import error_response
from sms.backends import current_provider
from sms.callbacks import sms_inbound_record, sms_status_record
from sms.signatures import twilio_signature_valid

# An empty TwiML answer: Twilio sends nothing back to the person (the carrier confirms STOP and START itself).
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer to a callback we must not act on (not Twilio, or not signed by it); None when it may go on."""
    provider = current_provider()
    if provider.scheme != "twilio":
        return error_response(
            404, "not_found", "SMS_URL names no Twilio-compatible provider: no callbacks here."
        )
    params = [(name, value) for name, values in request.POST.lists() for value in values]
    urls = [request.build_absolute_uri(), f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not twilio_signature_valid(
        auth_token=provider.auth_token, urls=urls, params=params, signature=signature
    ):
        return error_response(
            403,
            "invalid_signature",
            "X-Twilio-Signature does not sign this request with the account's auth token.",
        )
    return None


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    refused = _refusal(request)
    if refused is not None:
        return refused
    sms_status_record(params=request.POST.dict(), message_hint=request.GET.get("m"))
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    refused = _refusal(request)
    if refused is not None:
        return refused
    sms_inbound_record(params=request.POST.dict())
    return HttpResponse(_EMPTY_TWIML, content_type="text/xml")
