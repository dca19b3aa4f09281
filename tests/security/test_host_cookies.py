"""With DEBUG off the session and CSRF cookies are `__Host-` cookies (issue 9): Secure,
Path=/ and no Domain, so no other host of the domain and no plain-http page can set or
overwrite them. Development and the tests keep plain names over plain http."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from securemail.accounts.models import User
from tests.security.helpers import PRODUCTION_ENV
from tests.support import PASSWORD

COOKIE_SETTINGS = [
    f"{kind}_COOKIE_{part}"
    for kind in ("SESSION", "CSRF")
    for part in ("NAME", "SECURE", "PATH", "DOMAIN", "HTTPONLY", "SAMESITE")
]
# Load the production settings and say what they make of the cookies.
SHOW = (
    "import json, django; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{n: getattr(settings, n) for n in {COOKIE_SETTINGS!r}}}))"
)


def _production_cookie_settings(tmp_path: Path) -> dict[str, Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECUREMAIL_", "DJANGO_", "DEBUG", "DATABASE_URL"))
    }
    env |= PRODUCTION_ENV | {
        "SECUREMAIL_VAR_DIR": str(tmp_path / "var"),
        "SECUREMAIL_KEYS": "1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
        "SECUREMAIL_RATCHET_FILE": str(tmp_path / "ratchet"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    shown = subprocess.run(
        [sys.executable, "-c", SHOW],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(shown.stdout))


@pytest.mark.django_db
def test_production_sends_host_prefixed_secure_cookies(tmp_path: Path, doctor: User) -> None:
    production = _production_cookie_settings(tmp_path)
    assert production["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert production["CSRF_COOKIE_NAME"] == "__Host-csrftoken"

    # What a browser receives from a server with those settings, logging in over HTTPS.
    with override_settings(**production):
        client = Client()
        page = client.get("/accounts/login/", secure=True)
        response = client.post(
            "/accounts/login/", {"username": doctor.email, "password": PASSWORD}, secure=True
        )

    assert response.status_code == 302
    for name, sent_by in (("__Host-csrftoken", page), ("__Host-sessionid", response)):
        cookie = sent_by.cookies[name]
        header = cookie.OutputString()
        # What a browser requires of a __Host- cookie.
        assert cookie["secure"] is True, header
        assert cookie["path"] == "/", header
        assert not cookie["domain"], header
        assert "Domain=" not in header
        assert cookie["httponly"] is True, header
        assert cookie["samesite"] == "Lax", header


def test_development_keeps_plain_cookies_over_plain_http() -> None:
    assert settings.SESSION_COOKIE_NAME == "sessionid"
    assert settings.CSRF_COOKIE_NAME == "csrftoken"
    assert not settings.SESSION_COOKIE_SECURE
    assert not settings.CSRF_COOKIE_SECURE
