"""Issue 3, point 6: attachments are encrypted as they stream in, in fixed-size chunks, so
memory stays bounded whatever the size; a truncated, reordered, dropped or duplicated chunk
is detected; downloads are always downloads, typed from their content."""

import io
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from securemail.accounts.models import User
from securemail.core.crypto import DecryptionError, new_data_key
from securemail.core.stream import CHUNK, SEALED_CHUNK, StreamEncryptor, decrypt_stream
from securemail.messaging import services
from securemail.messaging.content import OpenedAttachment, attachment_chunks
from securemail.messaging.models import Attachment, Message
from securemail.messaging.uploads import UPLOAD_FIELD, EncryptedUpload, EncryptingUploadHandler
from tests.security.helpers import PNG_HEADER, compose_with_files, files_under
from tests.support import attachment_url, downloaded, encrypted_upload, file_upload

CONTEXT = "blob:" + "ab" * 16
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]


def _encrypt(data: bytes, key: bytes, *, piece: int = 10_000) -> bytes:
    """Feed the encryptor as an upload arrives: in pieces unrelated to its chunk size."""
    encryptor = StreamEncryptor(key, context=CONTEXT)
    out = bytearray()
    for start in range(0, len(data), piece):
        out += encryptor.update(data[start : start + piece])
    out += encryptor.finalize()
    return bytes(out)


def _decrypt(sealed: bytes, key: bytes) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(sealed), key, context=CONTEXT))


