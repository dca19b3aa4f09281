"""Issue 3, point 3: key-encryption keys come from a keyring outside the database (a key
file, an environment variable or a `*_FILE` secret, behind a small store interface), and with
DEBUG off the product refuses to start without them."""

import base64
import os
import secrets
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from securemail.accounts.models import User
from securemail.core import crypto, shred
from securemail.core.env import env_secret
from securemail.messaging import services
from tests.security.helpers import PRODUCTION_ENV

KEY_VARIABLES = ("SECUREMAIL_KEYS", "SECUREMAIL_KEYS_FILE", "SECUREMAIL_KEYRING_FILE")
# Load the settings and start Django, then say which key versions the keyring holds.
START = (
    "import django; django.setup(); "
    "from securemail.core import crypto; "
    "print('versions', sorted(crypto.keyring().store.versions()))"
)


def _start_production(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Start Django with DEBUG off in a fresh process, with only the given key settings."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in KEY_VARIABLES and not k.startswith(("SECUREMAIL_", "DJANGO_", "DEBUG"))
    }
    full = {**base, **PRODUCTION_ENV, "SECUREMAIL_VAR_DIR": str(tmp_path / "var"), **env}
    return subprocess.run(
        [sys.executable, "-c", START],
        env=full,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _key_text(*versions: int) -> str:
    return ",".join(crypto.format_key(v, secrets.token_bytes(crypto.KEY_BYTES)) for v in versions)


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    result = _start_production(tmp_path, SECUREMAIL_RATCHET_FILE=str(tmp_path / "ratchet"))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECUREMAIL_KEYS" in result.stderr
    assert "versions" not in result.stdout


def test_production_refuses_to_start_without_the_shredding_ratchet(tmp_path: Path) -> None:
    result = _start_production(tmp_path, SECUREMAIL_KEYS=_key_text(1))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECUREMAIL_RATCHET_FILE" in result.stderr
    assert "versions" not in result.stdout


def test_production_starts_with_keys_given_as_a_file_secret(tmp_path: Path) -> None:
    # Control for the two refusals above: the same environment plus the keys starts.
    secret = tmp_path / "keys-secret"
    secret.write_text(_key_text(1, 2) + "\n")

    result = _start_production(
        tmp_path,
        SECUREMAIL_KEYS_FILE=str(secret),
        SECUREMAIL_RATCHET_FILE=str(tmp_path / "ratchet"),
    )

    assert result.returncode == 0, result.stderr
    assert "versions [1, 2]" in result.stdout
    # Nothing was created in its place: production is given its keys, never invents them.
    assert not (tmp_path / "var" / "keyring").exists()


def test_a_file_secret_is_read_for_the_keys(tmp_path: Path, monkeypatch: Any) -> None:
    secret = tmp_path / "keys-secret"
    text = _key_text(3)
    secret.write_text(f"{text}\n")
    monkeypatch.setenv("SECUREMAIL_KEYS", "1:not-this-one")
    monkeypatch.setenv("SECUREMAIL_KEYS_FILE", str(secret))

    assert env_secret("SECUREMAIL_KEYS") == text
    assert sorted(crypto.EnvKeyStore(env_secret("SECUREMAIL_KEYS")).versions()) == [3]

    monkeypatch.delenv("SECUREMAIL_KEYS_FILE")
    assert env_secret("SECUREMAIL_KEYS") == "1:not-this-one"


def test_the_keyring_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keyring"

    store = crypto.FileKeyStore(path, create=True)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(store.versions()) == [1]
    # Adding a version rewrites the file: still owner-only.
    assert store.add_version() == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(crypto.FileKeyStore(path, create=False).versions()) == [1, 2]


def test_a_missing_keyring_file_is_not_created_when_production_says_so(tmp_path: Path) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="does not exist"):
        crypto.FileKeyStore(tmp_path / "keyring", create=False)
    assert not (tmp_path / "keyring").exists()


def test_the_shredding_ratchet_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ratchet"

    store = shred.FileRatchetStore(path, create=True)
    store.advance_to(store.load().day + timedelta(days=1))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


class _VaultLikeStore:
    """A key store that is neither the environment nor a file, as a KMS would be."""

    def __init__(self) -> None:
        self.keys = {7: secrets.token_bytes(crypto.KEY_BYTES)}
        self.reads = 0

    def versions(self) -> dict[int, bytes]:
        self.reads += 1
        return self.keys

    def add_version(self) -> int:
        raise NotImplementedError

    def remove_version(self, version: int) -> None:
        raise NotImplementedError


def test_another_key_store_plugs_in_without_touching_callers(monkeypatch: Any) -> None:
    store = _VaultLikeStore()
    monkeypatch.setattr(crypto, "keyring", lambda: crypto.Keyring(store))
    data_key = crypto.new_data_key()

    wrapped = crypto.wrap_data_key(data_key, context="message:vault")

    assert crypto.wrapped_key_version(wrapped) == 7
    assert crypto.unwrap_data_key(wrapped, context="message:vault") == data_key
    assert store.reads >= 2
    # Without its key, the wrapped key is useless.
    store.keys = {8: secrets.token_bytes(crypto.KEY_BYTES)}
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(wrapped, context="message:vault")


def _every_stored_byte() -> bytes:
    out = bytearray()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    out += (
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
                    out += b"\x00"
    return bytes(out)


@pytest.mark.django_db
def test_no_key_encryption_key_or_day_key_is_stored_in_the_database(
    doctor: User, patient: User
) -> None:
    message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject="Follow-up",
        body="Your crown is ready.",
    )
    day = message.expires_at.date()
    secrets_held = [
        *crypto.keyring().store.versions().values(),
        shred.day_key(day),
        shred.ratchet().load().secret,
    ]

    stored = _every_stored_byte()

    # Control: the wrapped data key is there, so the search reads the real rows.
    assert bytes(message.wrapped_key) in stored
    for key in secrets_held:
        for form in (key, key.hex().encode(), base64.b64encode(key)):
            assert form not in stored
