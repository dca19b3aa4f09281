"""The audit chain's key: entries are chained with HMAC-SHA256 under a key kept outside the
database (like the keyring), so someone who can write to the database can't rebuild the
chain after an edit. `SECUREMAIL_AUDIT_KEY` (base64 of 32 bytes, or `…_FILE`); under
`make run` a file under var/ created on first use."""

import base64
import functools
import os
import secrets

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32


def chain_key() -> bytes:
    return _load(settings.SECUREMAIL_AUDIT_KEY, str(settings.SECUREMAIL_AUDIT_KEY_PATH))


@functools.cache
def _load(configured: str, path: str) -> bytes:
    text = configured
    if not text:
        if not os.path.exists(path):
            if not settings.SECUREMAIL_CREATE_MISSING_KEYS:
                raise ImproperlyConfigured("SECUREMAIL_AUDIT_KEY is not set.")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as error:
        raise ImproperlyConfigured("SECUREMAIL_AUDIT_KEY is not valid base64.") from error
    if len(key) != KEY_BYTES:
        raise ImproperlyConfigured("SECUREMAIL_AUDIT_KEY must be 32 bytes (base64).")
    return key
