"""The role look-up tells whether an address has an account, so it is limited per address,
and so is Compose, which tells the same when a new address has no role. The errors reach
the page: htmx swaps the 400 and 429 fragments."""

import json
import re
import uuid
from typing import Any

import pytest

from securemail.messaging.models import Message
from securemail.notifications.models import OutboxEmail

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
    assert response.status_code == 400
    assert "Send to at most 20 people at once." in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert "Select recipient's role</label>" not in response.content.decode()


def test_a_lookup_too_long_to_read_is_a_400_with_the_error(doctor: Any, login: Any) -> None:
    response = login(doctor).post("/compose/lookup/", {"to": "a" * 5001})
    assert response.status_code == 400
    assert "Send to at most 20 people at once." in response.content.decode()


def test_htmx_swaps_the_400_and_429_error_fragments_into_the_page(doctor: Any, login: Any) -> None:
    page = login(doctor).get("/compose/").content.decode()
    config = json.loads(re.search(r'name="htmx-config" content=\'([^\']+)\'', page).group(1))
    rules = config["responseHandling"]
    # htmx uses the first rule whose code matches: 400 and 429 swap, other errors don't.
    first = {
        status: next(r for r in rules if re.search(r["code"], status))
        for status in ("200", "400", "429", "403", "500")
    }
    assert [first[status]["swap"] for status in ("200", "400", "429", "403", "500")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def _compose(client: Any, to: str) -> Any:
    data = {"to": to, "subject": "Hello", "body": "Body", "client_token": str(uuid.uuid4())}
    return client.post("/compose/", data)


def test_compose_is_not_an_unlimited_address_lookup(doctor: Any, patient: Any, login: Any) -> None:
    client = login(doctor)
    _lookup(client, 20, 0)
    _lookup(client, 20, 20)
    _lookup(client, 19, 40)

    # 59 look-ups so far: these two addresses make 61.
    refused = _compose(client, f"{patient.email}, nobody@example.test")

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many address look-ups. Wait a minute and try again." in page
    # Nothing says which address is new.
    assert "nobody@example.test</strong>, new to SecureMail" not in page
    assert "select the recipient&#x27;s role for" not in page
    assert 'name="role-nobody@example.test"' not in page
    assert not Message.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_compose_within_the_limit_still_names_the_addresses_needing_a_role(
    doctor: Any, patient: Any, login: Any
) -> None:
    client = login(doctor)
    _lookup(client, 20, 0)
    _lookup(client, 20, 20)
    _lookup(client, 18, 40)

    response = _compose(client, f"{patient.email}, nobody@example.test")

    assert response.status_code == 400
    assert 'name="role-nobody@example.test"' in response.content.decode()
    # The two addresses were counted: the next look-up is the 61st.
    assert _lookup(client, 1, 100).status_code == 429


def test_sending_to_people_already_on_securemail_is_never_held_up_by_the_limit(
    doctor: Any, staff: Any, patient: Any, other_doctor: Any, login: Any
) -> None:
    # A busy front desk: 25 messages to three known people in a minute is 75 addresses,
    # more than the look-up limit, but a send that names nobody new reveals nothing.
    client = login(doctor)
    to = f"{staff.email}, {patient.email}, {other_doctor.email}"

    statuses = [_compose(client, to).status_code for _ in range(25)]

    assert statuses == [302] * 25
    assert Message.objects.count() == 25
    # The look-ups themselves were not charged either.
    assert _lookup(client, 20, 0).status_code == 200
