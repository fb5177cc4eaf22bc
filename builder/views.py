"""Serve the builder's single-page app (built from frontend/ into static/builder/) to logged-in users.

The app calls /api/v1/ with the session cookie and sends the CSRF token from the `csrftoken` cookie on unsafe
methods, which `ensure_csrf_cookie` guarantees is set.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from csp.constants import UNSAFE_EVAL
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_POST

from penguinflow.common.errors import error_response
from penguinflow.common.throttling import SessionLoginThrottle

LOGIN_URL = "/builder/login"
HOME_URL = "/builder/"


def built_index() -> Path:
    """The built app's index page (`npm run build` in frontend/ writes it; BUILDER_BUILD_DIR moves it in tests)."""
    build_dir = getattr(settings, "BUILDER_BUILD_DIR", None) or Path(settings.BASE_DIR) / "static" / "builder"
    return Path(build_dir) / "index.html"


# The config forms validate with ajv (@rjsf/validator-ajv8), which compiles each node type's JSON Schema into a
# function with `new Function`: without 'unsafe-eval' no form could check its input. Inline scripts stay refused;
# the schemas compiled are the server's node types', never a user's text. (A validator that interprets schemas
# instead of compiling them would let this go; see SECURITY.md, known gaps.)
@csp_update({"script-src": [UNSAFE_EVAL]})
@never_cache
@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def app(request: HttpRequest, route: str = "") -> HttpResponse:
    """Answer every route under /builder/ with the app's index page: the app routes in the browser."""
    index = built_index()
    if not index.exists():
        return HttpResponse(
            "The builder is not built yet. `make run` builds it, or `make frontend` alone (npm ci, the API types "
            "from the OpenAPI schema, npm run build).",
            status=503, content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(index.read_text(encoding="utf-8"), content_type="text/html; charset=utf-8")


class LoginView(auth_views.LoginView):
    template_name = "builder/login.html"
    redirect_authenticated_user = True
    next_page = HOME_URL


class LogoutView(auth_views.LogoutView):
    """Log out on POST only (Django's rule: a link a page embeds must not end a session)."""

    next_page = LOGIN_URL


@require_POST
@csrf_protect
@never_cache
def session_login(request: HttpRequest) -> HttpResponse:
    """Log in from inside the builder, without leaving the page: a session that ended mid-edit is renewed and the
    page retries what it was sending. JSON `{username, password}` → 200 `{username}`, or 400 in the API's error
    format. The CSRF token is checked as the HTML form's is (the `csrftoken` cookie outlives the session). A few
    attempts a minute per address and user name, then 429 with Retry-After (a password cannot be guessed here)."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("username", "password")):
        return error_response(400, "validation_error", "Give a user name and a password.",
                              {"username": "A string is required.", "password": "A string is required."})
    throttle = SessionLoginThrottle(body["username"])
    if not throttle.allow_request(request, None):
        return _throttled(throttle.wait())
    form = AuthenticationForm(request, data={"username": body["username"], "password": body["password"]})
    if not form.is_valid():
        return error_response(400, "invalid_credentials",
                              "That user name and password do not match. Check them and try again.")
    throttle.forget(request)
    auth_login(request, form.get_user())
    return JsonResponse({"username": form.get_user().get_username()})


def _throttled(wait: float | None) -> HttpResponse:
    seconds = max(1, math.ceil(wait or 1))
    response = error_response(429, "throttled",
                              f"Too many login attempts. Wait {seconds} seconds, then try again.")
    response["Retry-After"] = str(seconds)
    return response
