"""Tracking pixel, click redirect, unsubscribe and preference pages (CONTRACT §10, §13). No login, no cookie, no
CSRF token.

Unknown or tampered tokens answer 404 and write nothing. The click redirect goes only to the link stored when
the email was sent.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts.models import Contact
from templates import engagement, tracking
from templates import preferences as preference_pages

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
<style nonce="{nonce}">body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}
button{{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _page(request, title: str, body: str, status: int = 200) -> HttpResponse:
    # The page's one style element carries the response's CSP nonce (no inline style runs without it).
    response = HttpResponse(format_html(_PAGE, title=title, body=body, nonce=request.csp_nonce), status=status)
    response["Cache-Control"] = _NO_STORE
    response["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def unsubscribe(request, token: str):
    """GET shows a confirmation page with a button and changes nothing; POST (RFC 8058 one-click) unsubscribes."""
    if token == "preview":
        return _page(request, "Unsubscribe", format_html("<p>{}</p>", "This is the unsubscribe link of a preview."))
    message = engagement.outbox_for_unsubscribe_token(token)
    if message is None:
        raise Http404
    if request.method == "POST":
        engagement.email_unsubscribe(message=message)
        return _page(
            request,
            "You are unsubscribed",
            format_html("<p>{} will not receive these emails any more.</p>", message.contact.email),
        )
    return _page(
        request,
        "Unsubscribe",
        format_html(
            '<p>Stop receiving these emails at {}?</p><form method="post" action="">'
            '<button type="submit">Unsubscribe</button></form>',
            message.contact.email,
        ),
    )


@csrf_exempt  # the signed token in the URL is the authority, as for unsubscribe; there is no session to ride
@require_http_methods(["GET", "POST", "HEAD"])
def preferences(request, token: str):
    """The contact's page of channels, topics and preferred channel; GET shows it, POST saves it."""
    contact_id = tracking.read_preferences_token(token)
    contact = Contact.objects.select_related("workspace").filter(pk=contact_id).first() if contact_id else None
    if contact is None:
        raise Http404
    saved = False
    if request.method == "POST":
        proof = {"ip": request.META.get("REMOTE_ADDR", ""), "user_agent": _user_agent(request), "page": "preferences"}
        contact = preference_pages.preferences_save(contact=contact, form=request.POST, proof=proof)
        saved = True
    return _page(request, "Your preferences", _preferences_form(preference_pages.preferences_of(contact), saved))


def _preferences_form(current, saved: bool) -> str:
    channels = format_html_join(
        "", '<p><label><input type="checkbox" name="channel_{}"{}> {} <small>({})</small></label></p>',
        ((choice.channel, mark_safe(" checked") if choice.subscribed else "", choice.label, choice.address)
         for choice in current.channels))
    topics = format_html_join(
        "", '<p><label><input type="checkbox" name="topic_{}"{}> {}</label></p>',
        ((topic_id, mark_safe(" checked") if wanted else "", label) for topic_id, label, wanted in current.topics))
    preferred = format_html_join(
        "", '<option value="{}"{}>{}</option>',
        ((choice.channel, mark_safe(" selected") if current.preferred == choice.channel else "", choice.label)
         for choice in current.channels))
    return format_html(
        '{}<form method="post" action=""><fieldset><legend>Reach me by</legend>{}</fieldset>{}'
        '<p><label>Preferred channel <select name="preferred"><option value="">No preference</option>{}</select>'
        '</label></p><button type="submit">Save my preferences</button></form>',
        format_html('<p role="status">{}</p>', "Your preferences are saved.") if saved else "",
        channels,
        format_html("<fieldset><legend>Tell me about</legend>{}</fieldset>", topics) if current.topics else "",
        preferred,
    )
