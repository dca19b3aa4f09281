"""SECUREMAIL_CONSOLE_PATH decides where the console answers (read as the process starts);
the site's root is refused."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHOW = (
    "import django; django.setup(); from django.urls import reverse; "
    "print(reverse('console:index'), reverse('console:accounts_user_changelist'))"
)


def _run(path: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "securemail.settings_test",
        "SECUREMAIL_CONSOLE_PATH": path,
    }
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_console_answers_at_the_configured_path() -> None:
    result = _run("/support-7f3k")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/support-7f3k/", "/support-7f3k/accounts/user/"]


def test_the_sites_root_is_refused() -> None:
    result = _run("/")

    assert result.returncode != 0
    assert "SECUREMAIL_CONSOLE_PATH can't be the site's root." in result.stderr
