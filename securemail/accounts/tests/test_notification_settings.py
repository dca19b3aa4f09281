"""Issue 11: the profile's "tell me about new messages by", quiet hours and time zone. A text
option needs a verified cell phone; quiet hours take both times or neither, never the same
one; the time zone is a real one. Bad input gets a clear message on the form (400), never a
500, and saves nothing."""

import re
from datetime import time
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from securemail.accounts import services
from securemail.accounts.models import User
from securemail.accounts.notify import NO_CELL_PHONE
from securemail.audit.models import AuditEvent
from securemail.messaging.tests.helpers import text_of

pytestmark = pytest.mark.django_db


def profile_post(client: Any, user: User, **changes: str) -> Any:
    data = {
        "full_name": user.full_name,
        "office_phone": "",
        "time_zone": user.time_zone,
        "signature": "",
        "default_expiry_days": "30",
        "notify_by": user.notify_by,
        "quiet_hours_start": "",
        "quiet_hours_end": "",
    }
    data.update(changes)
    return client.post("/accounts/profile/", data)


def field_errors(page: Any, name: str) -> list[str]:
    """The error messages shown under the profile field `name`."""
    return [
        text_of(error)
        for error in re.findall(
            rf'<p class="error" id="id_{name}_error">(.*?)</p>', page.content.decode(), re.S
        )
    ]


def test_the_profile_offers_each_way_and_quiet_hours(login: Any, patient: User) -> None:
    page = login(patient).get("/accounts/profile/").content.decode()

    for label in ["Email and text message", "Text message only", "Email only", "No notifications"]:
        assert label in page
    assert "Quiet hours for text messages: from" in page
    assert 'type="time" name="quiet_hours_start"' in page
    assert "Invitations, password links and security notices always come by email." in page


@pytest.mark.parametrize("choice", [User.Notify.SMS, User.Notify.EMAIL_AND_SMS, User.Notify.NONE])
def test_someone_with_a_verified_cell_phone_chooses_how_they_hear(
    login: Any, patient: User, choice: str
) -> None:
    response = profile_post(
        login(patient),
        patient,
        notify_by=choice,
        quiet_hours_start="21:00",
        quiet_hours_end="07:00",
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.notify_by == choice
    assert (patient.quiet_hours_start, patient.quiet_hours_end) == (time(21), time(7))
    assert AuditEvent.objects.filter(event="accounts:profile:update", actor_id=patient.pk).exists()


def test_quiet_hours_are_cleared_by_leaving_both_empty(login: Any, patient: User) -> None:
    patient.quiet_hours_start, patient.quiet_hours_end = time(22), time(6, 30)
    patient.save()

    assert profile_post(login(patient), patient).status_code == 302

    patient.refresh_from_db()
    assert (patient.quiet_hours_start, patient.quiet_hours_end) == (None, None)


@pytest.mark.parametrize(
    "phone",
    [
        {"phone_verified_at": None},
        {"phone_type": User.PhoneType.LANDLINE},
        {"phone": "", "phone_verified_at": None},
    ],
    ids=["not verified", "a landline", "no phone"],
)
@pytest.mark.parametrize("choice", [User.Notify.SMS, User.Notify.EMAIL_AND_SMS])
def test_a_text_option_without_a_verified_cell_phone_is_refused_clearly(
    login: Any, patient: User, choice: str, phone: dict[str, Any]
) -> None:
    User.objects.filter(pk=patient.pk).update(**phone)
    patient.refresh_from_db()

    response = profile_post(login(patient), patient, notify_by=choice, signature="Pat")

    assert response.status_code == 400
    assert field_errors(response, "notify_by") == [NO_CELL_PHONE]
    patient.refresh_from_db()
    assert patient.notify_by == User.Notify.EMAIL
    assert patient.signature == ""


def test_the_service_refuses_a_text_option_without_a_phone_too(patient: User) -> None:
    User.objects.filter(pk=patient.pk).update(phone_verified_at=None)
    patient.refresh_from_db()

    with pytest.raises(services.AccountError, match="verified cell phone"):
        services.update_profile(user=patient, changes={"notify_by": User.Notify.SMS})

    patient.refresh_from_db()
    assert patient.notify_by == User.Notify.EMAIL


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"time_zone": "Mars/Olympus_Mons"},
            "time_zone",
            "Choose your time zone from the list.",
        ),
        ({"time_zone": ""}, "time_zone", "This field is required."),
        (
            {"time_zone": "America/New_York<script>"},
            "time_zone",
            "Choose your time zone from the list.",
        ),
        (
            {"quiet_hours_start": "21:00"},
            "quiet_hours_end",
            "Set both times of your quiet hours, or leave both empty for none.",
        ),
        (
            {"quiet_hours_end": "07:00"},
            "quiet_hours_start",
            "Set both times of your quiet hours, or leave both empty for none.",
        ),
        (
            {"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"},
            "quiet_hours_end",
            "Quiet hours can't start and end at the same time. Choose another end, "
            "or leave both empty for none.",
        ),
        (
            {"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"},
            "quiet_hours_start",
            "Enter a time like 21:00 (or leave it empty).",
        ),
        (
            {"quiet_hours_start": "21:00", "quiet_hours_end": "late" * 300},
            "quiet_hours_end",
            "Enter a time like 21:00 (or leave it empty).",
        ),
        ({"notify_by": "carrier-pigeon"}, "notify_by", None),
    ],
    ids=[
        "unknown time zone",
        "no time zone",
        "markup for a time zone",
        "start without end",
        "end without start",
        "start is the end",
        "no such time",
        "not a time at all",
        "no such way",
    ],
)
def test_bad_profile_input_gets_a_clear_message_and_saves_nothing(
    login: Any, patient: User, changes: dict[str, str], field: str, message: str | None
) -> None:
    response = profile_post(login(patient), patient, signature="Changed", **changes)

    assert response.status_code == 400
    errors = field_errors(response, field)
    if message is None:
        assert len(errors) == 1
        assert "carrier-pigeon is not one of the available choices" in errors[0]
    else:
        assert errors == [message]
    patient.refresh_from_db()
    assert patient.signature == ""
    assert patient.time_zone == "America/New_York"
    assert (patient.quiet_hours_start, patient.quiet_hours_end) == (None, None)


def test_the_database_keeps_quiet_hours_both_or_neither_and_never_empty(patient: User) -> None:
    for start, end in [(time(21), None), (None, time(7)), (time(21), time(21))]:
        patient.quiet_hours_start, patient.quiet_hours_end = start, end
        with pytest.raises(IntegrityError), transaction.atomic():
            patient.save(update_fields=["quiet_hours_start", "quiet_hours_end"])
