"""localstripe (PyPI, GPL): a fake but stateful Stripe API, run as a separate process on a
loopback port for the Stripe contract tests. It gets its own virtualenv under
var/localstripe-venv (like bench/postman_venv.py), never the product's: it is a test tool
under another licence, with dependencies (aiohttp) the product doesn't need.

It knows customers, payment methods from test numbers, plans, subscriptions and invoices;
it has no Checkout and no Billing Portal (stripe_api.StripeApi answers those). Stdlib only:
the fixtures import it under the main venv's python.
"""

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / "var" / "localstripe-venv"
# Pinned, with what they pulled in when chosen (December 2026).
REQUIREMENTS = [
    "localstripe==1.15.10",
    "aiohttp==3.14.5",
    "python-dateutil==4.0.0",
]
STAMP = VENV / ".installed"

# How the server is started: on 127.0.0.1 only (its own start() listens on every interface),
# and without its habit of pickling the whole store to /tmp/localstripe.pickle after every
# write (parallel test processes would share that one file).
#
# One documented field is added: a Subscription's `default_payment_method` (null here;
# Stripe's API reference lists it on every subscription, and it is expandable), which
# localstripe lacks, so `expand[]=default_payment_method` would be refused.
LAUNCHER = """
import sys
from aiohttp import web
from localstripe import resources
from localstripe.server import app

resources.Store.dump_to_disk = lambda self: None
resources.Subscription.default_payment_method = None
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _stamp_text() -> str:
    return "\n".join([sys.version.split()[0], *REQUIREMENTS]) + "\n"


def ensure_python() -> Path:
    """Create (once; test processes that ask together wait for the first) and return the
    python of the localstripe virtualenv."""
    python = VENV / "bin" / "python"
    wanted = _stamp_text()
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "localstripe-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
            return python
        print(f"creating {VENV.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *REQUIREMENTS], check=True)
        STAMP.write_text(wanted)
    return python


@contextlib.contextmanager
def running(port: int) -> Iterator[str]:
    """localstripe listening on 127.0.0.1:<port> until the block ends; yields its URL."""
    python = ensure_python()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    process = subprocess.Popen(
        [str(python), "-c", LAUNCHER, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"localstripe exited with {process.returncode}: {error}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"localstripe did not listen on 127.0.0.1:{port} in {timeout} s")
