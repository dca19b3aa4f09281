"""Settings for the test suite: the production settings with test-only defaults.

Environment defaults are set before the real settings are read, so a test run needs no
configuration; `DATABASE_URL` still chooses PostgreSQL when set.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SMS_PROVIDER", "local")
os.environ.setdefault("EMAIL_URL", "locmem://")
# A fixed test keyring: two key versions, so rotation paths are exercised.
os.environ.setdefault(
    "SECUREMAIL_KEYS",
    "1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=,2:YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY=",
)

from securemail.settings import *  # noqa: F403

# Tests run with DEBUG on for the local SMS provider, but the mail catcher page stays off.
SECUREMAIL_CATCHER_ENABLED = False
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
