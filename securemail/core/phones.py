"""Phone numbers: parsed and stored in E.164, shown in national format; and which numbers a
verification code may be sent to.

A code goes out by text or voice call, paid for by us. Numbers that are no person's own
phone are refused for codes, whatever the form or the step: premium-rate and shared-cost
numbers (calling them pays their owner: the toll fraud of "SMS pumping"), toll-free numbers
and universal access numbers (a business's line, dearer to reach than a phone), voicemail
access numbers, personal numbers (forwarding numbers such as the UK's 070 and the US's 500,
priced like premium ones), pagers, and numbers of no country (+800, +808, +870, +881, +882,
+883...: international services and satellite networks, among the dearest to reach). Cell
phones, landlines and VoIP numbers are a person's phone. The operator may also limit codes
to some countries (SECUREMAIL_CODE_COUNTRIES). Other phone numbers (a practice's, an office
phone) only need to be valid.
"""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from phonenumbers import PhoneNumberType, geocoder

DEFAULT_REGION = "US"
# The region phonenumbers gives numbers of no country.
_NO_COUNTRY = "001"

# The number types a code may be sent to.
CODE_NUMBER_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
    }
)
# How a refused number is named to the person who typed it.
_REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.UAN: "a company's access number",
    PhoneNumberType.VOICEMAIL: "a voicemail access number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal forwarding number",
    PhoneNumberType.PAGER: "a pager number",
}


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a valid phone number, e.g. (555) 201-4567.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number is not valid. Check the area code and digits.")
    return number


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of `raw`, or raise ValidationError with a clear message."""
    return phonenumbers.format_number(_parse(raw, region), phonenumbers.PhoneNumberFormat.E164)


def normalize_code_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Like normalize_phone, for a number verification codes will be sent to: also refuses
    what can't be a person's phone, and countries the operator has not allowed."""
    e164 = normalize_phone(raw, region=region)
    refusal = code_phone_refusal(e164)
    if refusal:
        raise ValidationError(f"{refusal} Enter your own cell phone or landline.")
    return e164


def code_countries() -> list[str]:
    """The regions (ISO 3166 codes) codes may be sent to; empty means every country."""
    return list(settings.SECUREMAIL_CODE_COUNTRIES)


def code_phone_refusal(e164: str) -> str | None:
    """Why no verification code may be sent to this number (stored E.164), or None if one
    may. The one rule: the forms ask it, and so does the service that sends codes."""
    try:
        number = _parse(e164, DEFAULT_REGION)
    except ValidationError as invalid:
        return invalid.messages[0]
    region = phonenumbers.region_code_for_number(number)
    number_type = phonenumbers.number_type(number)
    if region == _NO_COUNTRY:
        kind = "an international or satellite network number"
    elif number_type not in CODE_NUMBER_TYPES:
        kind = _REFUSED_TYPES.get(number_type, "not a personal phone number")
    else:
        allowed = code_countries()
        if allowed and region not in allowed:
            return (
                f"We can only send codes to phones in these countries: {_country_names(allowed)}."
            )
        return None
    return f"This is {kind}: we can't send codes to it."


def _country_names(regions: list[str]) -> str:
    """ "United States, Canada": each region's English name."""
    names = []
    for region in regions:
        example = phonenumbers.example_number(region)
        names.append((geocoder.country_name_for_number(example, "en") if example else "") or region)
    return ", ".join(names)


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
