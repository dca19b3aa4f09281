"""Uploads left behind by requests that died before they were answered (a web worker
killed mid-upload) are swept by the worker once no request can still be writing them;
live uploads and the files of sent messages are not (issue 9)."""

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.models import Attachment
from securemail.messaging.services.blobs import ABANDONED_AFTER
from securemail.messaging.tests.helpers import send_with_files
from securemail.messaging.uploads import UPLOAD_FIELD, EncryptedUpload, EncryptingUploadHandler
from securemail.ops import worker
from tests.support import attachment_url, blob_path, downloaded, encrypted_upload, frozen_clock

pytestmark = pytest.mark.django_db

PIECE = 64 * 1024


def _start_upload(name: str, pieces: int) -> EncryptingUploadHandler:
    """An upload as a request's body arrives: the real handler, `pieces` pieces in."""
    handler = EncryptingUploadHandler(None)
    handler.new_file(UPLOAD_FIELD, name, "application/octet-stream", None)
    for i in range(pieces):
        handler.receive_data_chunk(b"\x07" * PIECE, i * PIECE)
    return handler


def _last_written(blob_name: str, when: float) -> None:
    os.utime(blob_path(blob_name), (when, when))


def _untouched_long_enough() -> float:
    return time.time() - ABANDONED_AFTER.total_seconds() - 60


def test_the_sweep_removes_abandoned_uploads_and_keeps_live_ones_and_sent_files(
    own_files: Path, doctor: User, patient: User, login: Any
) -> None:
    sent = send_with_files(doctor, patient, files={"panorex.png": b"\x89PNG" + b"\x01" * 5000})
    sent_file = Attachment.objects.get(message=sent)
    # A worker killed halfway through a file: its blob is cut off, its handler gone (and
    # its open file closed, as the system closes a dead process's files).
    killed = _start_upload("cbct.bin", pieces=3)
    [killed_mid_file] = killed.close()
    # A worker killed after the body was read, before the message was stored.
    killed_before_sending = encrypted_upload("letter.pdf", b"%PDF-1.7 referral").blob_name
    for name in (sent_file.blob_name, killed_mid_file, killed_before_sending):
        _last_written(name, _untouched_long_enough())
    # Live: a file still arriving, and one just read whose message is being stored.
    arriving = _start_upload("x-ray.bin", pieces=2)
    just_read = encrypted_upload("notes.txt", b"Ice 20 minutes on, 20 off.")

    swept = services.sweep_abandoned_uploads()

    assert swept == 2
    assert not blob_path(killed_mid_file).exists()
    assert not blob_path(killed_before_sending).exists()
    for name in (sent_file.blob_name, arriving.blob_name, just_read.blob_name):
        assert blob_path(name).exists()
    # The live upload finishes and goes out whole.
    arriving.receive_data_chunk(b"\x07" * 10, 2 * PIECE)
    upload = arriving.file_complete(2 * PIECE + 10)
    assert isinstance(upload, EncryptedUpload)
    message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject="X-ray",
        body="Attached.",
        client_token=uuid.uuid4(),
        attachments=[upload, just_read],
    )
    reader = login(patient)
    contents = [
        downloaded(reader.get(attachment_url(a)))
        for a in Attachment.objects.filter(message=message).order_by("position")
    ]
    assert contents == [b"\x07" * (2 * PIECE + 10), b"Ice 20 minutes on, 20 off."]
    assert downloaded(reader.get(attachment_url(sent_file))) == b"\x89PNG" + b"\x01" * 5000


def test_a_sweep_by_prefix_looks_only_at_the_names_that_start_with_it(own_files: Path) -> None:
    abandoned = encrypted_upload("letter.pdf", b"%PDF-1.7 referral").blob_name
    _last_written(abandoned, _untouched_long_enough())
    other = next(f"{i:02x}" for i in range(256) if not abandoned.startswith(f"{i:02x}"))

    assert services.sweep_abandoned_uploads(prefix=other) == 0
    assert blob_path(abandoned).exists()
    assert services.sweep_abandoned_uploads(prefix=abandoned[:2]) == 1
    assert not blob_path(abandoned).exists()


def test_the_workers_periodic_pass_sweeps_an_abandoned_upload(
    own_files: Path, tmp_path: Path, doctor: User, patient: User
) -> None:
    sent = send_with_files(doctor, patient, files={"chart.txt": b"tooth 14 mesial caries"})
    sent_file = Attachment.objects.get(message=sent)
    abandoned = encrypted_upload("letter.pdf", b"%PDF-1.7 referral").blob_name
    # The next minute whose pass looks at the abandoned blob's part of the store.
    minute = int(time.time() // 60) + 1
    while minute % 256 != int(abandoned[:2], 16):
        minute += 1
    when = datetime.fromtimestamp(minute * 60 + 5, tz=UTC)
    live = encrypted_upload("notes.txt", b"Ice 20 minutes on.").blob_name

    with frozen_clock(when, tmp_path):
        long_ago = time.time() - ABANDONED_AFTER.total_seconds() - 60
        for name in (abandoned, sent_file.blob_name):
            _last_written(name, long_ago)
        if live[:2] == abandoned[:2]:
            _last_written(live, time.time())
        worker.periodic()

    assert not blob_path(abandoned).exists()
    assert blob_path(sent_file.blob_name).exists()
    assert blob_path(live).exists()


def test_the_worker_looks_at_every_part_of_the_store_every_256_minutes(
    monkeypatch: Any, tmp_path: Path
) -> None:
    asked: list[str] = []

    def record(*, prefix: str = "") -> int:
        asked.append(prefix)
        return 0

    monkeypatch.setattr(worker.messaging, "sweep_abandoned_uploads", record)
    start = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)

    with frozen_clock(start, tmp_path) as clock:
        for _ in range(256):
            worker.sweep_upload_leftovers()
            clock.shift(timedelta(minutes=1))

    assert sorted(asked) == [f"{i:02x}" for i in range(256)]
