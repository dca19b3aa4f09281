"""What a request costs must not grow with what it handles: sending to one person or to five,
and the mailbox's hand-made date labels print exactly what the date filter printed."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from securemail.accounts.models import User
from securemail.core import crypto
from securemail.messaging import services
from securemail.messaging.models import Delivery
from securemail.messaging.tests.helpers import compose, outbox_payloads, send
from securemail.messaging.views.mailbox import DateLabels
from securemail.notifications.models import OutboxEmail

pytestmark = pytest.mark.django_db


def _queries(call: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_sending_costs_the_same_queries_for_one_or_five_known_recipients(
    doctor: User, patient: User, staff: User, free_staff: User, other_doctor: User, outsider: User
) -> None:
    send(doctor, patient)  # warm-up: the audit chain and caches exist either way

    one = _queries(lambda: send(doctor, patient))
    five = _queries(lambda: send(doctor, patient, staff, free_staff, other_doctor, outsider))

    assert five == one
    # Five deliveries and five notifications, each sealed under its own data key.
    latest = OutboxEmail.objects.order_by("-created_at")[:5]
    assert {e.recipient_user_id for e in latest} == {
        u.pk for u in (patient, staff, free_staff, other_doctor, outsider)
    }
    assert len({bytes(e.wrapped_key or b"") for e in latest}) == 5
    assert all(p["subject"] for _, p in outbox_payloads())


def test_the_compose_page_sends_to_five_for_the_queries_of_one(
    login: Any,
    doctor: User,
    patient: User,
    staff: User,
    free_staff: User,
    other_doctor: User,
    outsider: User,
) -> None:
    client = login(doctor)

    def post(*people: User) -> None:
        response = compose(client, to=", ".join(p.email for p in people))
        assert response.status_code == 302, response.content[:500]

    post(patient)  # warm-up
    one = _queries(lambda: post(patient))
    five = _queries(lambda: post(patient, staff, free_staff, other_doctor, outsider))

    assert five == one


def test_replying_to_all_costs_the_same_queries_as_replying_to_one(
    doctor: User, patient: User, staff: User, other_doctor: User, outsider: User
) -> None:
    small = send(doctor, patient)
    big = send(doctor, patient, staff, other_doctor, outsider)

    def reply(parent: Any) -> None:
        services.reply(
            sender=doctor, parent=parent, body="See you then.", client_token=uuid.uuid4()
        )

    assert _queries(lambda: reply(big)) == _queries(lambda: reply(small))
    assert Delivery.objects.filter(message__in_reply_to=big).count() == 4


def test_one_send_tells_registered_and_still_registering_people_apart(
    doctor: User, patient: User, make_user: Any
) -> None:
    # Rendered once per kind of recipient, not per recipient: each still gets its own kind.
    pending = make_user("pending@example.test", status=User.Status.INVITED)
    message = send(doctor, patient, pending)

    by_address = {email.to_email: payload for email, payload in outbox_payloads()}
    assert f"/m/{message.pk}/" in by_address[patient.email]["text"]
    assert f"/m/{message.pk}/" not in by_address[pending.email]["text"]
    assert "/register/link/" in by_address[pending.email]["text"]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "UTC", "Australia/Lord_Howe"])
def test_date_labels_print_what_the_date_filter_prints(zone: str) -> None:
    template = Template(
        '{% load tz %}{% timezone zone %}{{ v|date:"M j, Y g:i A" }}|{{ v|date:"M j" }}|'
        '{{ v|date:"M j, Y" }}|{{ v|date:"M j g:i A" }}|{{ v|date:"M j, Y g:i A T" }}'
        "{% endtimezone %}"
    )
    labels = DateLabels(ZoneInfo(zone))
    start = datetime(2031, 1, 1, tzinfo=UTC)
    # Every month, every hour of the day, and the days the clocks change.
    moments = [
        start + timedelta(days=d, hours=h, minutes=7 * h)
        for d in range(0, 366, 29)
        for h in range(24)
    ]
    moments += [datetime(2031, 3, 9, 6, 30, tzinfo=UTC), datetime(2031, 11, 2, 5, 30, tzinfo=UTC)]
    moments += [datetime(2031, 11, 2, 6, 30, tzinfo=UTC), timezone.now()]
    for moment in moments:
        expected = template.render(Context({"v": moment, "zone": zone}))
        got = "|".join(
            [
                labels.moment(moment),
                labels.day(moment),
                labels.full_day(moment),
                labels.short(moment),
                labels.moment_zone(moment),
            ]
        )
        assert got == expected, moment


def test_each_outbox_email_is_sealed_for_its_own_row(
    doctor: User, patient: User, staff: User
) -> None:
    send(doctor, patient, staff)
    emails = list(OutboxEmail.objects.all())
    assert len(emails) == 2
    first, second = emails
    # A payload moved to the other row does not open there.
    key = crypto.unwrap_data_key(bytes(first.wrapped_key or b""), context=first.key_context())
    moved = bytes(second.sealed_payload or b"")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(key, moved, context=first.sealed_context("payload"))


def test_a_conversation_with_its_slip_and_a_file_costs_a_fixed_budget(
    client: Any, doctor: User, patient: User, staff: User
) -> None:
    """The sender's view of a conversation: its slip (notices, downloads, invitations)
    and its file. Read once already (the read marks are written), as most views are."""
    from securemail.messaging.tests.helpers import as_user, send_with_files

    first = send_with_files(doctor, patient, staff, files={"x-ray.png": b"\x89PNG data"})
    as_user(client, patient).get(f"/m/{first.pk}/")
    as_user(client, doctor)
    assert client.get(f"/m/{first.pk}/").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/m/{first.pk}/")
    assert response.status_code == 200
    assert "x-ray.png" in response.content.decode()
    # The test runs in a transaction: the view's own is a savepoint in it.
    control = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
    statements = [
        q["sql"].split()[0] for q in queries.captured_queries if q["sql"].split()[0] not in control
    ]
    if connection.vendor == "postgresql":
        # The session and its user; the conversation (messages, deliveries, people, files)
        # in one; the slip's notices, downloads and invitation check in one; the audit
        # entries (lock the head; entries, recipients and the head's move in one); the
        # menu's payment banner and its figures.
        assert statements == [
            "SELECT",
            "SELECT",
            "WITH",
            "SELECT",
            "SELECT",
            "WITH",
            "SELECT",
            "SELECT",
        ], statements
    else:
        # The same, with a statement per part where PostgreSQL had one for several (the
        # conversation's four, the slip's three) and the audit's three (lock the head,
        # insert the entries, move the head).
        assert len(statements) == 14, statements


def test_a_send_to_known_people_costs_a_fixed_budget(
    doctor: User, patient: User, staff: User, other_doctor: User
) -> None:
    send(doctor, patient)  # warm-up: the audit chain's head exists

    with CaptureQueriesContext(connection) as queries:
        message = send(doctor, patient, staff, other_doctor)

    control = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
    statements = [
        " ".join(q["sql"].split()[:3])
        for q in queries.captured_queries
        if q["sql"].split()[0] not in control
    ]
    if connection.vendor == "postgresql":
        # The double-submit check; the accounts (with their practices) and the bounced
        # addresses in one; the message, its emails, deliveries, search entries and the
        # contacts; the audit (lock the head; the entry, its recipients, the head's move).
        assert [s.split()[0] for s in statements] == [
            "SELECT",
            "SELECT",
            "INSERT",
            "INSERT",
            "INSERT",
            "INSERT",
            "INSERT",
            "SELECT",
            "WITH",
        ], statements
        assert not any(s.startswith('SELECT "accounts_practice"') for s in statements)
    else:
        # Each read and the audit's writes a statement of their own (no practices' read:
        # they came with the accounts).
        assert len(statements) == 12, statements
        assert not any(s.startswith('SELECT "accounts_practice"') for s in statements)
    assert Delivery.objects.filter(message=message).count() == 3
