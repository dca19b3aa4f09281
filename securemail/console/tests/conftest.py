"""The console's persona: an operator, made the way `manage.py create_operator` makes one,
with the two-step login operators must use (an authenticator app; the personas of the
product are in the root conftest.py)."""

from typing import Any

import pytest

from securemail.accounts import services
from securemail.accounts.tests.twostep import turn_on_app

OPERATOR_PASSWORD = "a long passphrase for the console 7"


@pytest.fixture
def operator(db: None) -> Any:
    user = services.create_operator(email="olga.ops@securemail.test", full_name="Olga Ops")
    services.set_password(user=user, password=OPERATOR_PASSWORD)
    user.refresh_from_db()
    turn_on_app(user)
    return user
