"""The SMS providers, chosen by `SMS_URL` (CONTRACT §13): `console://` (development: printed, not sent),
`twilio://ACCOUNT_SID:AUTH_TOKEN@` (Twilio's API host) or `twilio+http://ACCOUNT_SID:AUTH_TOKEN@host:port`
(`twilio+https://` too: a Twilio-compatible server). The sender is `SMS_FROM`: a number, or a Messaging Service
SID ("MG...").

Twilio is spoken through its HTTP API with urllib3 (a dependency already; the `twilio` package would add a
client, aiohttp and more for one POST). The provider is the operator's own configuration, not a user's URL, so
the outbound SSRF guard does not apply. urllib3 never retries here: a POST sent twice is an SMS sent twice.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError

from penguinflow.outbound.retry_after import retry_after_of

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
Verdict = Literal["retry", "fail", "unknown"]


@dataclass(frozen=True)
class Outgoing:
    """One message as the provider receives it; `callback` is our status callback URL (None: none asked)."""

    row_id: uuid.UUID
    to: str
    sender: str
    body: str
    callback: str | None


class SendError(Exception):
    """A hand-off that did not succeed; `verdict` says whether it may have been sent (`unknown`), may succeed
    later (`retry`) or never will (`fail`); `code` is the provider's error code when it gave one; `retry_after`
    the wait the provider asked for (a 429's or 503's Retry-After), which a retry must not come before."""

    def __init__(
        self, message: str, *, verdict: Verdict, code: str | None = None, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.verdict, self.code, self.retry_after = verdict, code, retry_after


class SmsBackend(Protocol):
    name: str

    def send(self, message: Outgoing) -> str:
        """Hand `message` over; return the provider's message id. Raise SendError."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ProviderConfig:
    """What `SMS_URL` says: the scheme, and for Twilio the account, its token and the API's base URL."""

    scheme: Literal["console", "twilio"]
    account_sid: str = ""
    auth_token: str = ""
    base_url: str = ""


