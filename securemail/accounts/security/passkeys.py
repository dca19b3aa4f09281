"""Passkeys (WebAuthn) through py_webauthn: the options a browser is given, and checks of
what it sends back. No database here: `setup` and `signin` decide and write.

The relying party id is a domain (settings.SECUREMAIL_WEBAUTHN_RP_ID, default the host of
SECUREMAIL_BASE_URL, "localhost" for a bare IP address, which browsers refuse); the
origin a response must come from is SECUREMAIL_BASE_URL's (with localhost for a loopback
address, so `make run` works).
"""

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import webauthn
from django.conf import settings
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

# How long the browser may wait for the person (milliseconds).
TIMEOUT_MS = 120_000


class PasskeyInvalid(Exception):
    """What the browser sent is not a valid answer to our challenge (altered, for another
    site or origin, or not a passkey response at all)."""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def rp_id() -> str:
    configured = str(settings.SECUREMAIL_WEBAUTHN_RP_ID or "")
    if configured:
        return configured
    host = urlsplit(settings.SECUREMAIL_BASE_URL).hostname or "localhost"
    return "localhost" if _is_ip(host) else host


def expected_origins() -> list[str]:
    base = urlsplit(settings.SECUREMAIL_BASE_URL)
    origins = [f"{base.scheme}://{base.netloc}"]
    if base.hostname and _is_ip(base.hostname) and ipaddress.ip_address(base.hostname).is_loopback:
        port = f":{base.port}" if base.port else ""
        origins.append(f"{base.scheme}://localhost{port}")
    return origins


def credential_key(credential_id: bytes) -> str:
    """How a passkey row is found from a login: the SHA-256 of its credential id."""
    return hashlib.sha256(credential_id).hexdigest()


def _descriptors(credentials: list[tuple[bytes, list[str]]]) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=credential_id,
            transports=[AuthenticatorTransport(t) for t in transports if t in known] or None,
        )
        for credential_id, transports in credentials
    ]


def registration_options(
    *,
    user_handle: bytes,
    user_name: str,
    display_name: str,
    existing: list[tuple[bytes, list[str]]],
) -> tuple[dict[str, Any], bytes]:
    """The options for navigator.credentials.create() (as JSON-ready data) and the challenge
    to remember. A discoverable credential (so it can sign in without a password), never a
    second one on an authenticator that already holds one of this account's."""
    options = webauthn.generate_registration_options(
        rp_id=rp_id(),
        rp_name=settings.SECUREMAIL_WEBAUTHN_RP_NAME,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name or user_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return json.loads(webauthn.options_to_json(options)), options.challenge


def authentication_options(
    *, allowed: list[tuple[bytes, list[str]]] | None
) -> tuple[dict[str, Any], bytes]:
    """The options for navigator.credentials.get(): for one account's passkeys (`allowed`),
    or, with None, any passkey of this site the authenticator holds (sign-in without a
    password)."""
    options = webauthn.generate_authentication_options(
        rp_id=rp_id(),
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(allowed) if allowed is not None else None,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return json.loads(webauthn.options_to_json(options)), options.challenge


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]


def verify_registration(*, response: dict[str, Any], challenge: bytes) -> NewPasskey:
    try:
        verified = webauthn.verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origins(),
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyInvalid(str(error)) from None
    raw = response.get("response")
    transports = raw.get("transports") if isinstance(raw, dict) else None
    return NewPasskey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t) for t in transports][:8] if isinstance(transports, list) else [],
    )


@dataclass(frozen=True)
class Assertion:
    """What a sign-in response claims before it is checked: which credential, which user."""

    credential_id: bytes
    user_handle: bytes | None


def read_assertion(response: object) -> Assertion:
    """The credential id and user handle a response names (PasskeyInvalid if it is not a
    passkey response at all)."""
    if not isinstance(response, dict):
        raise PasskeyInvalid("not a credential")
    try:
        credential_id = base64url_to_bytes(str(response["rawId"]))
        raw = response.get("response") or {}
        handle = raw.get("userHandle") if isinstance(raw, dict) else None
        user_handle = base64url_to_bytes(handle) if isinstance(handle, str) and handle else None
    except (KeyError, ValueError, TypeError) as error:
        raise PasskeyInvalid(str(error)) from None
    if not credential_id:
        raise PasskeyInvalid("no credential id")
    return Assertion(credential_id=credential_id, user_handle=user_handle)


def verify_assertion(*, response: dict[str, Any], challenge: bytes, public_key: bytes) -> int:
    """Check the signature, challenge, origin and relying party; the authenticator's new sign
    counter. (The counter is compared by the caller, after the signature is known good: a
    forged response must not pass for a cloned authenticator.)"""
    try:
        verified = webauthn.verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origins(),
            credential_public_key=public_key,
            credential_current_sign_count=0,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyInvalid(str(error)) from None
    return int(verified.new_sign_count)


def counter_went_back(*, stored: int, new: int) -> bool:
    """A counter that did not move forward: a copy of the authenticator was used (counters
    that stay at 0 belong to authenticators that keep none, as synced passkeys do)."""
    return (stored > 0 or new > 0) and new <= stored


def encode(data: bytes) -> str:
    return bytes_to_base64url(data)
