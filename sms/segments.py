"""How a text travels as SMS: its encoding (GSM-7 when every character is in the GSM 03.38 alphabet, UCS-2
otherwise) and how many segments it takes (160/153 septets, or 70/67 UTF-16 units, per single/concatenated part).

Plain Python: the node test's preview, the builder's form (through the API) and the outbox all count the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MAX_CHARACTERS", "MAX_SEGMENTS", "SmsShape", "sms_shape"]

# Twilio refuses a body over 1,600 characters; carriers reassemble at most about ten parts reliably.
MAX_CHARACTERS = 1600
MAX_SEGMENTS = 10

# GSM 03.38: the basic alphabet (one septet each) and the extension table (an escape plus one: two septets).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_PART = {"GSM-7": 153, "UCS-2": 67}  # a concatenated part spends the rest on its user data header


@dataclass(frozen=True)
class SmsShape:
    """What a text costs: `encoding`, `segments`, `characters` (as the user counts them) and `units` (septets
    for GSM-7, UTF-16 code units for UCS-2); `non_gsm` lists the characters that forced UCS-2."""

    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    characters: int
    units: int
    non_gsm: tuple[str, ...] = ()

    @property
    def too_long(self) -> bool:
        return self.characters > MAX_CHARACTERS or self.segments > MAX_SEGMENTS

    def as_dict(self) -> dict:
        return {"encoding": self.encoding, "segments": self.segments, "characters": self.characters,
                "units": self.units, "non_gsm": list(self.non_gsm), "too_long": self.too_long,
                "max_segments": MAX_SEGMENTS, "max_characters": MAX_CHARACTERS}  # fmt: skip


def sms_shape(text: str) -> SmsShape:
    """Return the encoding and segment count of `text` as a carrier would split it."""
    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in _GSM_BASIC and ch not in _GSM_EXTENSION))
    if not non_gsm:
        units = [2 if ch in _GSM_EXTENSION else 1 for ch in text]
        encoding: Literal["GSM-7", "UCS-2"] = "GSM-7"
    else:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # a surrogate pair is two UTF-16 units
        encoding = "UCS-2"
    total = sum(units)
    return SmsShape(
        encoding=encoding,
        segments=_segments(units, encoding),
        characters=len(text),
        units=total,
        non_gsm=non_gsm[:20],
    )


def _segments(units: list[int], encoding: str) -> int:
    """Count parts the way carriers fill them: an escaped GSM character or a surrogate pair is never split."""
    total = sum(units)
    if total == 0:
        return 0
    if total <= _SINGLE[encoding]:
        return 1
    size, parts, used = _PART[encoding], 1, 0
    for cost in units:
        if used + cost > size:
            parts, used = parts + 1, 0
        used += cost
    return parts
