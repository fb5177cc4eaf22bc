from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect


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
