from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from securemail.accounts.models import User
from securemail.core.limits import limits


def validate_new_password(password: str, user: User) -> None:
    """Every new password: Django's validators (AUTH_PASSWORD_VALIDATORS), and for an
    operator's account a longer minimum. The set-password form shows what this raises; the
    service that sets a password asks it again."""
    password_validation.validate_password(password, user)
    length = limits().operator_password_length
    if user.is_operator and len(password) < length:
        raise ValidationError(f"An operator's password needs at least {length} characters.")


def validate_npi(value: str) -> None:
    """A US National Provider Identifier: 10 digits whose last is a Luhn check digit
    computed over the number prefixed with 80840 (CMS's card issuer prefix)."""
    if len(value) != 10 or not value.isdigit():
        raise ValidationError("An NPI has exactly 10 digits.")
    digits = [int(ch) for ch in "80840" + value]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    if total % 10 != 0:
        raise ValidationError("This NPI's check digit is wrong. Check it for typos.")
