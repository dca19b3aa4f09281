"""Several recipients (SPEC §2 beyond, §4): To and Cc, each new address with its own role."""

from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging.models import Delivery, Message
from securemail.messaging.tests.helpers import (
    assert_nothing_saved,
    compose,
    outbox_payloads,
    parse_form,
    text_of,
)
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation

pytestmark = pytest.mark.django_db

NEW_DOCTOR = "new.doctor@brightsmiles.test"
NEW_PATIENT = "new.patient@mail.test"
NEW_STAFF = "new.staff@lakeview.test"
# What each role's welcome email asks for, and what only it says.
WELCOME_TEXT = {
    NEW_DOCTOR: ["Your specialty", "You'll join Bright Smiles Dental's SecureMail account."],
    NEW_PATIENT: ["cell phone or landline"],
    NEW_STAFF: ["Practice information (practice name, website, phone and address)"],
}


def _roles(**by_address: str) -> dict[str, str]:
    return {f"role-{address}": role for address, role in by_address.items()}


def test_to_and_cc_with_known_and_new_addresses_reach_everyone_in_their_way(
    login: Any, doctor: User, staff: User, other_doctor: User
) -> None:
    client = login(doctor)

    response = compose(
        client,
        to=f"{staff.email}, {NEW_DOCTOR}",
        cc=f"{other_doctor.email}; {NEW_PATIENT} {NEW_STAFF}",
        **_roles(
            **{
                NEW_DOCTOR: "doctor_my_practice",
                NEW_PATIENT: "patient",
                NEW_STAFF: "staff_other_practice",
            }
        ),
    )

    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/m/{message.pk}/"
    kinds = {d.recipient.email: d.kind for d in message.deliveries.select_related("recipient")}
    assert kinds == {
        staff.email: "to",
        NEW_DOCTOR: "to",
        other_doctor.email: "cc",
        NEW_PATIENT: "cc",
        NEW_STAFF: "cc",
    }

    # Each new address is an invited free account of its role's kind and practice.
    new_doctor = User.objects.get(email=NEW_DOCTOR)
    new_patient = User.objects.get(email=NEW_PATIENT)
    new_staff = User.objects.get(email=NEW_STAFF)
    assert (new_doctor.kind, new_doctor.practice) == ("doctor", doctor.practice)
    assert (new_patient.kind, new_patient.practice) == ("patient", None)
    assert (new_staff.kind, new_staff.practice) == ("staff", None)
    for invitee in (new_doctor, new_patient, new_staff):
        assert invitee.status == User.Status.INVITED
        assert invitee.plan == User.Plan.FREE
        assert invitee.invited_by == doctor
    assert dict(Invitation.objects.values_list("invitee__email", "role")) == {
        NEW_DOCTOR: "doctor_my_practice",
        NEW_PATIENT: "patient",
        NEW_STAFF: "staff_other_practice",
    }
    # Known accounts stay what they were.
    staff.refresh_from_db()
    assert (staff.kind, staff.plan, staff.status) == ("staff", "paid", "active")

    # New addresses get their role's welcome email, known ones a notification; one each.
    emails = {email.to_email: (email.kind, payload) for email, payload in outbox_payloads()}
    assert set(emails) == {staff.email, other_doctor.email, NEW_DOCTOR, NEW_PATIENT, NEW_STAFF}
    assert OutboxEmail.objects.count() == 5
    for known in (staff.email, other_doctor.email):
        kind, payload = emails[known]
        assert kind == "new_message"
        assert f"/m/{message.pk}/" in payload["text"]
    for address, phrases in WELCOME_TEXT.items():
        kind, payload = emails[address]
        assert kind == "welcome"
        assert payload["subject"] == (
            "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"
        )
        assert "/join/" in payload["text"]
        for phrase in phrases:
            assert phrase in payload["text"], (address, phrase)
    # ...and not another role's wording.
    assert "You'll join" not in emails[NEW_STAFF][1]["text"]
    assert "Practice information" not in emails[NEW_DOCTOR][1]["text"]

    event = AuditEvent.objects.get(event="messaging:message:send")
    assert sorted(event.data["recipients"]) == sorted(
        User.objects.exclude(pk=doctor.pk)
        .filter(deliveries__message=message)
        .values_list("pk", flat=True)
    )
    assert AuditEvent.objects.filter(event="onboarding:invitation:create").count() == 3


def test_cc_recipients_are_marked_cc_on_the_conversation(
    login: Any, doctor: User, staff: User, other_doctor: User
) -> None:
    compose(login(doctor), to=staff.email, cc=other_doctor.email)
    message = Message.objects.get()

    for reader in (doctor, staff, other_doctor):
        page = login(reader).get(f"/m/{message.pk}/")
        header = text_of(page.content.decode().split('<span class="meta">', 1)[1].split("·")[0])
        assert header == "to Sam Front, Dr. Omar Lee (cc)", reader


