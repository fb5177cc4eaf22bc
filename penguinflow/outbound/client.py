"""One outbound HTTP request, made to the address the guard checked.

The host is resolved once (``resolver``, injectable: a function host, port -> addresses); every address it
resolves to must be allowed, and the connection goes to the first of them, so a DNS answer that changes between
the check and the connection (rebinding) changes nothing. Over HTTPS the TLS handshake still names and verifies
the host (SNI and certificate), and the Host header is the host as written. urllib3 does the HTTP: its
connection pool takes an address to connect to apart from the name to verify (``server_hostname``,
``assert_hostname``), which is exactly the pinning this needs. Redirects are never followed (a 3xx is the
answer), the whole exchange has one deadline (enforced by `penguinflow.outbound.deadline`, so a receiver that
trickles its answer a byte at a time cannot stretch it), and at most ``max_body`` bytes of the answer are read.
Connections are closed after each request, unless the caller keeps them in a ``Connections`` (a batch's run of
calls to one receiver then shares one).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from penguinflow.outbound.addresses import IPAddress, Network, OutboundRefused, refusal, target_of
from penguinflow.outbound.deadline import Exchange, watched

__all__ = ["MAX_BODY_BYTES", "MAX_TIMEOUT_S", "OutboundFailed", "OutboundResponse", "Resolver", "send",
           "system_resolver"]

MAX_TIMEOUT_S = 30
MAX_BODY_BYTES = 64 * 1024
_CHUNK = 16 * 1024

Resolver = Callable[[str, int], list[IPAddress]]


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The machine's resolver (getaddrinfo): every address of ``host``, in its order."""
    from ipaddress import ip_address

    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OutboundFailed(f"{host} could not be resolved ({error.strerror}).") from None
    # sockaddr[0] of an IPv6 answer may carry a zone id ("fe80::1%eth0"): keep the address part.
    return list(dict.fromkeys(ip_address(str(answer[4][0]).split("%", 1)[0]) for answer in answers))


