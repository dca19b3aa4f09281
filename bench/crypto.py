"""Encryption at rest: what it costs (issue 3's targets).

Prints, for a 2 KB message and for 1 MB and 100 MB attachments, the time to encrypt and to
decrypt and the throughput, next to the raw AES-256-GCM speed of `cryptography` measured in
the same run, plus the peak memory of streaming 100 MB in and out.

    .venv/bin/python bench/crypto.py
"""

import gc
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemail.settings_test")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import django

django.setup()

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from django.utils import timezone  # noqa: E402

from securemail.core import crypto  # noqa: E402
from securemail.core.stream import CHUNK, StreamEncryptor, decrypt_stream  # noqa: E402
from securemail.messaging.content import open_content, seal_content  # noqa: E402
from securemail.messaging.models import Message  # noqa: E402

MB = 1024 * 1024


def median_us(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def bench_message() -> tuple[float, float]:
    body = "x" * 2048
    message = Message(id=uuid.uuid4(), sent_at=timezone.now())
    message.expires_at = message.sent_at + timedelta(days=30)
    seal_content(message, subject="Subject", body=body)  # warm caches
    enc = median_us(lambda: seal_content(message, subject="Subject", body=body), 2000)
    dec = median_us(lambda: open_content(message), 2000)
    return enc, dec


def raw_aesgcm_mbps(total: int) -> tuple[float, float]:
    """The limit: cryptography's AES-256-GCM on 64 KiB pieces in memory (best of 3)."""
    key = AESGCM.generate_key(bit_length=256)
    aes = AESGCM(key)
    piece = os.urandom(CHUNK)
    nonce = os.urandom(12)
    sealed = aes.encrypt(nonce, piece, None)
    best_enc = best_dec = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(total // CHUNK):
            aes.encrypt(nonce, piece, None)
        best_enc = max(best_enc, total / MB / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(total // CHUNK):
            aes.decrypt(nonce, sealed, None)
        best_dec = max(best_dec, total / MB / (time.perf_counter() - start))
    return best_enc, best_dec


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        return len(data)


def stream_in_memory(total: int) -> tuple[float, float]:
    """The streaming crypto alone: encrypt to a discarding sink, decrypt from memory."""
    key = crypto.new_data_key()
    piece = os.urandom(CHUNK)
    start = time.perf_counter()
    enc = StreamEncryptor(key, context="bench")
    sink = _Discard()
    for _ in range(total // CHUNK):
        sink.write(enc.update(piece))
    sink.write(enc.finalize())
    enc_s = time.perf_counter() - start
    sealed = StreamEncryptor(key, context="bench")
    blob = io.BytesIO()
    for _ in range(min(total, 64 * MB) // CHUNK):
        blob.write(sealed.update(piece))
    blob.write(sealed.finalize())
    blob.seek(0)
    start = time.perf_counter()
    size = 0
    for plain in decrypt_stream(blob, key, context="bench"):
        size += len(plain)
    dec_s = (time.perf_counter() - start) * total / size
    return enc_s, dec_s


def stream_once(total: int) -> tuple[float, float]:
    """Encrypt `total` bytes as an upload would (64 KiB pieces) to a file, and back."""
    key = crypto.new_data_key()
    piece = os.urandom(CHUNK)
    sink = io.BytesIO() if total <= 8 * MB else None
    path = os.path.join(tempfile.gettempdir(), f"securemail-bench-{os.getpid()}.bin")
    out = sink or open(path, "wb")  # noqa: SIM115
    start = time.perf_counter()
    enc = StreamEncryptor(key, context="bench")
    for _ in range(total // CHUNK):
        out.write(enc.update(piece))
    out.write(enc.finalize())
    enc_s = time.perf_counter() - start
    if sink is None:
        out.close()
        source = open(path, "rb")  # noqa: SIM115
    else:
        sink.seek(0)
        source = sink
    start = time.perf_counter()
    for _ in decrypt_stream(source, key, context="bench"):
        pass
    dec_s = time.perf_counter() - start
    source.close()
    if sink is None:
        os.unlink(path)
    return enc_s, dec_s


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def peak_memory_mb(total: int) -> float:
    """Stream 100 MB in and out in a fresh process; peak RSS above its idle RSS, in MB.
    The high-water mark is reset first (/proc/self/clear_refs), so imports don't count."""
    code = (
        "import gc, sys; import bench.crypto as b; gc.collect();"
        "open('/proc/self/clear_refs','w').write('5');"
        "idle=b._status_kb('VmRSS');"
        f"b.stream_once({total});"
        "print((b._status_kb('VmHWM')-idle)/1024)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    gc.collect()
    enc_us, dec_us = bench_message()
    raw_enc, raw_dec = raw_aesgcm_mbps(256 * MB)
    rows = []
    for size in (1 * MB, 100 * MB):
        runs = [stream_in_memory(size) for _ in range(3)]
        rows.append((f"{size // MB} MB, streaming", size, runs))
        if size > MB:
            rows.append((f"{size // MB} MB, to/from disk", size, [stream_once(size)]))
    peak = peak_memory_mb(100 * MB)

    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"raw AES-256-GCM (cryptography, 64 KiB pieces in memory): encrypt {raw_enc:,.0f} MB/s,"
        f" decrypt {raw_dec:,.0f} MB/s"
    )
    print("attachments: 64 KiB pieces; 'to/from disk' includes writing and reading a file")
    print()
    print(f"{'what':<26}{'encrypt':>14}{'decrypt':>14}{'enc % raw':>11}{'dec % raw':>11}  target")
    print(
        f"{'2 KB message':<26}{enc_us:>11.1f} µs{dec_us:>11.1f} µs{'':>11}{'':>11}  seal <= 200 µs"
    )
    for label, size, runs in rows:
        enc_s = min(r[0] for r in runs)
        dec_s = min(r[1] for r in runs)
        enc_mbps, dec_mbps = size / MB / enc_s, size / MB / dec_s
        print(
            f"{label:<26}{enc_mbps:>9,.0f} MB/s{dec_mbps:>9,.0f} MB/s"
            f"{enc_mbps / raw_enc * 100:>10.0f}%{dec_mbps / raw_dec * 100:>10.0f}%  >= 50 %"
        )
    print(f"{'peak memory, 100 MB in+out':<26}{peak:>11.1f} MB{'':>14}{'':>11}{'':>11}  <= 32 MB")


if __name__ == "__main__":
    main()
