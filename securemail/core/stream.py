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
    """Seals plaintext fed in any sizes. Full pieces are sealed straight from the caller's
    buffer (no copy); only a piece split across two calls is gathered in a small buffer."""

    def __init__(self, data_key: bytes, *, context: str) -> None:
        self._aes = AESGCM(data_key)
        self._context = context
        self._index = 0
        # A partial piece, gathered across calls.
        self._tail = bytearray()
        # A full piece held back: only finalize() knows whether it is the last one.
        self._held: bytes | memoryview | None = None
        self.plaintext_size = 0

    def _seal(self, piece: bytes | bytearray | memoryview, *, final: bool) -> bytes:
        sealed = self._aes.encrypt(
            _nonce(self._index), piece, _aad(self._context, self._index, final)
        )
        self._index += 1
        return sealed

    def update(self, data: bytes) -> bytes:
        """Feed plaintext; returns the sealed pieces now complete (maybe none)."""
        if not data:
            return b""
        self.plaintext_size += len(data)
        sealed: list[bytes] = []
        if self._held is not None:
            # More data follows, so the held piece was not the last.
            sealed.append(self._seal(self._held, final=False))
            self._held = None
        # Held by reference below: it must not change under us.
        view = memoryview(data if isinstance(data, bytes) else bytes(data))
        if self._tail:
            needed = CHUNK - len(self._tail)
            self._tail += view[:needed]
            view = view[needed:]
            if len(self._tail) == CHUNK:
                if len(view):
                    sealed.append(self._seal(self._tail, final=False))
                else:
                    self._held = bytes(self._tail)
                self._tail = bytearray()
        while len(view) > CHUNK:
            sealed.append(self._seal(view[:CHUNK], final=False))
            view = view[CHUNK:]
        if len(view) == CHUNK:
            self._held = view
        elif len(view):
            self._tail += view
        return sealed[0] if len(sealed) == 1 else b"".join(sealed)

    def finalize(self) -> bytes:
        piece = self._held if self._held is not None else bytes(self._tail)
        sealed = self._seal(piece, final=True)
        self._held = None
        self._tail = bytearray()
        return sealed


def _read_piece(source: BinaryIO, buffer: bytearray) -> memoryview:
    """Read one sealed piece into `buffer`: SEALED_CHUNK bytes, or fewer only at the end of
    the stream (a network-backed store may return short reads, so keep reading until then).
    Reading into a reused buffer spares an allocation per piece."""
    view = memoryview(buffer)
    readinto = getattr(source, "readinto", None)
    size = 0
    while size < SEALED_CHUNK:
        if readinto is not None:
            got = readinto(view[size:])
        else:
            # A store whose streams only read(): copy what it returns.
            data = source.read(SEALED_CHUNK - size)
            got = len(data)
            view[size : size + got] = data
        if not got:
            break
        size += got
    return view[:size]


def decrypt_stream(source: BinaryIO, data_key: bytes, *, context: str) -> Iterator[bytes]:
    """Yield plaintext pieces; raises DecryptionError on any tampering or truncation."""
    aes = AESGCM(data_key)
    index = 0
    # Two buffers: the piece being opened and the one after it (to know which is last).
    buffers = (bytearray(SEALED_CHUNK), bytearray(SEALED_CHUNK))
    current = _read_piece(source, buffers[0])
    if not current:
        raise DecryptionError("Empty ciphertext stream.")
    while True:
        following = (
            _read_piece(source, buffers[(index + 1) % 2])
            if len(current) == SEALED_CHUNK
            else memoryview(b"")
        )
        final = not following
        try:
            yield aes.decrypt(_nonce(index), current, _aad(context, index, final))
        except InvalidTag:
            raise DecryptionError("Attachment failed its integrity check.") from None
        if final:
            return
        index += 1
        current = following
