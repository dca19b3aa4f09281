"""The inbox and archive read their lines by statements of constant text
(access.ReceivedLines): each page must hold the rows, values and types the ORM's queryset
gave, on both databases, from every cursor (ties on one instant, ids out of range too), and
the benchmark must explain the statement the page runs."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging import access, services
from securemail.messaging.models import Delivery
from securemail.messaging.paging import _Ordered, keyset_page
from securemail.messaging.tests.helpers import send
from securemail.messaging.views.common import PAGE_SIZE

pytestmark = pytest.mark.django_db

# What MailboxLine holds, as the ORM's paths (its queryset before the statement).
ORM_LINE = (
    "pk",
    "sent_at",
    "read_at",
    "message_id",
    "message__sender_id",
    "message__sent_at",
    "message__expires_at",
    "message__wrapped_key",
    "message__subject_sealed",
    "message__sender__full_name",
    "message__sender__email",
    "message__sender__kind",
    "message__sender__practice__name",
)


def _orm_folder(user: User, *, archived: bool) -> Any:
    return (
        Delivery.objects.filter(
            recipient=user,
            hidden_at__isnull=True,
            archived_at__isnull=not archived,
            expires_at__gt=timezone.now(),
        )
        .order_by("-sent_at", "-id")
        .values_list(*ORM_LINE)
    )


def _mailbox(doctor: User, staff: User, other_doctor: User, patient: User) -> None:
    """The doctor's mailbox: lines from a colleague, a doctor of another practice and a
    patient (no practice), five sharing one microsecond, some read, archived, hidden or
    expired."""
    clock_start = timezone.now() - timedelta(hours=1)
    with time_machine.travel(clock_start, tick=False) as clock:
        first = send(doctor, patient, subject="Start")
        for n in range(3):
            send(staff, doctor, subject=f"Before {n}")
            clock.shift(1)
        for n in range(5):
            sender = [staff, other_doctor][n % 2]
            send(sender, doctor, subject=f"Tie {n}")
        services.reply(sender=patient, parent=first, body="Same instant too.")
        clock.shift(1)
        for n in range(4):
            services.reply(sender=patient, parent=first, body=f"Later {n}")
            clock.shift(1)
        hidden = send(staff, doctor, subject="Hidden")
        services.hide_for_me(user=doctor, message=hidden)
    received = Delivery.objects.filter(recipient=doctor).order_by("id")
    ids = list(received.values_list("id", flat=True))
    # Two of the instant's five at either end of the id column's range.
    low, high = range_of_ids()
    Delivery.objects.filter(id=ids[5]).update(id=high)
    Delivery.objects.filter(id=ids[6]).update(id=low)
    ids[5:7] = [high, low]
    Delivery.objects.filter(id__in=ids[1:4]).update(archived_at=timezone.now())
    Delivery.objects.filter(id=ids[4]).update(expires_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.filter(id__in=ids[::3]).update(read_at=timezone.now())


def range_of_ids() -> tuple[int, int]:
    return connection.ops.integer_field_range(Delivery._meta.pk.get_internal_type())


@pytest.mark.parametrize("archived", [False, True])
def test_every_page_holds_the_orms_rows_values_and_types(
    archived: bool, doctor: User, staff: User, other_doctor: User, patient: User
) -> None:
    _mailbox(doctor, staff, other_doctor, patient)
    with time_machine.travel(timezone.now(), tick=False):
        ours = access.ReceivedLines(doctor, archived=archived)
        theirs = _Ordered(_orm_folder(doctor, archived=archived))
        everything = theirs.rows(limit=None)
        assert len(everything) >= 3
        assert [tuple(line) for line in ours] == everything
        for line in ours.rows(limit=None):
            for got, want in zip(line, everything[0], strict=True):
                if got is not None and want is not None:
                    assert type(got) is type(want)
        if not archived:  # the patient's replies: a sender of no practice
            assert None in {line.sender_practice for line in ours}
        # From each row's key, both ways, with limits around the page's edge; then ids past
        # either end of the column's range (the ORM answers those as plain comparisons).
        keys = [(line.sent_at, str(line.pk)) for line in ours]
        extremes = ["99999999999999999999", "-99999999999999999999", *map(str, range_of_ids())]
        keys += [(moment, pk) for moment in {m for m, _ in keys} for pk in extremes]
        for key in keys:
            for limit in (1, 2, None):
                for side in ("older_than", "newer_than"):
                    got = [tuple(r) for r in ours.rows(limit=limit, **{side: key})]
                    assert got == theirs.rows(limit=limit, **{side: key}), (key, limit, side)


@pytest.mark.parametrize("bad", ["not-a-key", "1.5", "", "d4f6b40f-0a30-47de-bfb2-df5e5de01c7f"])
def test_an_id_that_is_no_deliverys_is_refused_as_the_orm_refuses_it(
    bad: str, doctor: User, patient: User
) -> None:
    send(doctor, patient)
    moment = timezone.now()
    with pytest.raises((ValueError, TypeError)) as orm:
        _Ordered(_orm_folder(patient, archived=False)).rows(limit=3, older_than=(moment, bad))
    with pytest.raises((ValueError, TypeError)) as ours:
        access.inbox(patient).rows(limit=3, older_than=(moment, bad))
    assert type(ours.value) is type(orm.value)
    # And the page starts over, as it did.
    page = keyset_page(access.inbox(patient), before=f"1~{bad}", after=None, size=3)
    assert len(page.items) == 1
    assert page.newer is None


def test_the_benchmark_explains_the_statement_the_inbox_page_runs(
    login: Any, doctor: User, patient: User
) -> None:
    send(doctor, patient)
    client = login(patient)
    with time_machine.travel(timezone.now(), tick=False):
        with CaptureQueriesContext(connection) as page:
            assert client.get("/").status_code == 200
        # bench/mailbox.py's inbox_plan: the first page's statement, a row more than a page.
        sql, params = access.inbox(patient).statement(limit=PAGE_SIZE + 1)
        with CaptureQueriesContext(connection) as explained, connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert explained.captured_queries[0]["sql"] in [q["sql"] for q in page.captured_queries]
