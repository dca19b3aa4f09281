"""Issue 9: the practice's user manager exports the practice's audit log as CSV for a date
range (UTC days, both included): time, actor (id and email), action (name and words),
object, client address, and ids only. Streamed; audited itself; nobody else may."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.messaging.tests.helpers import BODY, SUBJECT, send

pytestmark = pytest.mark.django_db

NOV_10 = datetime(2026, 11, 10, 15, 30, tzinfo=UTC)


def _rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def _manager(doctor: User, address: str = "192.0.2.44") -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    return client


def test_the_manager_downloads_the_practices_log_for_the_chosen_days(
    doctor: User, staff: User, patient: User, other_doctor: User
) -> None:
    with time_machine.travel(NOV_10 - timedelta(days=5), tick=False):
        audit.record(Event.LOGIN_SUCCEEDED, actor_id=staff.pk, practice_id=staff.practice_id)
    with time_machine.travel(NOV_10, tick=False):
        message = send(staff, patient)
        audit.record(
            Event.LOGIN_FAILED,
            actor_id=staff.pk,
            practice_id=staff.practice_id,
            client_ip="203.0.113.5",
        )
        # Another practice's entries stay out of this practice's log.
        audit.record(
            Event.LOGIN_SUCCEEDED, actor_id=other_doctor.pk, practice_id=other_doctor.practice_id
        )
    with time_machine.travel(NOV_10 + timedelta(days=1), tick=False):
        audit.record(Event.LOGIN_SUCCEEDED, actor_id=doctor.pk, practice_id=doctor.practice_id)

    response = _manager(doctor).get(
        "/practice/audit/log.csv", {"first_day": "2026-11-10", "last_day": "2026-11-10"}
    )

    assert response["Content-Disposition"] == (
        'attachment; filename="audit-log-2026-11-10-to-2026-11-10.csv"'
    )
    header, *rows = _rows(response)
    assert header == [
        "time_utc",
        "actor_id",
        "actor_email",
        "action",
        "action_label",
        "object",
        "client_address",
        "details",
    ]
    by_action = {row[3]: row for row in rows}
    assert len(rows) == 2
    assert set(by_action) == {"messaging:message:send", "accounts:login:failed"}
    sent = by_action["messaging:message:send"]
    assert sent == [
        "2026-11-10T15:30:00+00:00",
        str(staff.pk),
        staff.email,
        "messaging:message:send",
        "Message sent",
        f"message:{message.pk}",
        "",
        f"recipients={patient.pk}",
    ]
    assert by_action["accounts:login:failed"][6] == "203.0.113.5"
    assert by_action["accounts:login:failed"][4] == "Wrong password at login"
    for row in rows:
        for secret in (SUBJECT, BODY):
            assert secret not in ",".join(row)

    # The export is in the log: who, when, from where, which days.
    exported = AuditEvent.objects.get(event=Event.AUDIT_LOG_EXPORTED.value)
    assert (exported.actor_id, exported.practice_id, exported.client_ip) == (
        doctor.pk,
        doctor.practice_id,
        "192.0.2.44",
    )
    assert exported.data == {"from": "2026-11-10", "to": "2026-11-10"}


def test_a_long_range_is_streamed_row_by_row_in_order(doctor: User, staff: User) -> None:
    with time_machine.travel(NOV_10, tick=False):
        audit.record_many(
            Event.MESSAGE_VIEWED,
            actor_id=staff.pk,
            practice_id=staff.practice_id,
            targets=[f"message:{n:08d}-0000-0000-0000-000000000000" for n in range(4500)],
        )

    response = _manager(doctor).get(
        "/practice/audit/log.csv", {"first_day": "2020-01-01", "last_day": "2030-12-31"}
    )

    # A generator, read in chunks of the database: nothing is built in memory first.
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b"time_utc,")
    rest = [next(chunks) for _ in range(4500)]
    assert rest[0].decode().split(",")[5] == "message:00000000-0000-0000-0000-000000000000"
    assert rest[-1].decode().split(",")[5] == "message:00004499-0000-0000-0000-000000000000"
    # Read to the end (and closed), so the database cursor behind it is closed in this test:
    # a half-read stream left to the garbage collector breaks a later test's transaction.
    # (Nothing after them but the entry this export itself wrote, dated now.)
    after = [chunk.decode().split(",")[3] for chunk in chunks]
    assert after in ([], ["practices:audit:export"])
    response.close()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"first_day": "2026-13-01", "last_day": "2026-11-30"}, "Enter the first day as a date"),
        ({"first_day": "2026-11-01", "last_day": "yesterday"}, "Enter the last day as a date"),
        ({"first_day": "2026-11-30", "last_day": "2026-11-01"}, "The last day comes before"),
        ({}, "Enter the first day to export."),
    ],
)
def test_bad_dates_are_a_400_that_says_what_to_fix(
    doctor: User, query: dict[str, str], message: str
) -> None:
    response = _manager(doctor).get("/practice/audit/log.csv", query)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(event=Event.AUDIT_LOG_EXPORTED.value).exists()


def test_only_the_practices_user_manager_may_export(
    login: Any, staff: User, patient: User, other_doctor: User, doctor: User
) -> None:
    days = {"first_day": "2026-11-01", "last_day": "2026-11-30"}
    for person in (staff, patient):
        client = login(person)
        assert client.get("/practice/audit/").status_code == 403
        assert client.get("/practice/audit/log.csv", days).status_code == 403
    # Another practice's manager gets their own practice's log, never this one's.
    audit.record(Event.LOGIN_SUCCEEDED, actor_id=doctor.pk, practice_id=doctor.practice_id)
    rows = _rows(
        login(other_doctor).get(
            "/practice/audit/log.csv", {"first_day": "2000-01-01", "last_day": "2100-01-01"}
        )
    )
    assert all(row[1] != str(doctor.pk) for row in rows[1:])
    anonymous = Client().get("/practice/audit/log.csv", days)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


def test_the_audit_page_offers_the_export_and_the_practices_patients(
    login: Any, doctor: User, staff: User, patient: User, outsider: User
) -> None:
    send(staff, patient)

    page = login(doctor).get("/practice/audit/")

    assert page.status_code == 200
    text = page.content.decode()
    assert 'action="/practice/audit/log.csv"' in text
    assert f"/practice/audit/patients/{patient.pk}/" in text
    assert f"/practice/audit/patients/{outsider.pk}/" not in text
    assert "Audit log" in login(doctor).get("/").content.decode()
