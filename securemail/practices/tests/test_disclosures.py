"""Issue 9: the accounting of disclosures for a patient. Which messages about the patient
(exchanged with the practice's people, and the replies and forwards that followed) went to
whom, when each recipient opened them and downloaded their files, also after the messages
expired (from the audit log). Ids and names, never subjects, bodies or file names. For the
practice's user manager only; a patient the practice never exchanged messages with is a 404.
"""

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.messaging import services as messaging
from securemail.messaging.models import Attachment, Message
from securemail.messaging.tests.helpers import BODY, SUBJECT, send, send_with_files

pytestmark = pytest.mark.django_db

FILE_NAME = "bitewing-pat-smith.png"


def _as(user: User) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.80")
    client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
    return client


@pytest.fixture
def history(
    doctor: User, staff: User, patient: User, outsider: User, other_doctor: User, own_files: Path
) -> dict[str, Any]:
    """The practice's doctor writes to the patient (a colleague of another practice in
    copy, a file attached); the patient opens it, downloads the file and answers; the
    practice's staff forwards the answer to the colleague, who opens it. Unrelated: a
    message inside the practice, and one to another patient."""
    first = send_with_files(doctor, patient, other_doctor, files={FILE_NAME: b"\x89PNG bitewing"})
    attachment = Attachment.objects.get(message=first)
    patient_client = _as(patient)
    patient_client.get(f"/m/{first.pk}/")
    patient_client.get(f"/m/{first.pk}/a/{attachment.pk}/")
    answer = messaging.reply(sender=patient, parent=first, body="The left side aches.")
    messaging.mark_read(reader=doctor, messages=[answer])
    forward = messaging.forward(
        sender=staff,
        original=answer,
        recipients=[messaging.RecipientSpec(email=other_doctor.email)],
        note="Can you see her Tuesday?",
    )
    messaging.mark_read(reader=other_doctor, messages=[forward])
    internal = send(doctor, staff, subject="Staff meeting")
    elsewhere = send(doctor, outsider, subject="Recall")
    return {
        "first": first,
        "attachment": attachment,
        "answer": answer,
        "forward": forward,
        "internal": internal,
        "elsewhere": elsewhere,
    }


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_accounting_lists_each_message_about_the_patient_with_its_recipients_times(
    doctor: User, staff: User, patient: User, other_doctor: User, history: dict[str, Any]
) -> None:
    rows = _csv(_as(doctor).get(f"/practice/audit/patients/{patient.pk}/csv/"))

    first, answer, forward = history["first"], history["answer"], history["forward"]
    by_message_and_recipient = {(r["message_id"], r["recipient_id"]): r for r in rows}
    assert set(by_message_and_recipient) == {
        (str(first.pk), str(patient.pk)),
        (str(first.pk), str(other_doctor.pk)),
        (str(answer.pk), str(doctor.pk)),
        (str(forward.pk), str(other_doctor.pk)),
    }
    to_patient = by_message_and_recipient[(str(first.pk), str(patient.pk))]
    assert to_patient["kind"] == "new message"
    assert (to_patient["sender_id"], to_patient["sender_name"]) == (str(doctor.pk), "Jane Roe")
    assert to_patient["recipient_email"] == patient.email
    assert to_patient["opened_utc"].endswith("+00:00")
    assert to_patient["downloads"].startswith(f"attachment:{history['attachment'].pk}@")
    # The colleague in copy never opened it.
    assert by_message_and_recipient[(str(first.pk), str(other_doctor.pk))]["opened_utc"] == ""
    reply = by_message_and_recipient[(str(answer.pk), str(doctor.pk))]
    assert (reply["kind"], reply["sender_id"], reply["follows_message"]) == (
        "reply",
        str(patient.pk),
        str(first.pk),
    )
    assert reply["opened_utc"]
    forwarded = by_message_and_recipient[(str(forward.pk), str(other_doctor.pk))]
    assert (forwarded["kind"], forwarded["sender_id"], forwarded["follows_message"]) == (
        "forward",
        str(staff.pk),
        str(answer.pk),
    )
    assert forwarded["opened_utc"]
    assert all(r["ended"] == "" for r in rows)
    everything = "\n".join(",".join(r.values()) for r in rows)
    for secret in (SUBJECT, BODY, FILE_NAME, "The left side aches", "Tuesday", "Staff meeting"):
        assert secret not in everything


