from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from penguinflow.common.auth import ApiKeyPrincipal


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Throttle each API key (and each session user) on its own; 429 answers carry Retry-After.

    A key with its own `rate_limit_per_minute` gets that rate instead of the server's default (API_THROTTLE_RATE).
    """

    scope = "api_key"

    def allow_request(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiKeyPrincipal) and user.rate_limit_per_minute is not None:
            self.num_requests, self.duration = user.rate_limit_per_minute, 60
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            ident = f"key:{user.key_id}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
