"""Webhook signatures the way Stripe makes them: header `t=<unix time>,v1=<hex>` where the
hex is HMAC-SHA256(secret, "<t>.<raw body>"). The test processor signs its own events so
they take the same path as Stripe's; tests sign Stripe payloads with it too."""

import hashlib
import hmac
import time

from securemail.billing.processors.base import BadSignature

TOLERANCE_SECONDS = 300


def sign(payload: bytes, secret: str, *, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(payload: bytes, header: str, secret: str) -> None:
    """BadSignature unless `header` signs `payload` with `secret`, within five minutes."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise BadSignature("no timestamp") from None
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        raise BadSignature("too old")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise BadSignature("no matching signature")
