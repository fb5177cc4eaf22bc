"""The outbound guard (penguinflow/outbound): internal addresses refused in every spelling, a name judged by every
address it resolves to, the connection pinned to the checked address, no redirects, one deadline, a capped body.

DNS is the one boundary that cannot exist here: those tests give the client a resolver of their own (a function
host, port -> addresses), the way the production code takes one.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import ssl
import subprocess
import threading
import time

import pytest

from penguinflow.outbound.addresses import (
    OutboundRefused,
    host_address,
    literal_url_refusal,
    parse_networks,
    refusal,
)
from penguinflow.outbound.client import MAX_BODY_BYTES, Connections, OutboundFailed, send
from tests.chaos import wait_for
from tests.hostile_server import hostile_server
from tests.webhook_receiver import Answer, receiver_server

pytestmark = pytest.mark.hostile


LOCAL = parse_networks(["127.0.0.1/32"])

REFUSED_LITERALS = [
    "http://127.1/hook", "http://0x7f000001/hook", "http://2130706433/hook", "http://017700000001/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://[::1]/hook", "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/", "http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://100.64.0.1/", "http://[fc00::1]/", "http://0.0.0.0/", "http://user@127.0.0.1/",
    "https://127.0.0.1:8443/", "http://[::]/", "http://224.0.0.1/", "http://240.0.0.1/", "http://[ff02::1]/",
    "http://[::127.0.0.1]/", "http://[64:ff9b::a00:1]/", "http://0x7f.1/", "http://127.0.0.1./",
]


@pytest.mark.parametrize("url", REFUSED_LITERALS)
def test_internal_addresses_are_refused_in_every_spelling(url):
    assert literal_url_refusal(url) is not None
    with pytest.raises(OutboundRefused):
        send(method="POST", url=url, headers={}, body=b"{}", timeout_s=2,
             resolver=lambda host, port: pytest.fail(f"a literal address must not be resolved ({host})"))


@pytest.mark.parametrize("spelling", ["127.1", "0x7f000001", "2130706433", "017700000001", "[::ffff:127.0.0.1]"])
def test_the_spellings_are_read_as_the_loopback_address_they_are(spelling):
    address = host_address(spelling)
    assert address is not None
    assert "loopback" in refusal(address)


def test_public_addresses_and_names_pass_the_literal_check():
    assert literal_url_refusal("https://hooks.example.com/x") is None  # a name: judged when resolved
    assert literal_url_refusal("http://8.8.8.8/x") is None
    assert literal_url_refusal("http://[2001:4860:4860::8888]/x") is None
    assert literal_url_refusal("https://{{ contact.fields.host }}/x") is None  # judged once rendered
    assert host_address("1.2.3.4.example.com") is None


def test_the_metadata_address_is_named_as_such():
    assert refusal(ipaddress.ip_address("169.254.169.254")) == "169.254.169.254 is a cloud metadata address"
    assert "metadata" in refusal(ipaddress.ip_address("fd00:ec2::254"))


def test_only_the_allowed_networks_are_exempt():
    loopback = ipaddress.ip_address("127.0.0.1")
    assert refusal(loopback, LOCAL) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), LOCAL) is None  # the same address
    assert refusal(ipaddress.ip_address("127.0.0.2"), LOCAL) is not None
    assert refusal(ipaddress.ip_address("10.0.0.1"), LOCAL) is not None
    with pytest.raises(ValueError):
        parse_networks(["not-a-network"])


def test_a_name_that_resolves_to_loopback_is_refused_before_connecting():
    with receiver_server() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        with pytest.raises(OutboundRefused, match=re.escape("internal.example resolves to 127.0.0.1")):
            send(method="POST", url=f"http://internal.example:{port}/", headers={}, body=b"{}", timeout_s=2,
                 resolver=lambda host, port: [ipaddress.ip_address("127.0.0.1")])
        assert receiver.requests == []


def test_a_name_is_refused_when_any_of_its_addresses_is_internal():
    answers = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.1.2.3")]
    with pytest.raises(OutboundRefused, match=re.escape("10.1.2.3 is a private address")):
        send(method="GET", url="http://mixed.example/", headers={}, body=None, timeout_s=2,
             resolver=lambda host, port: answers)


def test_the_connection_goes_to_the_checked_address_when_the_dns_answer_changes():
    """DNS rebinding: the first answer is allowed, a later one would be internal. The name is resolved once,
    and the request reaches the address that was checked."""
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return [ipaddress.ip_address("127.0.0.1" if len(calls) == 1 else "10.0.0.1")]

    with receiver_server() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        response = send(method="POST", url=f"http://rebind.example:{port}/hook?x=1", headers={}, body=b"{}",
                        timeout_s=5, allowed=LOCAL, resolver=rebinding)
    assert calls == ["rebind.example"]
    assert (response.status, response.address) == (200, "127.0.0.1")
    assert receiver.requests[0].headers["Host"] == f"rebind.example:{port}"  # the Host is the name as written
    assert receiver.requests[0].path == "/hook?x=1"


def test_a_redirect_is_the_answer_never_followed():
    with receiver_server() as receiver:
        receiver.answer(Answer(302, {"Location": "http://127.0.0.1:1/admin"}, b""))
        response = send(method="POST", url=receiver.url + "/hook", headers={}, body=b"{}", timeout_s=5,
                        allowed=LOCAL)
    assert (response.status, response.headers["location"]) == (302, "http://127.0.0.1:1/admin")
    assert len(receiver.requests) == 1


def test_the_body_read_is_capped():
    with receiver_server() as receiver:
        receiver.answer(Answer(200, {}, b"x" * (MAX_BODY_BYTES * 3)))
        response = send(method="GET", url=receiver.url, headers={}, body=None, timeout_s=10, allowed=LOCAL)
        receiver.answer(Answer(200, {}, b"y" * MAX_BODY_BYTES))
        exact = send(method="GET", url=receiver.url, headers={}, body=None, timeout_s=10, allowed=LOCAL)
    assert (len(response.body), response.truncated) == (MAX_BODY_BYTES, True)
    assert (len(exact.body), exact.truncated) == (MAX_BODY_BYTES, False)


def test_a_receiver_that_does_not_answer_times_out():
    release = threading.Event()
    with receiver_server() as receiver:
        receiver.answer(Answer(hold=release))
        try:
            with pytest.raises(OutboundFailed, match="did not answer within the timeout"):
                send(method="POST", url=receiver.url, headers={}, body=b"{}", timeout_s=1, allowed=LOCAL)
        finally:
            release.set()


@pytest.mark.parametrize("mode", ["trickle_headers", "trickle_body"])
def test_an_answer_trickled_a_byte_at_a_time_ends_at_the_deadline(mode):
    """Each byte would reset a socket timeout: only the exchange's own deadline ends these, for any thread."""
    with hostile_server(mode) as hostile:
        started = time.monotonic()
        with pytest.raises(OutboundFailed, match="did not answer within the timeout"):
            send(method="POST", url=hostile.url, headers={}, body=b"{}", timeout_s=1, allowed=LOCAL)
        took = time.monotonic() - started
        # The connection is closed, not left trickling.
        wait_for(lambda: hostile.hung_up == 1, what="the hang-up", timeout=10)
    assert 1 <= took < 3 and hostile.requests == 1


