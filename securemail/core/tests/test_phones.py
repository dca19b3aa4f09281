"""Which numbers a verification code may go to (issue 9, toll fraud): a person's own phone,
in a country the operator allows; never a premium-rate, shared-cost, toll-free, access,
voicemail, personal forwarding, pager or no-country (satellite, international) number.
Any valid number is still fine where no code is sent."""

import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from securemail.core.phones import code_phone_refusal, normalize_code_phone, normalize_phone

NOT_A_PERSONS_PHONE = {
    # The issue's: US 900, UK 09, and a satellite phone (+881, Iridium/Globalstar).
    "+19005550123": "a premium-rate number",
    "+449098790123": "a premium-rate number",
    "+881612345678": "an international or satellite network number",
    "+870773111632": "an international or satellite network number",
    "+80012345678": "an international or satellite network number",
    "+611300123456": "a shared-cost number",
    "+18002123456": "a toll-free number",
    "+448001234567": "a toll-free number",
    "+443031234567": "a company's access number",
    "+49177991234567": "a voicemail access number",
    "+447012345678": "a personal forwarding number",
    "+15002345678": "a personal forwarding number",
    "+4916412345": "a pager number",
}
PERSONS_PHONES = [
    "+12025550177",  # US (cell or landline: the US doesn't tell them apart)
    "+14165550123",  # Canada
    "+447400123456",  # UK mobile
    "+442079460000",  # UK landline
    "+33612345678",  # France mobile
    "+43780123456",  # Austria VoIP
    "+18764567890",  # Jamaica, inside +1
]


@pytest.mark.parametrize(("number", "kind"), list(NOT_A_PERSONS_PHONE.items()))
def test_a_number_that_is_no_persons_phone_gets_no_code_and_is_named(
    number: str, kind: str
) -> None:
    assert code_phone_refusal(number) == f"This is {kind}: we can't send codes to it."
    with pytest.raises(ValidationError) as refused:
        normalize_code_phone(number)
    assert refused.value.messages == [
        f"This is {kind}: we can't send codes to it. Enter your own cell phone or landline."
    ]
    # Where no code is sent (a practice's or an office phone) it is still a valid number.
    assert normalize_phone(number) == number


@pytest.mark.parametrize("number", PERSONS_PHONES)
def test_a_persons_phone_anywhere_gets_codes_when_no_country_is_configured(number: str) -> None:
    assert settings.SECUREMAIL_CODE_COUNTRIES == []
    assert code_phone_refusal(number) is None
    assert normalize_code_phone(number) == number


def test_national_formats_are_read_as_us_numbers() -> None:
    assert normalize_code_phone("(202) 555-0177") == "+12025550177"
    with pytest.raises(ValidationError, match="premium-rate"):
        normalize_code_phone("1-900-555-0123")


def test_the_operators_country_list_limits_codes_to_those_countries(settings: Any) -> None:
    settings.SECUREMAIL_CODE_COUNTRIES = ["US", "CA"]
    refusal = "We can only send codes to phones in these countries: United States, Canada."

    assert code_phone_refusal("+12025550177") is None
    assert code_phone_refusal("+14165550123") is None
    # +1 is not only the US and Canada: Jamaica's numbers start with +1 876.
    for elsewhere in ("+18764567890", "+447400123456", "+33612345678"):
        assert code_phone_refusal(elsewhere) == refusal
    # A number of a refused type is named as such, whatever the country.
    assert code_phone_refusal("+19005550123") == (
        "This is a premium-rate number: we can't send codes to it."
    )
    # Other phones are not limited to the list.
    assert normalize_phone("+447400123456") == "+447400123456"


def _settings_with(countries: str) -> subprocess.CompletedProcess[str]:
    code = "from django.conf import settings; print(settings.SECUREMAIL_CODE_COUNTRIES)"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "securemail.settings_test",
        "SECUREMAIL_CODE_COUNTRIES": countries,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_country_list_is_read_from_the_environment_and_a_wrong_code_refuses_to_start() -> None:
    good = _settings_with("us, ca")
    bad = _settings_with("US,USA")

    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "['US', 'CA']"
    assert bad.returncode != 0
    assert "ImproperlyConfigured" in bad.stderr
    assert "SECUREMAIL_CODE_COUNTRIES: not country codes: USA." in bad.stderr