def provider_config(url: str) -> ProviderConfig:
    """Parse `SMS_URL`; ImproperlyConfigured when it cannot be used (a typo fails at start-up)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return ProviderConfig("console")
    if scheme in {"twilio", "twilio+http", "twilio+https"}:
        sid, token = unquote(parts.username or ""), unquote(parts.password or "")
        if not sid or not token:
            raise ImproperlyConfigured(
                "SMS_URL: a Twilio URL needs ACCOUNT_SID:AUTH_TOKEN@ (twilio://AC...:token@)."
            )
        if scheme == "twilio":
            base = TWILIO_API
        elif not parts.hostname:
            raise ImproperlyConfigured(
                f"SMS_URL: {scheme}:// needs a host and port (twilio+http://SID:TOKEN@host:port)."
            )
        else:
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            base = f"{scheme.removeprefix('twilio+')}://{host}{f':{parts.port}' if parts.port else ''}"
        return ProviderConfig("twilio", account_sid=sid, auth_token=token, base_url=base)
    raise ImproperlyConfigured(
        f"SMS_URL: unknown scheme '{parts.scheme}' (console, twilio, twilio+http, twilio+https)."
    )


@cache
def _configured(url: str) -> ProviderConfig:
    return provider_config(url)


def current_provider() -> ProviderConfig:
    return _configured(settings.SMS_URL)


def status_callback_url(row_id) -> str | None:
    """The URL the provider posts this message's status changes to (None for the console, or when turned off).
    It names our row, so that even a message whose hand-off was never recorded (`unknown`) is found again."""
    if current_provider().scheme == "console" or not settings.SMS_STATUS_CALLBACKS:
        return None
    return f"{settings.PUBLIC_BASE_URL}/hooks/sms/twilio/status?m={row_id}"


def open_backend(*, connections: int = 1) -> SmsBackend:
    """A backend for the configured provider, with up to `connections` kept side by side (one per thread)."""
    config = current_provider()
    if config.scheme == "console":
        return ConsoleBackend()
    return TwilioBackend(config, connections=connections)


class ConsoleBackend:
    """Development: writes each message to standard output and says it was sent."""

    name = "console"
    _ids = itertools.count(1)

    def send(self, message: Outgoing) -> str:
        sys.stdout.write(f"SMS {message.sender or '-'} → {message.to}\n{message.body}\n{'-' * 40}\n")
        sys.stdout.flush()
        return f"console-{message.row_id}"

    def close(self) -> None:
        pass


class TwilioBackend:
    """Twilio's Messages API: POST /2010-04-01/Accounts/{sid}/Messages.json, HTTP basic auth, form-encoded."""

    name = "twilio"

    def __init__(self, config: ProviderConfig, *, connections: int = 1) -> None:
        self.config = config
        self.url = f"{config.base_url}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        token = base64.b64encode(f"{config.account_sid}:{config.auth_token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        # One pool per delivery job, closed after it: a connection kept idle between jobs may have been closed by
        # the server, and a POST on it fails in a way that cannot tell "not received" from "received".
        self.pool = urllib3.PoolManager(
            num_pools=1,
            maxsize=max(1, connections),
            block=True,
            retries=False,
            timeout=urllib3.Timeout(connect=5, read=settings.SMS_TIMEOUT_SECONDS),
        )

    def send(self, message: Outgoing) -> str:
        fields = {"To": message.to, "Body": message.body}
        fields["MessagingServiceSid" if message.sender.startswith("MG") else "From"] = message.sender
        if message.callback:
            fields["StatusCallback"] = message.callback
        try:
            response = self.pool.request("POST", self.url, fields=fields, headers=self.headers,
                                         encode_multipart=False)  # fmt: skip
        except (NewConnectionError, ConnectTimeoutError) as error:
            raise SendError(f"The provider could not be reached: {error}", verdict="retry") from error
        except (
            ReadTimeoutError,
            ProtocolError,
        ) as error:  # the request went out; its answer did not come back
            raise SendError(f"The provider's answer was lost: {error}", verdict="unknown") from error
        except urllib3.exceptions.HTTPError as error:
            raise SendError(f"The request failed: {error}", verdict="unknown") from error
        return _twilio_answer(response.status, response.data, retry_after=response.headers.get("Retry-After"))

    def close(self) -> None:
        self.pool.clear()


# Twilio error codes that no retry will change (https://www.twilio.com/docs/api/errors).
# The longest a provider's Retry-After holds an SMS back: past a day it is read as a day.
MAX_RETRY_AFTER = timedelta(days=1)
_PERMANENT_CODES = {"21211", "21408", "21610", "21612", "21614", "21617", "30003", "30004", "30005", "30006"}


def _twilio_answer(status: int, data: bytes, *, retry_after: str | None = None) -> str:
    """Return the message SID of a 2xx answer; raise SendError with the verdict of any other (and the wait its
    Retry-After header asks for)."""
    try:
        document = json.loads(data or b"{}")
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    if 200 <= status < 300:
        sid = document.get("sid")
        if not isinstance(sid, str) or not sid:
            raise SendError(f"The provider answered {status} without a message sid.", verdict="unknown")
        return sid
    code = str(document.get("code") or "") or None
    text = f"The provider refused the message ({status}{f', error {code}' if code else ''}): "
    text += str(document.get("message") or data[:300].decode(errors="replace"))
    if status == 429 or status in {502, 503, 504}:
        verdict: Verdict = "retry"  # throttled, or a gateway that never passed the request on
    elif status >= 500:
        verdict = "unknown"  # the provider may have created the message before failing
    elif status in {401, 403, 404} and code not in _PERMANENT_CODES:
        verdict = "retry"  # our credentials or account are wrong: fixing the configuration lets it through
    else:
        verdict = "fail"
    raise SendError(text, verdict=verdict, code=code, retry_after=retry_after_of(retry_after, cap=MAX_RETRY_AFTER))
