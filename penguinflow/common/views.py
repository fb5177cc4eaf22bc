from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from penguinflow.common.errors import error_response


def home(request):
    return redirect("/api/docs/")


def healthz(request):
    """Answer 200 when PostgreSQL and Redis both answer; used by docker-compose and load balancers."""
    import django_rq

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["postgres"] = "ok"
    except Exception as exc:  # a health check reports, it does not raise
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        django_rq.get_connection("default").ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    if request.GET.get("plain"):
        return HttpResponse("ok" if healthy else "unhealthy", status=200 if healthy else 503)
    return JsonResponse({"status": "ok" if healthy else "unhealthy", "checks": checks}, status=200 if healthy else 503)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Answer any request under /api/ that no route takes with the contract's JSON 404, whatever the method.

    Django's own 404 is an HTML page when DEBUG is on (and handler404 is skipped then). A route that exists with
    a trailing slash still redirects there, as CommonMiddleware's APPEND_SLASH did before this route took all.
    """
    if settings.APPEND_SLASH and request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return error_response(404, "not_found", f"No endpoint at {request.path}: see /api/docs/ for the API.")


class _JSONErrors:
    """Answer errors in JSON even on views whose renderers are not (YAML schema, HTML docs): a 405 or 401 is
    the API's answer, in the contract's format."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        answer = JsonResponse(response.data, status=response.status_code)
        for name in ("Allow", "WWW-Authenticate", "Retry-After"):
            if name in response:
                answer[name] = response[name]
        return answer


class SchemaView(_JSONErrors, SpectacularAPIView):
    pass


class SwaggerView(_JSONErrors, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served as a file of its own (the plain view inlines it, which the
    Content-Security-Policy refuses)."""


# Redoc styles itself with <style> elements it writes at run time and searches in a worker made from a blob:
# on this one page, inline styles and blob: workers are allowed. Its scripts are still our own files only.
@method_decorator(csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]}), name="dispatch")
class RedocView(_JSONErrors, SpectacularRedocView):
    pass
