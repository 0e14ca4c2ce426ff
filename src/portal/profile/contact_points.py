"""Phone numbers and email addresses as clients type them: parsed, checked, shown.

Phone numbers are parsed with `phonenumbers` (Google's libphonenumber data) in
the practice's country and stored in E.164 (`+16175550142`); they are shown
national in that country, international otherwise. Each parser raises
ValueError with what to fix; the `optional_*` forms put that message under a
field's name instead, for forms that collect every message at once.
"""

from __future__ import annotations

import re

import phonenumbers

# The practice's country: numbers typed without a country code are read as its numbers.
# (The practice table has no country yet; the portal serves US practices.)
DEFAULT_REGION = "US"

PHONE_HELP = (
    "Enter a phone number like (617) 555-0142, or one starting with + and the country code."
)
EMAIL_HELP = "Enter an email address like name@example.com."
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f.]+$")


def parse_phone(text: str, region: str = DEFAULT_REGION) -> str:
    """A typed phone number as E.164, or ValueError with what to fix."""
    text = text.strip()
    if not text:
        raise ValueError("Enter a phone number.")
    if len(text) > 40:
        raise ValueError("That is too long for a phone number.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(PHONE_HELP) from None
    if number.extension:
        raise ValueError("Leave out the extension: enter the phone number only.")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            "That is not a valid phone number. Check the digits, and the country code for a "
            "number outside the US."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str, region: str = DEFAULT_REGION) -> str:
    """How a stored number is shown: national in the practice's country, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == region
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def parse_email(text: str) -> str:
    """A typed email address, its domain lower-cased, or ValueError with what to fix."""
    text = text.strip()
    if not text:
        raise ValueError("Enter an email address.")
    if len(text) > 254 or not _EMAIL.match(text):
        raise ValueError(EMAIL_HELP)
    local, domain = text.rsplit("@", 1)
    if domain.startswith(("-", ".")) or ".." in domain:
        raise ValueError(EMAIL_HELP)
    return f"{local}@{domain.lower()}"


def optional_phone(text: str, field: str, errors: dict[str, str]) -> str:
    """A phone number that may be left blank ("" then); a bad one's message goes to `errors`."""
    if not text.strip():
        return ""
    try:
        return parse_phone(text)
    except ValueError as exc:
        errors[field] = str(exc)
        return ""


def optional_email(text: str, field: str, errors: dict[str, str]) -> str:
    """An email address that may be left blank ("" then); a bad one's message goes to `errors`."""
    if not text.strip():
        return ""
    try:
        return parse_email(text)
    except ValueError as exc:
        errors[field] = str(exc)
        return ""