def _chunks(sealed: bytes) -> list[bytes]:
    return [sealed[i : i + SEALED_CHUNK] for i in range(0, len(sealed), SEALED_CHUNK)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("piece", [1000, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_streams_of_every_boundary_size_come_back_intact(size: int, piece: int) -> None:
    key = new_data_key()
    data = os.urandom(size)

    sealed = _encrypt(data, key, piece=piece)

    # One tag per chunk, and a last chunk even when the data ends on a boundary.
    chunks = max(1, -(-size // CHUNK))
    assert len(sealed) == size + 16 * chunks
    assert _decrypt(sealed, key) == data


class _ShortReads(io.BytesIO):
    """A store that answers reads in small, uneven pieces, as a network stream may."""

    def read(self, size: int | None = -1) -> bytes:
        limit = 7_777 if size is None or size < 0 else min(size, 7_777)
        return super().read(limit)


@pytest.mark.parametrize("size", [CHUNK, 3 * CHUNK + 5])
def test_short_reads_from_the_store_still_decrypt(size: int) -> None:
    key = new_data_key()
    data = os.urandom(size)
    sealed = _encrypt(data, key)

    plain = b"".join(decrypt_stream(_ShortReads(sealed), key, context=CONTEXT))

    assert plain == data


def test_the_same_plaintext_seals_the_same_way_whatever_the_upload_pieces() -> None:
    # Pieces held back, split and gathered differently must still make the same stream
    # (same nonces, same last-piece flag): each version decrypts with the other's reader.
    key = new_data_key()
    data = os.urandom(2 * CHUNK)
    sizes = {len(_encrypt(data, key, piece=p)) for p in (1000, CHUNK, CHUNK + 1, 2 * CHUNK)}
    assert sizes == {2 * CHUNK + 2 * 16}
    for piece in (1000, CHUNK, CHUNK + 1, 2 * CHUNK):
        assert _decrypt(_encrypt(data, key, piece=piece), key) == data


def _tampered() -> dict[str, bytes]:
    key = new_data_key()
    sealed = _encrypt(os.urandom(3 * CHUNK + 5), key)
    parts = _chunks(sealed)
    assert len(parts) == 4
    return {
        "key": key,
        "intact": sealed,
        "dropped last chunk": b"".join(parts[:-1]),
        "dropped a middle chunk": b"".join([parts[0], parts[2], parts[3]]),
        "truncated mid-chunk": sealed[: SEALED_CHUNK + SEALED_CHUNK // 2],
        "truncated last bytes": sealed[:-1],
        "swapped two chunks": b"".join([parts[1], parts[0], parts[2], parts[3]]),
        "duplicated a chunk": b"".join([parts[0], parts[1], parts[1], parts[2], parts[3]]),
        "appended a chunk": sealed + parts[1],
        "empty": b"",
    }


@pytest.mark.parametrize(
    "damage",
    [
        "dropped last chunk",
        "dropped a middle chunk",
        "truncated mid-chunk",
        "truncated last bytes",
        "swapped two chunks",
        "duplicated a chunk",
        "appended a chunk",
        "empty",
    ],
)
def test_a_damaged_stream_fails_its_check(damage: str) -> None:
    streams = _tampered()
    # Control: the intact stream opens with the same key.
    assert len(_decrypt(streams["intact"], streams["key"])) == 3 * CHUNK + 5

    with pytest.raises(DecryptionError):
        _decrypt(streams[damage], streams["key"])


def test_a_stream_fails_under_another_files_name() -> None:
    key = new_data_key()
    sealed = _encrypt(b"panoramic radiograph", key)

    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream(io.BytesIO(sealed), key, context="blob:" + "cd" * 16))


class _Pipe:
    """A file-like whose bytes come from an iterator, so nothing holds the whole stream."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


SIXTEEN_MB = 16 * 1024 * 1024
MEMORY_LIMIT = 2 * 1024 * 1024


def test_streaming_16_mb_through_encryptor_and_decryptor_stays_under_2_mb() -> None:
    key = new_data_key()
    block = os.urandom(64 * 1024 + 7)

    def sealed_pieces() -> Iterator[bytes]:
        encryptor = StreamEncryptor(key, context=CONTEXT)
        sent = 0
        while sent < SIXTEEN_MB:
            piece = block[: min(len(block), SIXTEEN_MB - sent)]
            sent += len(piece)
            yield encryptor.update(piece)
        yield encryptor.finalize()

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        received = 0
        for plain in decrypt_stream(_Pipe(sealed_pieces()), key, context=CONTEXT):  # type: ignore[arg-type]
            received += len(plain)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert received == SIXTEEN_MB
    assert peak < MEMORY_LIMIT, f"peak {peak} bytes"


def test_uploading_and_downloading_16_mb_through_the_store_stays_under_2_mb() -> None:
    block = os.urandom(64 * 1024)
    handler = EncryptingUploadHandler(None)
    tracemalloc.start()
    try:
        # The upload path: Django hands the handler 64 KB pieces; the blob goes to disk.
        tracemalloc.reset_peak()
        handler.new_file(UPLOAD_FIELD, "scan.bin", "application/octet-stream", SIXTEEN_MB)
        for start in range(0, SIXTEEN_MB, len(block)):
            handler.receive_data_chunk(block, start)
        upload = handler.file_complete(SIXTEEN_MB)
        _, upload_peak = tracemalloc.get_traced_memory()
        assert isinstance(upload, EncryptedUpload)

        # The download path, as the view streams it.
        tracemalloc.reset_peak()
        opened = OpenedAttachment(
            attachment=Attachment(blob_name=upload.blob_name),
            name="scan.bin",
            data_key=upload.data_key,
        )
        received = sum(len(piece) for piece in attachment_chunks(opened))
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        for done in handler.uploads:
            done.discard()

    assert upload.size == SIXTEEN_MB
    assert received == SIXTEEN_MB
    assert upload_peak < MEMORY_LIMIT, f"upload peak {upload_peak} bytes"
    assert download_peak < MEMORY_LIMIT, f"download peak {download_peak} bytes"


# --- through the pages -------------------------------------------------------------------


def _send_files(login: Any, doctor: User, patient: User, *files: Any) -> Message:
    response = compose_with_files(
        login(doctor), to=patient.email, subject="Files", body="Attached.", files=files
    )
    assert response.status_code == 302, response.content[:500]
    return Message.objects.get()


@pytest.mark.django_db
def test_a_3_mb_upload_downloads_byte_identical_as_a_download(
    login: Any, doctor: User, patient: User
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    message = _send_files(login, doctor, patient, file_upload("panorex.bin", data, "image/jpeg"))
    attachment = Attachment.objects.get(message=message)

    response = login(patient).get(attachment_url(attachment))

    assert response.status_code == 200
    assert response.streaming
    assert downloaded(response) == data
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="panorex.bin"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    # Typed from its bytes (random), not from what the browser claimed.
    assert response["Content-Type"] == "application/octet-stream"


@pytest.mark.django_db
def test_the_content_type_comes_from_the_content_and_html_is_never_inline(
    login: Any, doctor: User, patient: User
) -> None:
    png = PNG_HEADER + os.urandom(2000)
    html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
    _send_files(
        login,
        doctor,
        patient,
        file_upload("x.txt", png, "text/plain"),
        file_upload("notes.html", html, "text/html"),
    )
    as_png, as_html = Attachment.objects.order_by("position")
    reader = login(patient)

    png_response = reader.get(attachment_url(as_png))
    html_response = reader.get(attachment_url(as_html))

    assert png_response["Content-Type"] == "image/png"
    assert downloaded(png_response) == png
    assert downloaded(html_response) == html
    for response in (png_response, html_response):
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
    # Even when typed as HTML it is a download in a sandbox, never a page of the site.
    assert "inline" not in html_response["Content-Disposition"]


@pytest.mark.django_db
def test_an_oversized_file_is_refused_clearly_and_leaves_no_blob(
    login: Any, doctor: User, patient: User, settings: Any
) -> None:
    settings.SECUREMAIL_MAX_ATTACHMENT_BYTES = 100_000
    blobs = Path(settings.MEDIA_ROOT) / "blobs"
    before = set(files_under(blobs))

    response = compose_with_files(
        login(doctor),
        to=patient.email,
        subject="Files",
        body="Attached.",
        files=[
            file_upload("small.txt", b"fits" * 100),
            file_upload("cbct-scan.bin", os.urandom(150_000), "application/octet-stream"),
        ],
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "“cbct-scan.bin” is larger than" in page
    assert "the limit for one file" in page
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()
    # Neither the refused file nor the one that fitted left ciphertext behind.
    assert set(files_under(blobs)) == before


@pytest.mark.django_db
def test_a_download_out_of_reach_is_a_404(
    login: Any, doctor: User, patient: User, outsider: User
) -> None:
    message = _send_files(login, doctor, patient, file_upload("chart.txt", b"tooth 14 mesial"))
    attachment = Attachment.objects.get(message=message)
    other = encrypted_upload("other.txt", b"someone else's file")
    other_message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject="Other",
        body="Other file.",
        attachments=[other],
    )
    other_attachment = Attachment.objects.get(message=other_message)

    # Control: the recipient downloads it.
    assert login(patient).get(attachment_url(attachment)).status_code == 200

    assert login(outsider).get(attachment_url(attachment)).status_code == 404
    reader = login(patient)
    assert reader.get(f"/m/{message.pk}/a/not-a-uuid/").status_code == 404
    assert reader.get(f"/m/{message.pk}/a/{uuid.uuid4()}/").status_code == 404
    # Another message's attachment under this message's address.
    assert reader.get(f"/m/{message.pk}/a/{other_attachment.pk}/").status_code == 404


def test_the_settings_install_no_handler_that_spools_plaintext() -> None:
    # Django's defaults would keep small uploads in memory and large ones in a temporary
    # file in clear; only the encrypting handler (installed by the views) may run.
    assert settings.FILE_UPLOAD_HANDLERS == []
