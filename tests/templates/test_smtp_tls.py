"""EMAIL_URL (CONTRACT §12) and real TLS: STARTTLS (smtp+tls://) and implicit TLS (smtps://) against aiosmtpd
servers that refuse to take mail, or credentials, in the clear; the client checks the server's certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from penguinflow.settings.base import email_settings_from_url
from templates.delivery import outbox_deliver
from templates.models import OutboxMessage
from templates.outbox import email_send
from tests.templates.conftest import Recorder, free_port

pytestmark = pytest.mark.django_db


def test_email_url_schemes_give_djangos_settings():
    plain = email_settings_from_url("smtp://mailer:p%40ss@mail.acme.test:2525?timeout=7")
    assert plain == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "mail.acme.test",
        "EMAIL_PORT": 2525, "EMAIL_HOST_USER": "mailer", "EMAIL_HOST_PASSWORD": "p@ss", "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False, "EMAIL_TIMEOUT": 7.0, "EMAIL_SSL_CERTFILE": None, "EMAIL_SSL_KEYFILE": None,
    }  # fmt: skip
    starttls = email_settings_from_url("smtp+tls://mail.acme.test")
    assert (starttls["EMAIL_PORT"], starttls["EMAIL_USE_TLS"], starttls["EMAIL_USE_SSL"]) == (587, True, False)
    implicit = email_settings_from_url("smtps://mail.acme.test?ssl_certfile=/c.pem&ssl_keyfile=/k.pem")
    assert (implicit["EMAIL_PORT"], implicit["EMAIL_USE_TLS"], implicit["EMAIL_USE_SSL"]) == (465, False, True)
    assert (implicit["EMAIL_SSL_CERTFILE"], implicit["EMAIL_SSL_KEYFILE"]) == ("/c.pem", "/k.pem")
    assert email_settings_from_url("console://") == {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    assert email_settings_from_url("postmark://") == {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend"}
    assert email_settings_from_url("anymail+sendgrid://")["EMAIL_BACKEND"] == "anymail.backends.sendgrid.EmailBackend"
    for unknown in ("ftp://mail.acme.test", "base://", "anymail+nosuchesp://"):
        with pytest.raises(ImproperlyConfigured, match="unknown scheme"):
            email_settings_from_url(unknown)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (made with the openssl command) and its key."""
    if shutil.which("openssl") is None:  # pragma: no cover - openssl is on every machine this runs on
        pytest.fail("the openssl command is needed to make the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _authenticator(logins: list[tuple[str, str]]):
    def authenticate(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret")

    return authenticate


@pytest.mark.parametrize("scheme", ["smtp+tls", "smtps"])
def test_mail_goes_over_tls_with_credentials_and_a_verified_certificate(
    scheme, certificate, settings, monkeypatch, workspace, contact, template, django_capture_on_commit_callbacks
):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    recorder, logins, port = Recorder(), [], free_port()
    # STARTTLS: no mail and no AUTH before the upgrade. Implicit TLS: the whole session is TLS (aiosmtpd's
    # auth_require_tls only knows STARTTLS, so it stays off there).
    tls = ({"tls_context": server_context, "require_starttls": True, "auth_require_tls": True}
           if scheme == "smtp+tls" else {"ssl_context": server_context, "auth_require_tls": False})  # fmt: skip
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=_authenticator(logins),
                            **tls)  # fmt: skip
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this server's certificate, no other
        for name, value in email_settings_from_url(f"{scheme}://mailer:s3cret@127.0.0.1:{port}?timeout=5").items():
            setattr(settings, name, value)
        with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
            result = email_send(key="tls-1", workspace=workspace, contact=contact, template=template, context={})

        report = outbox_deliver(outbox_ids=[result.message_id])
    finally:
        controller.stop()

    assert report.sent == 1, (report, OutboxMessage.objects.get(pk=result.message_id).error)
    assert OutboxMessage.objects.get(pk=result.message_id).status == "sent"
    assert logins == [("mailer", "s3cret")]
    assert [m.rcpt_tos for m in recorder.messages] == [[contact.email]]


def test_a_certificate_the_client_does_not_trust_fails_the_hand_over_and_sends_nothing(
    certificate, settings, workspace, contact, template, django_capture_on_commit_callbacks
):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=server_context,
                            require_starttls=True)  # fmt: skip
    controller.start()
    try:
        for name, value in email_settings_from_url(f"smtp+tls://127.0.0.1:{port}?timeout=5").items():
            setattr(settings, name, value)
        with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
            result = email_send(key="tls-2", workspace=workspace, contact=contact, template=template, context={})

        outbox_deliver(outbox_ids=[result.message_id])
    finally:
        controller.stop()

    row = OutboxMessage.objects.get(pk=result.message_id)
    assert row.status == "queued" and row.attempts == 1 and "certificate" in row.error.lower()
    assert recorder.messages == []
