"""A doctor's NPI (SPEC §3): ten digits whose Luhn check digit (over 80840 + the number) is
verified."""

import pytest
from django.core.exceptions import ValidationError

from securemail.accounts.validators import validate_npi


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_npi_with_a_correct_check_digit_is_accepted(npi: str) -> None:
    validate_npi(npi)


def test_npi_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(ValidationError, match="check digit is wrong"):
        validate_npi("1234567890")


@pytest.mark.parametrize("npi", ["123456789", "12345678933", "12345678a3", "", "123 456 78"])
def test_npi_that_is_not_ten_digits_is_refused(npi: str) -> None:
    with pytest.raises(ValidationError, match="exactly 10 digits"):
        validate_npi(npi)


@pytest.mark.parametrize("position", range(10))
def test_any_single_mistyped_digit_is_caught(position: int) -> None:
    digits = list("1234567893")
    digits[position] = str((int(digits[position]) + 1) % 10)

    with pytest.raises(ValidationError):
        validate_npi("".join(digits))
