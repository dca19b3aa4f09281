"""Authenticator-app codes (TOTP, RFC 6238: 6 digits, 30-second steps, SHA-1, as every app
reads them) through pyotp; what the secret looks like to a person (text and QR code)."""

import time

import pyotp
import segno

STEP_SECONDS = 30
# A code from the step before or after the current one is still accepted (clocks drift).
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits, in base32 (what the apps take typed in)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(*, secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg_data_uri(uri: str) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (the CSP allows data: images)."""
    qr = segno.make(uri, error="m")
    return str(qr.svg_data_uri(scale=5, border=2, dark="#111"))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(
    secret: str, code: str, *, after_step: int | None, now: float | None = None
) -> int | None:
    """The time step whose code `code` is (now, or one step before or after), if that step
    is later than `after_step` (the last accepted one: a code works once, and an older code
    never after a newer one). None when it matches no such step."""
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None
