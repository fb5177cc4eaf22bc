"""Tracking and unsubscribe tokens, link rewriting and scanner detection (CONTRACT §10).

A token is `django.core.signing` over the outbox id (22 characters of base64) and, for clicks, the index of the
link in the outbox row's `links`. Each kind has its own salt, so an open token is no click token. The redirect
target is always read from the row: nothing in the request can choose it.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing

from penguinflow.common.tokens import b64, sign

OPEN, CLICK, UNSUBSCRIBE, PREFERENCES = "open", "click", "unsubscribe", "preferences"

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_TEXT_URL = re.compile(r"""https?://[^\s<>"')\]]+""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)

TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _signer(kind: str) -> signing.Signer:
    return signing.Signer(salt=f"{settings.EMAIL_TOKEN_SALT}:{kind}")


_b64 = b64


class MessageTokens:
    """The signed, opaque tokens of one message (and of its links, for clicks) and the URLs that carry them.

    A token is exactly `_signer(kind).sign(value)` (so `read_token` verifies it, with SECRET_KEY_FALLBACKS),
    computed with the message id encoded, the keys derived and the settings read once per message: a send
    signs five to ten of them, and this is the hot path.
    """

    __slots__ = ("_base", "_salt", "_secret", "_value")

    def __init__(self, message_id: uuid.UUID) -> None:
        self._value = _b64(message_id.bytes)
        self._salt, self._secret = settings.EMAIL_TOKEN_SALT, settings.SECRET_KEY
        self._base = settings.PUBLIC_BASE_URL

    def token(self, kind: str, index: int | None = None) -> str:
        value = self._value if index is None else f"{self._value}.{index}"
        return sign(f"{self._salt}:{kind}", value, secret=self._secret)

    def open_url(self) -> str:
        return f"{self._base}/t/o/{self.token(OPEN)}.gif"

    def click_url(self, index: int) -> str:
        return f"{self._base}/t/c/{self.token(CLICK, index)}"

    def unsubscribe_url(self, token: str | None = None) -> str:
        """The one-click unsubscribe URL (of `token`, when the caller has signed it already)."""
        return f"{self._base}/u/{token or self.token(UNSUBSCRIBE)}"


def make_token(kind: str, message_id: uuid.UUID, index: int | None = None) -> str:
    """Return the opaque, signed token of a message (and link index, for clicks)."""
    return MessageTokens(message_id).token(kind, index)


def read_token(kind: str, token: str) -> tuple[uuid.UUID, int | None] | None:
    """Return (message id, link index or None) of a valid token of this kind, else None (forged, other kind)."""
    if not token or len(token) > 200:
        return None
    try:
        value = _signer(kind).unsign(token)
    except signing.BadSignature:
        return None
    raw, _, index = value.partition(".")
    try:
        message_id = uuid.UUID(bytes=base64.urlsafe_b64decode(raw + "=="))
        return message_id, (int(index) if index else None)
    except (ValueError, TypeError):
        return None


def preferences_token(contact_id: uuid.UUID) -> str:
    """Return the signed, opaque token of a contact's preference page (it never expires, like an unsubscribe
    link: an old email's link must still work). Exactly what `_signer(PREFERENCES).sign` gives, from a cached key:
    every message's variables carry it."""
    return sign(f"{settings.EMAIL_TOKEN_SALT}:{PREFERENCES}", _b64(contact_id.bytes))


def read_preferences_token(token: str) -> uuid.UUID | None:
    """Return the contact id of a valid preference token, else None (forged, or a token of another kind)."""
    if not token or len(token) > 200:
        return None
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(_signer(PREFERENCES).unsign(token) + "=="))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def preferences_url(contact_id: uuid.UUID) -> str:
    return public_url(f"/p/{preferences_token(contact_id)}")


def public_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


@dataclass(frozen=True)
class Tracked:
    html: str
    text: str
    links: list[str]


def apply_tracking(
    *, tokens: MessageTokens, html: str, text: str, track_opens: bool, track_clicks: bool, keep: set[str]
) -> Tracked:
    """Rewrite every http(s) link of both parts to a click token (links in `keep` stay), add the open pixel.

    The same URL gets the same index in both parts; `links[i]` is what `/t/c/<token of i>` redirects to.
    """
    links: list[str] = []
    tracked_url: dict[str, str] = {}  # link → its click URL; the same link has one index in both parts

    def tracked(url: str) -> str | None:
        if not url.lower().startswith(("http://", "https://")) or url in keep:
            return None
        if url not in tracked_url:
            tracked_url[url] = tokens.click_url(len(links))
            links.append(url)
        return tracked_url[url]

    if track_clicks:

        def replace_href(match: re.Match) -> str:
            url = html_lib.unescape(match.group(3)).strip()
            new = tracked(url)
            if new is None:
                return match.group(0)
            return f"{match.group(1)}{match.group(2)}{html_lib.escape(new)}{match.group(2)}"

        def replace_text(match: re.Match) -> str:
            url = match.group(0).rstrip(".,;:!?")
            trailing = match.group(0)[len(url) :]
            new = tracked(url)
            return (new + trailing) if new else match.group(0)

        html = _HREF.sub(replace_href, html)
        text = _TEXT_URL.sub(replace_text, text)
    if track_opens and html:
        pixel = (
            f'<img src="{html_lib.escape(tokens.open_url())}" width="1" height="1" alt="" '
            'style="display:block;width:1px;height:1px;border:0" />'
        )
        ends = list(_BODY_END.finditer(html))
        at = ends[-1].start() if ends else len(html)
        html = f"{html[:at]}{pixel}{html[at:]}"
    return Tracked(html=html, text=text, links=links)


# Apple Mail Privacy Protection fetches every image of a message through Apple's proxy when the mail arrives,
# whether or not anyone reads it; its requests carry this bare user agent (a person's Mail shows a full one).
MACHINE_OPEN_USER_AGENTS = frozenset({"mozilla/5.0"})


def machine_open_reason(user_agent: str) -> str | None:
    """Return why an open looks like a mail client's automatic fetch rather than a person's reading, or None.

    Such an open still counts as an open (the message was delivered and loaded), but it says nothing about when
    the contact reads: send-time optimization leaves it out (``flags.machine_open``)."""
    if (user_agent or "").strip().lower() in MACHINE_OPEN_USER_AGENTS:
        return "apple_mail_privacy_protection"
    return None


def bot_reason(*, method: str, user_agent: str, sent_at: datetime | None, now: datetime, click: bool) -> str | None:
    """Return why a tracking hit looks like a scanner or a prefetch (HEAD, known agent, instant click), or None."""
    if method == "HEAD":
        return "head_request"
    agent = (user_agent or "").lower()
    if not agent:
        return "no_user_agent"
    for marker in settings.EMAIL_SCANNER_USER_AGENTS:
        if marker.lower() in agent:
            return f"scanner_user_agent:{marker}"
    if click and sent_at is not None and now - sent_at <= timedelta(seconds=settings.EMAIL_SCANNER_CLICK_SECONDS):
        return "click_right_after_delivery"
    return None
