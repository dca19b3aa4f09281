"""What SecureMail keeps under `var/` is its owner's alone (issue 9: the SQLite database
among others was world-readable): the processes it starts create directories 0700 and files
0600 whatever umask they were started with, and startup takes group and other permissions
off what an older version left readable."""

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import override_settings

from securemail.core.checks import var_dir_is_private

# A shell's usual umask: files 0644, directories 0755, unless the product says otherwise.
USUAL_UMASK = 0o022


def _run(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command of the product with DEBUG on (SQLite and key files under `var_dir`)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECUREMAIL_", "DJANGO_", "DEBUG", "DATABASE_URL"))
    }
    env |= {"DEBUG": "true", "SECUREMAIL_VAR_DIR": str(var_dir)}
    result = subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        umask=USUAL_UMASK,
    )
    assert result.returncode == 0, result.stderr
    return result


def _open_to_others(root: Path) -> list[str]:
    return [
        f"{path} {stat.filemode(path.stat().st_mode)}"
        for path in [root, *root.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & 0o077
    ]


def test_what_the_product_creates_in_a_fresh_var_dir_is_owner_only(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"

    _run(var_dir, "manage.py", "migrate", "--verbosity=0")
    _run(var_dir, "manage.py", "keys", "init")

    created = {p.name for p in var_dir.iterdir()}
    assert {"securemail.sqlite3", "keyring", "shred-ratchet"} <= created
    assert _open_to_others(var_dir) == []


def test_the_web_application_creates_owner_only_files() -> None:
    shown = _run(
        Path(settings.VAR_DIR),
        "-c",
        "import os, securemail.wsgi; print(oct(os.umask(0o022)))",
    )

    assert shown.stdout.strip() == "0o77"


def test_startup_closes_a_var_dir_an_older_version_left_open(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    var_dir.chmod(0o755)
    old = var_dir / "securemail.sqlite3"
    old.write_bytes(b"")
    old.chmod(0o644)
    (var_dir / "mailcatcher").mkdir()
    (var_dir / "mailcatcher").chmod(0o755)

    _run(var_dir, "manage.py", "check")

    assert stat.S_IMODE(var_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE((var_dir / "mailcatcher").stat().st_mode) == 0o700


def test_the_system_check_warns_about_what_is_still_open(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    var_dir.chmod(0o755)

    with override_settings(VAR_DIR=var_dir):
        warnings: list[Any] = var_dir_is_private()

    assert [w.id for w in warnings] == ["securemail.W001"]
    assert str(var_dir) in warnings[0].msg
    assert "chmod go-rwx" in warnings[0].hint
