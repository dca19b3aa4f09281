"""A fresh production install: the startup checks refuse to run without readable keys, and
`manage.py keys init` creates the keyring file and the shredding ratchet, owner-only."""

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.security.helpers import PRODUCTION_ENV


def _manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _python(tmp_path, "manage.py", *args)


def _python(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECUREMAIL_", "DJANGO_", "DEBUG", "DATABASE_URL"))
    }
    env |= PRODUCTION_ENV | {
        "SECUREMAIL_KEYRING_FILE": str(tmp_path / "keys" / "keyring"),
        "SECUREMAIL_RATCHET_FILE": str(tmp_path / "keys" / "ratchet"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_until_keys_init_creates_the_key_files(
    tmp_path: Path,
) -> None:
    refused = _manage(tmp_path, "check")
    assert refused.returncode != 0
    assert "securemail.E001" in refused.stderr
    assert "keys init" in refused.stderr

    created = _manage(tmp_path, "keys", "init")
    assert created.returncode == 0, created.stderr
    assert "Keyring created at" in created.stdout
    assert "Shredding ratchet created at" in created.stdout
    for name in ("keyring", "ratchet"):
        mode = stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode)
        assert mode == 0o600
    keyring_text = (tmp_path / "keys" / "keyring").read_text()
    assert len(base64.b64decode(keyring_text.strip().split(":", 1)[1])) == 32

    assert _manage(tmp_path, "check").returncode == 0

    again = _manage(tmp_path, "keys", "init")
    assert "Keyring already at" in again.stdout
    assert (tmp_path / "keys" / "keyring").read_text() == keyring_text


def test_the_web_application_refuses_to_load_without_its_keys(tmp_path: Path) -> None:
    # gunicorn imports securemail.wsgi and never runs the system checks.
    load = ("-c", "import securemail.wsgi; print('serving')")

    refused = _python(tmp_path, *load)

    assert refused.returncode != 0
    assert "serving" not in refused.stdout
    assert "SecureMail can't start" in refused.stderr
    assert "keys init" in refused.stderr

    assert _manage(tmp_path, "keys", "init").returncode == 0
    started = _python(tmp_path, *load)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "serving"
