"""Phone numbers: parsed and stored in E.164, shown in national format."""

import phonenumbers
from django.core.exceptions import ValidationError

DEFAULT_REGION = "US"


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of `raw`, or raise ValidationError with a clear message."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a valid phone number, e.g. (555) 201-4567.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number is not valid. Check the area code and digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def masked_phone(e164: str) -> str:
    """'(•••) •••-4567': enough to recognise one's own number, not to learn it."""
    return "(•••) •••-" + e164[-4:] if len(e164) >= 4 else "•••"
