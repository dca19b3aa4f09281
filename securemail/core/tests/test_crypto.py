"""Envelope encryption (SPEC §6): data keys wrapped by versioned key-encryption keys, every
ciphertext bound to its context, rotation without downtime."""

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from securemail.core import crypto, shred

KEYS = {version: secrets.token_bytes(crypto.KEY_BYTES) for version in (1, 2, 3)}


@pytest.fixture
def use_keys(settings: Any) -> Iterator[Callable[..., None]]:
    """Switch the keyring to the given versions of KEYS (the keyring is cached per process)."""

    def use(*versions: int) -> None:
        settings.SECUREMAIL_KEYS = ",".join(crypto.format_key(v, KEYS[v]) for v in versions)
        settings.SECUREMAIL_ACTIVE_KEY_VERSION = None
        crypto.keyring.cache_clear()

    yield use
    crypto.keyring.cache_clear()


def test_data_key_wraps_and_unwraps(use_keys: Callable[..., None]) -> None:
    use_keys(1, 2)
    data_key = crypto.new_data_key()

    wrapped = crypto.wrap_data_key(data_key, context="message:abc")

    assert len(data_key) == crypto.KEY_BYTES
    assert data_key not in wrapped
    assert crypto.unwrap_data_key(wrapped, context="message:abc") == data_key
    # The newest version wraps new keys.
    assert crypto.wrapped_key_version(wrapped) == 2


def test_two_wraps_of_the_same_key_differ(use_keys: Callable[..., None]) -> None:
    use_keys(1)
    data_key = crypto.new_data_key()

    first = crypto.wrap_data_key(data_key, context="c")
    second = crypto.wrap_data_key(data_key, context="c")

    assert first != second


@pytest.mark.parametrize(
    "text", ["Crown prep for tooth 14", "", "Ünïcødé — 歯科 🦷", "x" * 100_000]
)
def test_sealed_text_opens_with_the_same_key_and_context(text: str) -> None:
    data_key = crypto.new_data_key()

    sealed = crypto.seal(data_key, text, context="message:abc:body")

    if text:
        assert text.encode() not in sealed
    assert crypto.open_sealed(data_key, sealed, context="message:abc:body") == text


def test_sealed_text_fails_in_another_context() -> None:
    data_key = crypto.new_data_key()
    sealed = crypto.seal(data_key, "Crown prep", context="message:abc:subject")

    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(data_key, sealed, context="message:abc:body")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(data_key, sealed, context="message:abd:subject")


def test_sealed_text_fails_with_another_key() -> None:
    sealed = crypto.seal(crypto.new_data_key(), "Crown prep", context="c")

    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(crypto.new_data_key(), sealed, context="c")


@pytest.mark.parametrize("damage", ["flip-first", "flip-last", "truncate", "empty"])
def test_damaged_sealed_text_fails(damage: str) -> None:
    data_key = crypto.new_data_key()
    sealed = bytearray(crypto.seal(data_key, "Crown prep", context="c"))
    if damage == "flip-first":
        sealed[0] ^= 1
    elif damage == "flip-last":
        sealed[-1] ^= 1
    elif damage == "truncate":
        sealed = sealed[:-1]
    else:
        sealed = bytearray()

    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(data_key, bytes(sealed), context="c")


def test_wrapped_key_fails_in_another_context(use_keys: Callable[..., None]) -> None:
    use_keys(1)
    wrapped = crypto.wrap_data_key(crypto.new_data_key(), context="message:abc")

    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(wrapped, context="message:abd")


@pytest.mark.parametrize("position", [0, 3, 10, 20, -1])
def test_damaged_wrapped_key_fails(position: int, use_keys: Callable[..., None]) -> None:
    use_keys(1, 2)
    wrapped = bytearray(crypto.wrap_data_key(crypto.new_data_key(), context="c"))
    wrapped[position] ^= 1

    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(bytes(wrapped), context="c")


def test_truncated_wrapped_key_fails(use_keys: Callable[..., None]) -> None:
    use_keys(1)
    wrapped = crypto.wrap_data_key(crypto.new_data_key(), context="c")

    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(wrapped[:20], context="c")


def test_key_version_missing_from_the_keyring_fails(use_keys: Callable[..., None]) -> None:
    use_keys(1, 2, 3)
    wrapped = crypto.wrap_data_key(crypto.new_data_key(), context="c")
    assert crypto.wrapped_key_version(wrapped) == 3

    use_keys(1, 2)

    with pytest.raises(crypto.DecryptionError, match="Key version 3 is not in the keyring"):
        crypto.unwrap_data_key(wrapped, context="c")


def test_same_version_with_another_key_fails(use_keys: Callable[..., None], settings: Any) -> None:
    use_keys(1)
    wrapped = crypto.wrap_data_key(crypto.new_data_key(), context="c")

    settings.SECUREMAIL_KEYS = crypto.format_key(1, secrets.token_bytes(crypto.KEY_BYTES))
    crypto.keyring.cache_clear()

    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(wrapped, context="c")


def test_keys_wrapped_before_a_rotation_still_open(use_keys: Callable[..., None]) -> None:
    use_keys(1)
    data_key = crypto.new_data_key()
    old = crypto.wrap_data_key(data_key, context="c")

    use_keys(1, 2)

    assert crypto.unwrap_data_key(old, context="c") == data_key
    new = crypto.wrap_data_key(data_key, context="c")
    assert crypto.wrapped_key_version(old) == 1
    assert crypto.wrapped_key_version(new) == 2
    assert crypto.unwrap_data_key(new, context="c") == data_key


def test_pinned_active_version_wraps_new_keys(use_keys: Callable[..., None], settings: Any) -> None:
    use_keys(1, 2)
    settings.SECUREMAIL_ACTIVE_KEY_VERSION = 1
    crypto.keyring.cache_clear()

    wrapped = crypto.wrap_data_key(crypto.new_data_key(), context="c")

    assert crypto.wrapped_key_version(wrapped) == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1:not-base64!",
        "one:" + crypto.format_key(1, KEYS[1]).split(":", 1)[1],
        crypto.format_key(0, KEYS[1]),
        crypto.format_key(1, KEYS[1][:16]),
    ],
    ids=["empty", "blank", "bad-base64", "bad-version", "version-zero", "short-key"],
)
def test_malformed_keyring_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        crypto.parse_keys(text)


def test_keyring_text_allows_commas_new_lines_and_comments() -> None:
    text = (
        f"# rotated 2031-03-01\n{crypto.format_key(1, KEYS[1])},\n{crypto.format_key(2, KEYS[2])}\n"
    )

    assert crypto.parse_keys(text) == {1: KEYS[1], 2: KEYS[2]}


def test_a_ratchet_left_behind_for_days_is_reported(tmp_path: Path, caplog: Any) -> None:
    shred.ratchet.cache_clear()
    try:
        with override_settings(
            SECUREMAIL_RATCHET_FILE=tmp_path / "ratchet", SECUREMAIL_CREATE_MISSING_KEYS=True
        ):
            later = shred.today() + timedelta(days=10)
            shred.day_key(later)
            assert not [r for r in caplog.records if "ratchet" in r.getMessage()]
            # Three days on and nobody advanced it (the worker is down).
            with time_machine.travel(timezone.now() + timedelta(days=3)):
                shred.day_key(later)
            [record] = [r for r in caplog.records if "ratchet" in r.getMessage()]
            assert record.levelname == "ERROR"
            assert "3 days behind" in record.getMessage()
    finally:
        shred.ratchet.cache_clear()
