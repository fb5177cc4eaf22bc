"""Tracking pixel, click redirect and unsubscribe pages (CONTRACT §10). No login, no cookie, no CSRF token.

Unknown or tampered tokens answer 404 and write nothing. The click redirect goes only to the link stored when
the email was sent.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from templates import engagement, tracking

_NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0"


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token: str):
    known, _ = engagement.email_track(
        kind=tracking.OPEN, token=token, method=request.method, user_agent=_user_agent(request)
    )
    if not known:
        raise Http404
    response = HttpResponse(tracking.TRANSPARENT_GIF, content_type="image/gif")
    response["Cache-Control"] = _NO_STORE
    return response


@require_http_methods(["GET", "HEAD"])
def click(request, token: str):
    known, url = engagement.email_track(
        kind=tracking.CLICK, token=token, method=request.method, user_agent=_user_agent(request)
    )
    if not known or not url:
        raise Http404
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = _NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}
button{{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(format_html(_PAGE, title=title, body=body), status=status)
    response["Cache-Control"] = _NO_STORE
    response["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def unsubscribe(request, token: str):
    """GET shows a confirmation page with a button and changes nothing; POST (RFC 8058 one-click) unsubscribes."""
    if token == "preview":
        return _page("Unsubscribe", format_html("<p>{}</p>", "This is the unsubscribe link of a preview."))
    message = engagement.outbox_for_unsubscribe_token(token)
    if message is None:
        raise Http404
    if request.method == "POST":
        engagement.email_unsubscribe(message=message)
        return _page(
            "You are unsubscribed",
            format_html("<p>{} will not receive these emails any more.</p>", message.contact.email),
        )
    return _page(
        "Unsubscribe",
        format_html(
            '<p>Stop receiving these emails at {}?</p><form method="post" action="">'
            '<button type="submit">Unsubscribe</button></form>',
            message.contact.email,
        ),
    )