class OutboundFailed(Exception):
    """The request was allowed but did not get an answer (DNS, connection, TLS, timeout): worth a retry."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    address: str
    elapsed_ms: int


def checked_address(host_address: IPAddress | None, host: str, port: int, *, allowed: Iterable[Network],
                    resolver: Resolver) -> IPAddress:
    """Return the address to connect to: the literal one, or the first the name resolves to, once every one
    of them is allowed (OutboundRefused otherwise)."""
    allowed = tuple(allowed)
    addresses = [host_address] if host_address is not None else resolver(host, port)
    if not addresses:
        raise OutboundFailed(f"{host} resolved to no address.")
    for address in addresses:
        reason = refusal(address, allowed)
        if reason is not None:
            named = "" if host_address is not None else f"{host} resolves to {address}: "
            raise OutboundRefused(f"{named}{reason}; outbound requests may not reach it.")
    return addresses[0]


class Connections:
    """Connections kept open between requests (HTTP keep-alive), one per checked address, host and port: give one
    to ``send`` for a run of requests (a batch of steps) and close it after. Each request is still resolved and
    checked; it reuses a connection only to the very address it was checked for."""

    def __init__(self) -> None:
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}

    def pool(self, scheme: str, host: str, port: int, address: IPAddress,
             ca_certs: str | None) -> urllib3.HTTPConnectionPool:
        key = (scheme, host, port, address, ca_certs)
        if key not in self._pools:
            self._pools[key] = _pool(scheme, host, port, address, ca_certs)
        return self._pools[key]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def send(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    timeout_s: float,
    allowed: Iterable[Network] = (),
    resolver: Resolver = system_resolver,
    max_body: int = MAX_BODY_BYTES,
    ca_certs: str | None = None,
    connections: Connections | None = None,
) -> OutboundResponse:
    """Make the request to the checked address and return the answer (status, headers, at most ``max_body``
    bytes of body). Raise OutboundRefused (never worth a retry) or OutboundFailed (may work later).

    ``ca_certs`` replaces the system's certificate authorities (a test's own CA); None trusts the system's.
    ``connections`` keeps connections open for the next requests; without it the connection is closed after."""
    started = time.monotonic()
    deadline = started + min(timeout_s, MAX_TIMEOUT_S)
    target = target_of(url)
    address = checked_address(target.address, target.host, target.port, allowed=allowed, resolver=resolver)
    kept = connections is not None
    pool = (connections.pool if kept else _pool)(target.scheme, target.host, target.port, address, ca_certs)
    path = target.parts.path or "/"
    if target.parts.query:
        path += "?" + target.parts.query
    # Non-ASCII text (a contact's name in a query) goes percent-encoded; what is already encoded stays as it is.
    path = quote(path, safe="/?:@!$&'()*+,;=%~[]")
    remaining = max(deadline - time.monotonic(), 0.001)
    try:
        with watched(deadline) as exchange:
            pool.exchange = exchange
            try:
                response = pool.urlopen(method, path, body=body, headers={"Host": _host_header(target), **headers},
                                        redirect=False, retries=False, preload_content=False,
                                        assert_same_host=False, timeout=urllib3.Timeout(connect=remaining,
                                                                                        read=remaining))
                content, truncated = _answer_read(response, max_body, deadline, exchange)
            except Exception as error:
                raise _failure(error, address, exchange) from None
            finally:
                pool.exchange = None
    finally:
        if not kept:
            pool.close()
    return OutboundResponse(status=response.status,
                            headers={name.lower(): value for name, value in response.headers.items()},
                            body=content, truncated=truncated, address=str(address),
                            elapsed_ms=round((time.monotonic() - started) * 1000))


def _answer_read(response, max_body: int, deadline: float, exchange: Exchange) -> tuple[bytes, bool]:
    """The answer's body (capped); its connection stays open for the next request only when the whole answer was
    read in time."""
    reusable = False
    try:
        content, truncated = _read_capped(response, max_body, deadline)
        # Cut off by the watchdog, a read ends early as if the answer were complete: it was not.
        reusable = not truncated and not exchange.expired
    finally:
        if not reusable:
            response.close()  # the rest of the answer is unread: this connection cannot carry another request
        response.release_conn()
    if exchange.expired:
        raise TimeoutError  # told as a timeout by `_failure`
    return content, truncated


def _failure(error: Exception, address: IPAddress, exchange: Exchange) -> Exception:
    """What a failed exchange raises: a timeout when the deadline ended it (whatever the read raised then), an
    OutboundFailed for what the network or the receiver did, and anything else (a bug) as it is."""
    if exchange.expired:
        return OutboundFailed(f"The receiver ({address}) did not answer within the timeout.")
    if isinstance(error, OutboundFailed):
        return error
    if isinstance(error, Urllib3Error | OSError):
        return OutboundFailed(_failure_text(error, address))
    return error


def _host_header(target) -> str:
    """The Host header: the host as the URL writes it (brackets around IPv6), with a port that is not the
    scheme's default."""
    host = target.parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


class _WatchedPool:
    """A pool that hands the connection a request runs on to the request's Exchange (its watchdog shuts that
    connection's socket down at the deadline). One request at a time uses a pool (maxsize=1)."""

    exchange: Exchange | None = None

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        if self.exchange is not None:
            self.exchange.connection = conn
        return conn


class _HTTPPool(_WatchedPool, urllib3.HTTPConnectionPool):
    pass


class _HTTPSPool(_WatchedPool, urllib3.HTTPSConnectionPool):
    pass


def _pool(scheme: str, host: str, port: int, address: IPAddress, ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    # Timeouts are given per request (what is left of its deadline).
    if scheme == "https":
        # Connect to the checked address; name the host in SNI and verify the certificate against it.
        return _HTTPSPool(str(address), port, maxsize=1, retries=False, server_hostname=host,
                          assert_hostname=host, cert_reqs="CERT_REQUIRED", ca_certs=ca_certs)
    return _HTTPPool(str(address), port, maxsize=1, retries=False)


def _read_capped(response, max_body: int, deadline: float) -> tuple[bytes, bool]:
    """Read at most ``max_body`` bytes before the deadline; each wait for data gets only the time that is left."""
    chunks: list[bytes] = []
    size = 0
    while size < max_body:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OutboundFailed("The receiver did not answer within the timeout.")
        sock = getattr(response.connection, "sock", None)
        if sock is not None:
            sock.settimeout(remaining)
        chunk = response.read(min(_CHUNK, max_body - size), decode_content=False)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    # One byte more tells a body of exactly max_body bytes from a longer one.
    more = response.read(1, decode_content=False) if time.monotonic() < deadline else b""
    return b"".join(chunks), bool(more)


def _failure_text(error: BaseException, address: IPAddress) -> str:
    text = str(error) or type(error).__name__
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return f"The receiver ({address}) did not answer within the timeout."
    return f"The request to {address} failed: {text}"
