"""The role look-up tells whether an address has an account, so it is limited per address."""

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def _lookup(client: Any, count: int, start: int) -> Any:
    addresses = ", ".join(f"person{start + i}@example.test" for i in range(count))
    return client.post("/compose/lookup/", {"to": addresses})


def test_each_address_in_a_lookup_counts_against_the_limit(doctor: Any, login: Any) -> None:
    client = login(doctor)
    for batch in range(3):
        response = _lookup(client, 20, batch * 20)
        assert response.status_code == 200
        assert response.content.decode().count("Select recipient's role</label>") == 20
    refused = _lookup(client, 1, 100)
    assert refused.status_code == 429
    assert "Too many address look-ups" in refused.content.decode()


def test_a_lookup_of_more_than_twenty_addresses_is_refused(doctor: Any, login: Any) -> None:
    response = _lookup(login(doctor), 21, 0)
    assert "at most 20 people" in response.content.decode()
    assert "Select recipient's role</label>" not in response.content.decode()
