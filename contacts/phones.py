"""Phone numbers in E.164, the only form stored (`Contact.phone`), parsed and validated by `phonenumbers`."""

from __future__ import annotations

import phonenumbers

from penguinflow.common.errors import InvalidInput

__all__ = ["phone_normalise", "phone_region"]


def phone_normalise(text: str, region: str | None = None) -> str:
    """Return `text` as E.164 (`+14155550100`); `region` (ISO 3166 alpha-2) reads a number written without its
    country code. Raise InvalidInput (400, details.phone) for a number that is not a valid one, or a region that
    does not exist."""
    if region is not None and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput("The phone number's region is unknown.",
                           details={"phone": f"Unknown region '{region}': give an ISO 3166 code such as US or DE."})
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        hint = "" if region or text.strip().startswith("+") else " Write it with its country code (+44...)."
        raise InvalidInput("The phone number cannot be read.",
                           details={"phone": f"Not a phone number.{hint}"}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("The phone number is not valid.",
                           details={"phone": "No such number in its country's numbering plan."})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str | None:
    """Return the region (ISO 3166 alpha-2) a stored number belongs to, for regional rules such as quiet hours."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
