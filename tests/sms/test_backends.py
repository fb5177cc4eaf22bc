"""SMS_URL names the provider; one that cannot be used is refused with a sentence saying what would work."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from sms.backends import TWILIO_API, ProviderConfig, SendError, _twilio_answer, provider_config


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("console://", ProviderConfig("console")),
        ("twilio://AC123:s%40cret@", ProviderConfig("twilio", "AC123", "s@cret", TWILIO_API)),
        (
            "twilio+http://AC1:tok@127.0.0.1:8899",
            ProviderConfig("twilio", "AC1", "tok", "http://127.0.0.1:8899"),
        ),
        (
            "twilio+https://AC1:tok@sms.example.com",
            ProviderConfig("twilio", "AC1", "tok", "https://sms.example.com"),
        ),
    ],
)
def test_sms_url_names_the_provider(url, expected):
    assert provider_config(url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nexmo://key:secret@", "unknown scheme 'nexmo'"),
        ("twilio://", "ACCOUNT_SID:AUTH_TOKEN@"),
        ("twilio://AC1@", "ACCOUNT_SID:AUTH_TOKEN@"),
        ("twilio+http://AC1:tok@", "needs a host and port"),
    ],
)
def test_an_sms_url_that_cannot_be_used_is_refused_saying_why(url, says):
    with pytest.raises(ImproperlyConfigured, match=says.replace("+", r"\+")):
        provider_config(url)


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (429, b'{"code": 20429}', "retry"),
        (503, b"", "retry"),
        (500, b'{"code": 20500}', "unknown"),
        (400, b'{"code": 21211, "message": "invalid To"}', "fail"),
        (400, b'{"code": 21610, "message": "unsubscribed recipient"}', "fail"),
        (401, b'{"code": 20003}', "retry"),
        (201, b"{}", "unknown"),  # accepted, but no sid to record: it may have gone
    ],
)
def test_the_providers_answer_decides_retry_fail_or_unknown(status, body, verdict):
    with pytest.raises(SendError) as caught:
        _twilio_answer(status, body)
    assert caught.value.verdict == verdict


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7), (" 120 ", 120), ("999999", 24 * 3600), ("-5", 0), ("soon", None), (None, None),
     ("Thu, 01 Jan 1970 00:00:00 GMT", 0)],
)  # fmt: skip
def test_a_throttled_answer_carries_the_wait_its_retry_after_asks_for(header, seconds):
    from datetime import timedelta

    with pytest.raises(SendError) as caught:
        _twilio_answer(429, b'{"code": 20429}', retry_after=header)
    assert caught.value.retry_after == (None if seconds is None else timedelta(seconds=seconds))
