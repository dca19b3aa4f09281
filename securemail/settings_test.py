"""Settings for the test suite: the production settings with test-only defaults.

Environment defaults are set before the real settings are read, so a test run needs no
configuration; `DATABASE_URL` still chooses PostgreSQL when set.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SMS_PROVIDER", "local")
os.environ.setdefault("EMAIL_URL", "locmem://")
# A fixed test keyring: two key versions, so rotation paths are exercised.
os.environ.setdefault(
    "SECUREMAIL_KEYS",
    "1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=,2:YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY=",
)

# A fixed test key for the audit chain's HMAC.
os.environ.setdefault("SECUREMAIL_AUDIT_KEY", "dGVzdC1hdWRpdC1jaGFpbi1rZXktMzItYnl0ZXMhISE=")

from securemail.settings import *  # noqa: F403
from securemail.settings import DATABASES

_TMP = Path(tempfile.mkdtemp(prefix="securemail-test-"))
# Gone when the process ends: every pytest-xdist worker of every run makes one.
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)

# Tests run with DEBUG on for the local SMS provider, but the mail catcher page stays off.
SECUREMAIL_CATCHER_ENABLED = False
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each test process has its own shredding ratchet (created on first use) and file store.
SECUREMAIL_RATCHET_FILE = _TMP / "ratchet"
MEDIA_ROOT = _TMP / "files"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A real file, not shared memory: tests read it raw, and threads share it like processes.
    DATABASES["default"]["TEST"] = {"NAME": str(_TMP / "test.sqlite3")}
# Argon2 with tiny costs: hundreds of test accounts must not cost 200 ms each.
PASSWORD_HASHERS = ["securemail.core.hashers.FastArgon2PasswordHasher"]
