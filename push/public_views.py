"""Public routes of web push: the click redirect, the endpoints a website's script calls (CORS limited to the
workspace's allowed origins), and the script and service worker the project serves. No login, no cookie."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError
from rest_framework.throttling import SimpleRateThrottle

from penguinflow.common.errors import DomainError, error_response, flatten_errors
from push import engagement
from push.models import PushSubscription
from push.serializers import PushSiteSubscribeSerializer, PushSiteUnsubscribeSerializer
from push.subscriptions import subscription_remove, subscription_store


class SiteThrottle(SimpleRateThrottle):
    """Writes through a site's public endpoints, per client address and site (PUSH_SITE_RATE, default 60/min):
    each one resolves a host and locks a contact, which nobody should be able to ask for in bulk."""

    scope = "push_site"

    def __init__(self, site_key: str) -> None:
        self.rate = settings.PUSH_SITE_RATE
        super().__init__()
        self.site_key = site_key

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{self.get_ident(request)}:{self.site_key}",
        }


_NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0"
_SCRIPTS = Path(__file__).resolve().parent / "scripts"


@require_http_methods(["GET", "HEAD"])
def click(request, token: str):
    url = engagement.push_click(
        token=token, method=request.method, user_agent=request.META.get("HTTP_USER_AGENT", "")
    )
    if not url:
        raise Http404
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = _NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response


def _cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    response["Cache-Control"] = _NO_STORE
    return response


def _site_call(request, site_key: str, handle):
    """Run `handle(push_settings, body)` for an allowed origin, answering the preflight and errors with CORS."""
    origin = request.META.get("HTTP_ORIGIN")
    try:
        push_settings = engagement.site_settings(site_key)
        engagement.origin_check(push_settings, origin)
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "600"
            return _cors(response, origin)
        body = None
        if request.method == "POST":
            throttle = SiteThrottle(site_key)
            if not throttle.allow_request(request, None):
                wait = max(1, int(throttle.wait() or 1))
                response = error_response(429, "throttled", f"Too many requests: try again in {wait} s.")
                response["Retry-After"] = str(wait)
                return _cors(response, origin)
            try:
                body = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                return _cors(error_response(400, "parse_error", "The body is not valid JSON."), origin)
        return _cors(handle(push_settings, body), origin)
    except DomainError as error:
        allowed = (
            origin if not isinstance(error, engagement.OriginNotAllowed) and error.status != 404 else None
        )
        return _cors(error_response(error.status, error.code, error.message, error.details), allowed)
    except ValidationError as error:
        return _cors(
            error_response(
                400, "validation_error", "The request is not valid.", flatten_errors(error.detail)
            ),
            origin,
        )


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
def site(request, site_key: str):
    """`GET /push/sites/<site key>`: the VAPID public key the page subscribes with."""
    return _site_call(
        request,
        site_key,
        lambda push_settings, _: JsonResponse({"vapid_public_key": push_settings.vapid_public_key}),
    )


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def site_subscribe(request, site_key: str):
    """`POST /push/sites/<site key>/subscriptions` `{subscription, email, signature}` → 201 (200 if known)."""

    def handle(push_settings, body):
        serializer = PushSiteSubscribeSerializer(data=body if isinstance(body, dict) else {})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = engagement.visitor_contact(push_settings, email=data["email"], signature=data["signature"])
        subscription, created = subscription_store(
            workspace=push_settings.workspace, contact=contact, endpoint=data["subscription"]["endpoint"],
            p256dh=data["subscription"]["keys"]["p256dh"], auth=data["subscription"]["keys"]["auth"],
            source="website", user_agent=request.META.get("HTTP_USER_AGENT", ""),
            proof={"origin": request.META.get("HTTP_ORIGIN", "")},
        )  # fmt: skip
        return JsonResponse({"id": str(subscription.pk)}, status=201 if created else 200)

    return _site_call(request, site_key, handle)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def site_unsubscribe(request, site_key: str):
    """`POST /push/sites/<site key>/unsubscribe` `{endpoint}` → 204: the browser's own endpoint is the proof."""

    def handle(push_settings, body):
        serializer = PushSiteUnsubscribeSerializer(data=body if isinstance(body, dict) else {})
        serializer.is_valid(raise_exception=True)
        found = PushSubscription.objects.filter(
            workspace=push_settings.workspace, endpoint=serializer.validated_data["endpoint"]
        ).first()
        if found is not None:
            subscription_remove(subscription_id=found.pk, reason="unsubscribed")
        return HttpResponse(status=204)

    return _site_call(request, site_key, handle)


def _script(name: str):
    @require_http_methods(["GET", "HEAD"])
    def serve(request):
        response = HttpResponse((_SCRIPTS / name).read_bytes(), content_type="text/javascript; charset=utf-8")
        response["Cache-Control"] = "public, max-age=300"
        response["Access-Control-Allow-Origin"] = "*"  # public code; lets a service worker fetch it too
        return response

    return serve


script = _script("penguinflow-push.js")
service_worker = _script("penguinflow-push-sw.js")
