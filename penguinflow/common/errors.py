"""Domain errors and the one place that maps every error to the contract's format (CONTRACT §2).

Domain code raises the `DomainError` subclasses below and never imports DRF; the API's exception handler, the
404/500 views and the body-size middleware all answer `{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class InvalidInput(DomainError):
    status = 400
    code = "validation_error"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class NotPermitted(DomainError):
    """The caller's role does not allow this (403); the message names the role it needs."""

    status = 403
    code = "permission_denied"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


class NotAllowedNow(DomainError):
    status = 422
    code = "unprocessable"


def storable_error_line(error: BaseException, *, limit: int = 2000) -> str:
    """The error as one line PostgreSQL can store (no NUL, no lone surrogate): `Type: message`, cut at `limit`."""
    text = f"{type(error).__name__}: {error}"[:limit].replace("\x00", "\\0")
    return text.encode("utf-8", "replace").decode("utf-8")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, str]:
    """Turn DRF's nested error detail into `{"field.path[0].sub": "message"}`."""
    flat: dict[str, str] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                path = prefix or "non_field_errors"
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
    elif isinstance(detail, list):
        if detail and all(not isinstance(item, (dict, list)) for item in detail):
            flat[prefix or "non_field_errors"] = " ".join(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item in ({}, [], None):
                    continue
                flat.update(flatten_errors(item, f"{prefix}[{index}]"))
    else:
        flat[prefix or "non_field_errors"] = str(detail)
    return flat


_DRF_CODES = {
    drf.NotAuthenticated: ("not_authenticated", "Authentication is required: send 'Authorization: Bearer <api key>'."),
    drf.AuthenticationFailed: ("authentication_failed", None),
    drf.PermissionDenied: ("permission_denied", None),
    drf.NotFound: ("not_found", "Not found."),
    drf.MethodNotAllowed: ("method_not_allowed", None),
    drf.NotAcceptable: ("not_acceptable", None),
    drf.UnsupportedMediaType: ("unsupported_media_type", None),
    drf.ParseError: ("malformed_json", None),
    drf.Throttled: ("throttled", None),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map every exception a view raises to the contract's error body; unexpected ones become a bare 500."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, PermissionDenied):
        return Response(error_body("permission_denied", "You do not have permission to do this."), status=403)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": " ".join(exc.messages)}
        details = {key: " ".join(value) if isinstance(value, list) else str(value) for key, value in details.items()}
        return Response(error_body("validation_error", "The request is not valid.", details), status=400)
    if isinstance(exc, drf.ValidationError):
        details = flatten_errors(exc.detail)
        return Response(error_body("validation_error", "The request is not valid.", details), status=400)
    if isinstance(exc, drf.APIException):
        code, message = next(
            ((c, m) for klass, (c, m) in _DRF_CODES.items() if isinstance(exc, klass)),
            (exc.default_code or "error", None),
        )
        text = message or (str(exc.detail) if not isinstance(exc.detail, (dict, list)) else str(exc.default_detail))
        if isinstance(exc, drf.ParseError):
            text = f"The request body is not valid JSON: {exc.detail}"
        response = Response(error_body(code, text), status=exc.status_code)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            response["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        return response
    logger.exception("Unhandled error in an API view", exc_info=exc)
    return Response(error_body("server_error", "Something went wrong on our side; it has been logged."), status=500)


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def not_found_view(request, exception=None):
    if is_api_path(request.path):
        return error_response(404, "not_found", f"No endpoint at {request.path}.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error_view(request):
    if is_api_path(request.path):
        return error_response(500, "server_error", "Something went wrong on our side; it has been logged.")
    from django.views.defaults import server_error

    return server_error(request)


def bad_request_view(request, exception=None):
    if is_api_path(request.path):
        return error_response(400, "bad_request", "The request could not be understood.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)
