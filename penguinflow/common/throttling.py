from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from penguinflow.common.auth import ApiKeyPrincipal


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Throttle each API key (and each session user) on its own; 429 answers carry Retry-After.

    A key with its own `rate_limit_per_minute` gets that rate instead of the server's default (API_THROTTLE_RATE);
    a logged-in session gets API_SESSION_THROTTLE_RATE.
    """

    scope = "api_key"

    def allow_request(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            if user.rate_limit_per_minute is not None:
                self.num_requests, self.duration = user.rate_limit_per_minute, 60
        elif user and user.is_authenticated:
            # A person in the builder: their own rate (API_SESSION_THROTTLE_RATE), far below what an integration
            # may be given, and still far above what the screens ask for.
            self.num_requests, self.duration = self.parse_rate(settings.API_SESSION_THROTTLE_RATE)
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


class SessionLoginThrottle(SimpleRateThrottle):
    """Throttle password attempts of the builder's JSON login per client address and user name.

    The login is a plain Django view (no DRF view to hang a throttle on): call ``allow_request(request, None)``
    before checking the password, and ``forget(request)`` after a success so that a user who got it right is not
    held back by the typos before. Keyed on both address and name: guessing one user's password from one place is
    slowed without one office's shared address locking out its colleagues.
    """

    scope = "builder_session"

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username.strip().lower()

    def get_cache_key(self, request, view):
        ident = f"{self.get_ident(request)}:{self.username}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def forget(self, request) -> None:
        """Drop the attempts counted for this address and user name."""
        self.cache.delete(self.get_cache_key(request, None))
