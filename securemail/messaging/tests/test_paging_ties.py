"""Keyset paging when many rows share one instant: no row is skipped or shown twice, going
older and coming back newer (the cursor's sent_at bounds the index range; ids break ties)."""

from typing import Any

import pytest
import time_machine
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging import access
from securemail.messaging.paging import keyset_page
from securemail.messaging.tests.helpers import send

pytestmark = pytest.mark.django_db


def test_paging_through_rows_that_share_their_sent_at(
    doctor: User, staff: User, patient: User
) -> None:
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        for n in range(3):
            send(staff, patient, subject=f"before {n}")
            clock.shift(1)
        for n in range(7):  # seven at the very same microsecond
            send(doctor if n % 2 else staff, patient, subject=f"tie {n}")
        clock.shift(1)
        for n in range(2):
            send(doctor, patient, subject=f"after {n}")
            clock.shift(1)
        expected = [d.pk for d in access.inbox(patient)]
        assert len(expected) == 12

        seen: list[Any] = []
        pages = []
        cursor = None
        while True:
            page = keyset_page(access.inbox(patient), before=cursor, after=None, size=3)
            pages.append(page)
            seen += [d.pk for d in page.items]
            if page.older is None:
                break
            cursor = page.older
        assert seen == expected

        # And back, newer, from the last page.
        back: list[Any] = [d.pk for d in pages[-1].items]
        newer = pages[-1].newer
        while newer:
            page = keyset_page(access.inbox(patient), before=None, after=newer, size=3)
            back = [d.pk for d in page.items] + back
            newer = page.newer
        assert back == expected
