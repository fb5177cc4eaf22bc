from __future__ import annotations

from django.conf import settings

from penguinflow.common.errors import error_response


class BodySizeLimitMiddleware:
    """Refuse over-long bodies with 413 in the contract's format before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH")
        if length:
            try:
                size = int(length)
            except ValueError:
                return error_response(400, "bad_request", "The Content-Length header is not a number.")
            limit = self.limit_for(request.path)
            if size > limit:
                return error_response(
                    413,
                    "payload_too_large",
                    f"The request body is {size} bytes; this endpoint takes at most {limit} bytes.",
                    {"limit_bytes": limit},
                )
        return self.get_response(request)

    @staticmethod
    def limit_for(path: str) -> int:
        for prefix, limit in settings.BODY_SIZE_LIMITS.items():
            if path.rstrip("/") == prefix or path.startswith(prefix + "/"):
                return limit
        return settings.BODY_SIZE_LIMIT_DEFAULT
