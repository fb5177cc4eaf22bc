"""`Idempotency-Key` on every change under /api/v1/ (CONTRACT §14), as Stripe does it, in one middleware.

A POST, PUT, PATCH or DELETE that carries the header is run once per (sender, key) for a day:

- the first request claims the key (a unique row, inserted and committed before the request runs), runs, and
  its answer (status, content type, body) is stored on the row;
- a repeat with the same method, path and body gets the stored answer, with `Idempotent-Replayed: true`, and
  nothing runs again;
- the same key with another method, path or body is a 409 `idempotency_key_reused`;
- a repeat that arrives while the first still runs finds the claim and is a 409 `idempotency_key_in_use` (with
  Retry-After): two requests never both run.

The sender is the API key (or the session's user): keys of different keys never meet. An answer that says the
request did not run (401, 403, 429, a 5xx) is not kept: the claim is released, so a retry runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from penguinflow.common.auth import principal_for_key
from penguinflow.common.errors import error_response
from penguinflow.workspaces.models import IdempotentRequest

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
# A claim whose request has not answered after this long belongs to a process that died mid-request: a repeat
# may take it over (far longer than any request of this API may run).
STALE_CLAIM = timedelta(minutes=5)
MAX_STORED_BODY = 1024 * 1024
KEY_PATTERN = re.compile(r"[!-~]{1,255}")  # printable ASCII, no spaces
_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NOT_RUN = frozenset({401, 403, 429})


@dataclass(frozen=True)
class Claim:
    """What a request with a key found: `run` (it holds the claim), else the answer to give instead."""

    row: IdempotentRequest | None
    answer: HttpResponse | None = None


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """A digest of what makes two requests the same: method, path, query and body (JSON compared as data, so
    that key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    # `/contacts` and `/contacts/` are one endpoint (the routers take both).
    digest = hashlib.sha256(f"{method}\n{path.rstrip('/')}?{query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def idempotency_claim(*, owner: str, key: str, fingerprint: str, now: datetime | None = None) -> Claim:
    """Claim `key` for `owner`, or return the answer a repeat gets. Commits the claim before returning (called
    outside any transaction), so that a concurrent repeat sees it."""
    now = now or timezone.now()
    IdempotentRequest.objects.filter(owner=owner, key=key, created_at__lt=now - KEEP_FOR).delete()
    try:
        with transaction.atomic():
            row = IdempotentRequest.objects.create(owner=owner, key=key, fingerprint=fingerprint, created_at=now)
        return Claim(row=row)
    except IntegrityError:
        pass  # claimed before us (a concurrent insert waited for that claim's commit, then failed here)
    row = IdempotentRequest.objects.filter(owner=owner, key=key).first()
    if row is None:  # forgotten between our insert and this read: try once more
        return idempotency_claim(owner=owner, key=key, fingerprint=fingerprint, now=now)
    if row.fingerprint != fingerprint:
        return Claim(row=None, answer=error_response(
            409, "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request (another method, path or body). "
            "Use a new key for a new request.", {"idempotency_key": key}))
    if row.status is None:
        stale = IdempotentRequest.objects.filter(pk=row.pk, status__isnull=True, created_at__lt=now - STALE_CLAIM)
        if stale.update(created_at=now):
            row.created_at = now
            return Claim(row=row)
        answer = error_response(409, "idempotency_key_in_use",
                                "A request with this Idempotency-Key is still running; retry in a moment to get "
                                "its answer.", {"idempotency_key": key})
        answer["Retry-After"] = "1"
        return Claim(row=None, answer=answer)
    answer = HttpResponse(bytes(row.body or b""), status=row.status, content_type=row.content_type or None)
    answer["Idempotent-Replayed"] = "true"
    return Claim(row=None, answer=answer)


def idempotency_finish(*, row: IdempotentRequest, response: HttpResponse) -> None:
    """Keep the answer of the request that held the claim, or release the claim when the answer says the
    request did not run (or cannot be replayed), so that a retry runs."""
    body = None if response.streaming else response.content
    if response.status_code in _NOT_RUN or response.status_code >= 500 or body is None or len(body) > MAX_STORED_BODY:
        IdempotentRequest.objects.filter(pk=row.pk).delete()
        return
    IdempotentRequest.objects.filter(pk=row.pk).update(
        status=response.status_code, content_type=response.get("Content-Type", ""), body=body)


def idempotent_requests_forget(*, now: datetime | None = None) -> int:
    """Delete the keys older than a day (the scheduler calls it hourly); return how many went."""
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=(now or timezone.now()) - KEEP_FOR).delete()
    return deleted


def request_owner(request) -> str | None:
    """Who sent the request, as idempotency keys are scoped: the API key, else the session's user; None when
    neither is valid (the view answers 401, and no key is claimed)."""
    scheme, _, raw_key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer":
        raw_key = raw_key.strip()
        principal = principal_for_key(raw_key) if raw_key and " " not in raw_key else None
        # The prefix (unique, public), not the primary key, which embeds the key's hash.
        return f"key:{principal.prefix or principal.key_id}" if principal is not None else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


class IdempotencyMiddleware:
    """Run the changes under /api/v1/ that carry an `Idempotency-Key` at most once per sender and key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if key is None or request.method not in _METHODS or not request.path.startswith("/api/v1/"):
            return self.get_response(request)
        if not KEY_PATTERN.fullmatch(key):
            return error_response(400, "idempotency_key_invalid",
                                  "The Idempotency-Key header must be 1 to 255 printable ASCII characters without "
                                  "spaces, e.g. a UUID.", {"idempotency_key": "Invalid."})
        owner = request_owner(request)
        if owner is None:
            return self.get_response(request)
        try:
            body = request.body
        except RequestDataTooBig:
            return error_response(413, "payload_too_large", "The request body is over this endpoint's limit.")
        fingerprint = request_fingerprint(request.method, request.path, request.META.get("QUERY_STRING", ""), body)
        claim = idempotency_claim(owner=owner, key=key, fingerprint=fingerprint)
        if claim.row is None:
            return claim.answer
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotentRequest.objects.filter(pk=claim.row.pk).delete()
            raise
        idempotency_finish(row=claim.row, response=response)
        return response
