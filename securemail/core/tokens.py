"""Single-use link tokens and one-time codes: only hashes are ever stored."""

import hashlib
import hmac
import secrets

from django.utils.crypto import salted_hmac


def new_link_token() -> tuple[str, str]:
    """Return (token for the URL, hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_link_token(token)


def hash_link_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def hash_code(code: str, *, salt: str) -> str:
    return salted_hmac(f"securemail.code.{salt}", code.strip(), algorithm="sha256").hexdigest()


def code_matches(code: str, *, salt: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_code(code, salt=salt), expected_hash)
