"""Every console list costs the same number of queries whatever its number of rows (no
query per row: related rows are joined, counts annotated)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.console.site import console_site
from securemail.console.tests.helpers import logged_in, page_url
from securemail.notifications.models import BouncedAddress
from securemail.onboarding.tests.helpers import invite

pytestmark = pytest.mark.django_db


def _add_rows(doctor: User, make_user: Any, start: int, count: int) -> None:
    """`count` more of everything a list shows: people, invitations (with their welcome
    emails), audit entries, bounces, codes' texts."""
    for n in range(start, start + count):
        make_user(f"person{n}@example.test", practice=doctor.practice)
        invite(doctor, f"invitee{n}@example.test", "patient")
        audit.record(Event.LOGIN_SUCCEEDED, actor_id=doctor.pk)
        BouncedAddress.objects.create(
            email=f"gone{n}@example.test", bounced_at=timezone.now(), smtp_code=550
        )


def _queries(client: Any) -> dict[str, int]:
    # The first page of a session checks once that the operator has two-step login (and
    # notes it in the session): not a cost of any list.
    client.get(page_url(BouncedAddress))
    counts = {}
    for model in console_site._registry:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page_url(model))
        assert response.status_code == 200, model
        counts[model._meta.label] = len(queries)
    return counts


def test_each_list_costs_the_same_with_two_rows_or_twelve(
    operator: User, doctor: User, make_user: Any
) -> None:
    client = logged_in(operator)
    _add_rows(doctor, make_user, 0, 2)
    few = _queries(client)

    _add_rows(doctor, make_user, 2, 10)
    many = _queries(client)

    assert many == few
    assert max(few.values()) <= 6, few
