"""Chunked AES-256-GCM for files of any size with bounded memory.

Plaintext is cut into CHUNK-byte pieces; piece i is sealed with nonce = i and associated
data naming the file, i, and whether it is the last piece. A reordered, dropped, duplicated
or truncated piece therefore fails to open (the STREAM construction of Hoang, Reyhanitabar,
Rogaway and Vizár). Each file has its own data key, so counter nonces never repeat.
"""

from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemail.core.crypto import DecryptionError

CHUNK = 64 * 1024
TAG = 16
SEALED_CHUNK = CHUNK + TAG


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(context: str, index: int, final: bool) -> bytes:
    return f"{context}|{index}|{int(final)}".encode()


class StreamEncryptor:
    def __init__(self, data_key: bytes, *, context: str) -> None:
        self._aes = AESGCM(data_key)
        self._context = context
        self._index = 0
        self._buffer = bytearray()
        self.plaintext_size = 0

    def _seal(self, piece: bytes | memoryview, *, final: bool) -> bytes:
        sealed = self._aes.encrypt(
            _nonce(self._index), piece, _aad(self._context, self._index, final)
        )
        self._index += 1
        return sealed

    def update(self, data: bytes) -> bytes:
        """Feed plaintext; returns the sealed pieces now complete (maybe none)."""
        self.plaintext_size += len(data)
        self._buffer += data
        if len(self._buffer) <= CHUNK:
            return b""
        # Keep at least one byte back: only finalize() knows which piece is the last.
        full = (len(self._buffer) - 1) // CHUNK
        with memoryview(self._buffer) as view:
            sealed = [
                self._seal(view[i * CHUNK : (i + 1) * CHUNK], final=False) for i in range(full)
            ]
        del self._buffer[: full * CHUNK]
        return sealed[0] if full == 1 else b"".join(sealed)

    def finalize(self) -> bytes:
        sealed = self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()
        return sealed


def decrypt_stream(source: BinaryIO, data_key: bytes, *, context: str) -> Iterator[bytes]:
    """Yield plaintext pieces; raises DecryptionError on any tampering or truncation."""
    aes = AESGCM(data_key)
    index = 0
    current = source.read(SEALED_CHUNK)
    if not current:
        raise DecryptionError("Empty ciphertext stream.")
    while True:
        following = source.read(SEALED_CHUNK) if len(current) == SEALED_CHUNK else b""
        final = not following
        try:
            yield aes.decrypt(_nonce(index), current, _aad(context, index, final))
        except InvalidTag:
            raise DecryptionError("Attachment failed its integrity check.") from None
        if final:
            return
        index += 1
        current = following