def test_an_endless_answer_is_read_up_to_the_cap_and_no_further():
    with hostile_server("endless") as hostile:
        started = time.monotonic()
        response = send(method="POST", url=hostile.url, headers={}, body=b"{}", timeout_s=5, allowed=LOCAL,
                        max_body=4096)
        assert time.monotonic() - started < 3
        wait_for(lambda: hostile.hung_up == 1, what="the hang-up", timeout=10)
    assert (response.status, len(response.body), response.truncated) == (200, 4096, True)


def test_a_refused_connection_is_a_failure_worth_a_retry():
    with receiver_server() as receiver:
        url = receiver.url
    with pytest.raises(OutboundFailed):
        send(method="POST", url=url, headers={}, body=b"{}", timeout_s=2, allowed=LOCAL)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http:///x", "http://exa mple.com/", "http://a\r\nb/"])
def test_urls_that_cannot_be_called_are_refused(url):
    with pytest.raises(OutboundRefused):
        send(method="GET", url=url, headers={}, body=None, timeout_s=1)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for hooks.example (openssl, as ops would make one)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=hooks.example", "-addext", "subjectAltName=DNS:hooks.example"],
                   check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


def _tls_server_context(certificate, seen_names: list):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    context.sni_callback = lambda sock, name, ctx: seen_names.append(name)
    return context


def test_over_tls_the_pinned_connection_names_and_verifies_the_host(certificate):
    names: list = []
    with receiver_server(tls=_tls_server_context(certificate, names)) as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        response = send(method="POST", url=f"https://hooks.example:{port}/in", headers={}, body=b"{}",
                        timeout_s=5, allowed=LOCAL, ca_certs=str(certificate[0]),
                        resolver=lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    assert (response.status, response.address) == (200, "127.0.0.1")
    assert names == ["hooks.example"]
    assert receiver.requests[0].headers["Host"] == f"hooks.example:{port}"


def test_over_tls_a_certificate_for_another_host_is_refused(certificate):
    names: list = []
    with receiver_server(tls=_tls_server_context(certificate, names)) as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        with pytest.raises(OutboundFailed):
            send(method="POST", url=f"https://other.example:{port}/in", headers={}, body=b"{}", timeout_s=5,
                 allowed=LOCAL, ca_certs=str(certificate[0]),
                 resolver=lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    assert names == ["other.example"]
    assert receiver.requests == []


def test_kept_connections_carry_the_next_request_unless_an_answer_was_cut_short():
    connections = Connections()
    with receiver_server() as receiver:
        try:
            for _ in range(2):
                send(method="POST", url=receiver.url, headers={}, body=b"{}", timeout_s=5, allowed=LOCAL,
                     connections=connections)
            receiver.answer(Answer(200, {}, b"x" * (MAX_BODY_BYTES + 10)), Answer(200))
            for _ in range(2):
                send(method="POST", url=receiver.url, headers={}, body=b"{}", timeout_s=5, allowed=LOCAL,
                     connections=connections)
        finally:
            connections.close()
    ports = [request.client_port for request in receiver.requests]
    assert ports[0] == ports[1] == ports[2]  # one connection...
    assert ports[3] != ports[2]  # ...until an answer was left unread


def test_the_allowed_networks_setting_is_read_from_the_environment_and_a_typo_stops_start_up(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from penguinflow.settings.base import _networks

    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", " 127.0.0.1/32, 10.0.0.0/8 ")
    assert _networks("OUTBOUND_ALLOWED_NETWORKS") == ["127.0.0.1/32", "10.0.0.0/8"]
    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32,localhost")
    with pytest.raises(ImproperlyConfigured, match="'localhost' is not a network"):
        _networks("OUTBOUND_ALLOWED_NETWORKS")
    monkeypatch.delenv("OUTBOUND_ALLOWED_NETWORKS")
    assert _networks("OUTBOUND_ALLOWED_NETWORKS") == []
