"""The console's persona: an operator, made the way `manage.py create_operator` makes one
(the personas of the product are in the root conftest.py)."""

from typing import Any

import pytest

from securemail.accounts import services

OPERATOR_PASSWORD = "a long passphrase for the console 7"


@pytest.fixture
def operator(db: None) -> Any:
    user = services.create_operator(email="olga.ops@securemail.test", full_name="Olga Ops")
    services.set_password(user=user, password=OPERATOR_PASSWORD)
    user.refresh_from_db()
    return user