def test_a_new_address_without_its_own_role_is_named_and_nothing_is_saved(
    login: Any, doctor: User, staff: User
) -> None:
    client = login(doctor)
    users = User.objects.count()

    response = compose(
        client,
        to=f"{NEW_DOCTOR}, {staff.email}",
        cc=NEW_PATIENT,
        **_roles(**{NEW_DOCTOR: "doctor_my_practice"}),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert f"select the recipient&#x27;s role for {NEW_PATIENT}." in page
    assert f"role for {NEW_DOCTOR}" not in page
    # The form comes back with one select per new address, the chosen role kept.
    form = parse_form(page)
    roles = {name for name in form.selects if name.startswith("role-")}
    assert roles == {f"role-{NEW_DOCTOR}", f"role-{NEW_PATIENT}"}
    assert 'value="doctor_my_practice" selected' in page
    assert_nothing_saved(users)


def test_one_role_for_two_new_addresses_is_not_enough(login: Any, doctor: User) -> None:
    users = User.objects.count()

    # The single "role" field (no JavaScript) only serves a single new address.
    response = compose(login(doctor), to=NEW_DOCTOR, cc=NEW_PATIENT, role="patient")

    assert response.status_code == 400
    assert (
        f"select the recipient&#x27;s role for {NEW_DOCTOR}, {NEW_PATIENT}."
        in response.content.decode()
    )
    assert_nothing_saved(users)


def test_an_address_in_to_and_cc_gets_one_delivery_one_email_and_one_role(
    login: Any, doctor: User, staff: User
) -> None:
    response = compose(
        login(doctor),
        to=f"{staff.email}, {NEW_PATIENT}, SAM.FRONT@brightsmiles.test",
        cc=f"{staff.email}, {NEW_PATIENT.upper()}",
        **_roles(**{NEW_PATIENT: "patient"}),
    )

    assert response.status_code == 302
    message = Message.objects.get()
    deliveries = list(message.deliveries.select_related("recipient"))
    # To wins over Cc.
    assert sorted((d.recipient.email, d.kind) for d in deliveries) == [
        (NEW_PATIENT, "to"),
        (staff.email, "to"),
    ]
    assert User.objects.filter(email=NEW_PATIENT).count() == 1
    assert Invitation.objects.count() == 1
    assert sorted(OutboxEmail.objects.values_list("to_email", "kind")) == [
        (NEW_PATIENT, "welcome"),
        (staff.email, "new_message"),
    ]


def test_twenty_recipients_are_accepted(login: Any, doctor: User) -> None:
    to = [f"patient{n}@mail.test" for n in range(12)]
    cc = [f"patient{n}@mail.test" for n in range(12, 20)]

    response = compose(
        login(doctor),
        to=", ".join(to),
        cc=", ".join(cc),
        **_roles(**dict.fromkeys(to + cc, "patient")),
    )

    assert response.status_code == 302
    assert Delivery.objects.filter(kind="to").count() == 12
    assert Delivery.objects.filter(kind="cc").count() == 8
    assert OutboxEmail.objects.filter(kind="welcome").count() == 20


def test_more_than_twenty_recipients_are_refused(login: Any, doctor: User) -> None:
    to = [f"patient{n}@mail.test" for n in range(11)]
    cc = [f"patient{n}@mail.test" for n in range(11, 21)]
    users = User.objects.count()

    response = compose(
        login(doctor),
        to=", ".join(to),
        cc=", ".join(cc),
        **_roles(**dict.fromkeys(to + cc, "patient")),
    )

    assert response.status_code == 400
    assert "Send to at most 20 people at once." in response.content.decode()
    assert_nothing_saved(users)


@pytest.mark.parametrize(
    ("to", "cc", "named"),
    [
        (
            "sam.front@brightsmiles.test",
            "omar.lee@lakeside.test, bob@@example.test",
            "bob@@example.test",
        ),
        ("sam.front@brightsmiles.test, pat.smith@mail", "", "pat.smith@mail"),
        ("x@<script>", "", "x@&lt;script"),
    ],
    ids=["in-cc", "in-to", "with-markup"],
)
def test_a_malformed_address_is_named_in_the_error(
    to: str,
    cc: str,
    named: str,
    login: Any,
    doctor: User,
    staff: User,
    other_doctor: User,
) -> None:
    users = User.objects.count()

    response = compose(login(doctor), to=to, cc=cc)

    assert response.status_code == 400
    page = response.content.decode()
    assert f"Enter a valid email address, like name@example.com. Not valid: {named}." in page
    assert "<script>" not in page.split("<main", 1)[1]
    assert_nothing_saved(users)
