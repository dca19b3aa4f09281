"""Helpers for the two-step login tests: turning methods on the way a person does, the
codes an authenticator app would show, and a software authenticator that answers WebAuthn
challenges as a browser with a passkey would (its own P-256 key, signatures, counter)."""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import cbor2
import pyotp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.test import Client
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from securemail.accounts.models import AuthenticatorApp, User
from securemail.accounts.security import passkeys, setup
from tests.support import PASSWORD


def turn_on_app(user: User) -> str:
    """Set up an authenticator app for `user` (through the service, as the page does).
    Returns its secret; the step used to confirm it counts as spent."""
    started = setup.start_app(user=user)
    setup.confirm_app(user=user, code=pyotp.TOTP(started.secret).now())
    return started.secret


def app_secret(user: User) -> str:
    return setup.app_secret(AuthenticatorApp.objects.get(user=user))


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The code the app shows `offset_steps` 30-second steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def fresh_code(secret: str) -> str:
    """A code not spent yet: the next step's (the confirming code spent the current one)."""
    return code_at(secret, 1)


def post_password(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": email, "password": password})


def post_code(client: Client, method: str, code: str) -> Any:
    return client.post("/accounts/login/second-step/", {"method": method, "code": code})


def origin() -> str:
    return passkeys.expected_origins()[0]


@dataclass
class SoftAuthenticator:
    """A passkey on a device: a P-256 key pair per credential, a sign counter, discoverable
    (it remembers the user handle it was made with)."""

    rp_id: str = "localhost"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    counter: int = 0
    user_handle: bytes = b""

    def _rp_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    @staticmethod
    def _client_data(kind: str, challenge: str, at: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": at, "crossOrigin": False}
        ).encode()

    def create(self, options: dict[str, Any], *, at: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create() with `options` (the JSON the server sent)."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        self.counter += 1
        auth_data = (
            self._rp_hash()
            + bytes([0x45])
            + self.counter.to_bytes(4, "big")
            + bytes(16)
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], at or origin())
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        at: str | None = None,
        counter: int | None = None,
        user_handle: bytes | None = None,
        rp_id: str | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.get(): a signed assertion. `counter` forces the sign
        counter (a cloned authenticator sends an old one); `at` another origin."""
        self.counter = self.counter + 1 if counter is None else counter
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([0x05]) + self.counter.to_bytes(4, "big")
        client_data = self._client_data("webauthn.get", options["challenge"], at or origin())
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        handle = self.user_handle if user_handle is None else user_handle
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(handle) if handle else None,
            },
            "clientExtensionResults": {},
        }


def add_passkey(client: Client, device: SoftAuthenticator, name: str = "Laptop") -> Any:
    """Add a passkey through the security page's JSON endpoints (a recent login needed)."""
    options = client.post("/accounts/security/passkeys/options/").json()
    return client.post(
        "/accounts/security/passkeys/add/",
        {"credential": device.create(options), "name": name},
        content_type="application/json",
    )


def passkey_options(client: Client, purpose: str) -> dict[str, Any]:
    response = client.post("/accounts/passkey/options/", {"purpose": purpose})
    assert response.status_code == 200, response.content
    return dict(response.json())


def passkey_verify(client: Client, purpose: str, credential: dict[str, Any], **extra: Any) -> Any:
    return client.post(
        "/accounts/passkey/verify/",
        {"purpose": purpose, "credential": credential, **extra},
        content_type="application/json",
    )


def settings_rp_id() -> str:
    return str(settings.SECUREMAIL_WEBAUTHN_RP_ID or passkeys.rp_id())