def test_expired_messages_stay_in_the_accounting_from_the_audit_log(
    doctor: User, patient: User, history: dict[str, Any]
) -> None:
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        messaging.expire_due_messages()
        assert not Message.objects.exists()

        client = _as(doctor)
        rows = _csv(client.get(f"/practice/audit/patients/{patient.pk}/csv/"))
        page = client.get(f"/practice/audit/patients/{patient.pk}/")

    assert len(rows) == 4
    assert {r["ended"] for r in rows} == {"expired"}
    to_patient = next(r for r in rows if r["recipient_id"] == str(patient.pk))
    assert to_patient["opened_utc"]
    assert to_patient["downloads"]
    assert page.status_code == 200
    text = page.content.decode()
    assert "expired" in text
    assert "Pat Smith" in text
    for secret in (SUBJECT, BODY, FILE_NAME):
        assert secret not in text


def test_a_message_deleted_for_everyone_says_so(
    doctor: User, patient: User, history: dict[str, Any]
) -> None:
    messaging.delete_for_everyone(actor=doctor, message=history["first"])

    rows = _csv(_as(doctor).get(f"/practice/audit/patients/{patient.pk}/csv/"))

    ended = {r["message_id"]: r["ended"] for r in rows}
    assert ended[str(history["first"].pk)] == "deleted for everyone"
    assert ended[str(history["answer"].pk)] == "deleted for everyone"
    # The forward is a conversation of its own: still kept.
    assert ended[str(history["forward"].pk)] == ""


def test_producing_the_accounting_is_audited(
    doctor: User, patient: User, history: dict[str, Any]
) -> None:
    client = _as(doctor)
    assert client.get(f"/practice/audit/patients/{patient.pk}/").status_code == 200
    client.get(f"/practice/audit/patients/{patient.pk}/csv/")

    entries = AuditEvent.objects.filter(event=Event.DISCLOSURES_VIEWED.value).order_by("id")
    assert [(e.actor_id, e.practice_id, e.target, e.client_ip, e.data) for e in entries] == [
        (doctor.pk, doctor.practice_id, f"user:{patient.pk}", "192.0.2.80", {"format": "page"}),
        (doctor.pk, doctor.practice_id, f"user:{patient.pk}", "192.0.2.80", {"format": "csv"}),
    ]


def test_the_page_lists_the_same_messages_and_names(
    doctor: User, patient: User, other_doctor: User, history: dict[str, Any]
) -> None:
    page = _as(doctor).get(f"/practice/audit/patients/{patient.pk}/")

    text = page.content.decode()
    assert "Accounting of disclosures: Pat Smith" in text
    assert text.count("<tr>") == 1 + 4
    assert "Omar Lee" in text
    assert str(history["internal"].pk)[:8] not in text
    assert str(history["elsewhere"].pk)[:8] not in text


def test_a_patient_the_practice_never_exchanged_messages_with_is_a_404(
    doctor: User, staff: User, patient: User, outsider: User, other_doctor: User, history: Any
) -> None:
    client = _as(doctor)
    # Someone else's patient; a doctor (not a patient); nobody at all.
    for user_id in (outsider.pk + 1000, staff.pk, 999_999):
        assert client.get(f"/practice/audit/patients/{user_id}/").status_code == 404
        assert client.get(f"/practice/audit/patients/{user_id}/csv/").status_code == 404
    # Another practice's manager received a copy, but their practice never exchanged a
    # message with the patient.
    assert _as(other_doctor).get(f"/practice/audit/patients/{patient.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(event=Event.DISCLOSURES_VIEWED.value).exists()


def test_only_the_practices_user_manager_may_see_it(
    staff: User, patient: User, history: dict[str, Any]
) -> None:
    for person in (staff, patient):
        for path in ("", "csv/"):
            response = _as(person).get(f"/practice/audit/patients/{patient.pk}/{path}")
            assert response.status_code == 403
    anonymous = Client().get(f"/practice/audit/patients/{patient.pk}/")
    assert anonymous["Location"].startswith("/accounts/login/")


def test_an_uninvolved_patient_of_the_same_practice_has_their_own_accounting(
    doctor: User, outsider: User, history: dict[str, Any]
) -> None:
    rows = _csv(_as(doctor).get(f"/practice/audit/patients/{outsider.pk}/csv/"))

    assert [(r["message_id"], r["recipient_id"]) for r in rows] == [
        (str(history["elsewhere"].pk), str(outsider.pk))
    ]
    assert uuid.UUID(rows[0]["message_id"])
