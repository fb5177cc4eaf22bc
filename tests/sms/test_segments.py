"""The segment preview counts as carriers split: GSM-7 160/153 septets (extension characters cost two, never
split), UCS-2 70/67 UTF-16 units (surrogate pairs never split)."""

from __future__ import annotations

import pytest

from sms.segments import sms_shape
from sms.signatures import twilio_signature


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 161),
        ("a" * 306, "GSM-7", 2, 306),
        ("a" * 307, "GSM-7", 3, 307),
        ("€" * 80, "GSM-7", 1, 160),  # the euro sign is in the extension table: two septets each
        ("€" * 81, "GSM-7", 2, 162),
        ("a" * 152 + "€", "GSM-7", 1, 154),
        # 306 septets would fill two parts of 153 exactly, but the escape and its character are never split:
        # 152 | € + 151 | 1.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, 306),
        ("ç" * 70, "UCS-2", 1, 70),  # ç (lower case) is not in GSM 03.38, Ç is
        ("ç" * 71, "UCS-2", 2, 71),
        ("a" * 66 + "😀", "UCS-2", 1, 68),
        ("a" * 66 + "😀" + "a" * 3, "UCS-2", 2, 71),  # the pair goes whole to the second part
    ],
)
def test_sms_shape_counts_encoding_and_segments(text, encoding, segments, units):
    shape = sms_shape(text)
    assert (shape.encoding, shape.segments, shape.units) == (encoding, segments, units)


def test_one_non_gsm_character_turns_the_whole_text_into_ucs2_and_is_named():
    shape = sms_shape("Hello Zoë, your code is 1234 🎉")
    assert shape.encoding == "UCS-2"
    assert shape.non_gsm == ("ë", "🎉")


def test_over_ten_segments_or_1600_characters_is_too_long():
    assert not sms_shape("a" * 1530).too_long  # 10 parts of 153
    assert sms_shape("a" * 1531).too_long
    assert sms_shape("ç" * 671).too_long  # 11 UCS-2 parts


def test_twilio_signature_matches_the_example_in_twilios_documentation():
    # https://www.twilio.com/docs/usage/security#validating-requests
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
              ("From", "+12349013030"), ("To", "+18005551212")]  # fmt: skip
    signature = twilio_signature(
        auth_token="12345", url="https://mycompany.com/myapp.php?foo=1&bar=2", params=params
    )
    assert signature == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
