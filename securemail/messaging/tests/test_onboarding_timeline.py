"""Issue 11, "Onboarding that follows up": the delivery slip shows each invitee's onboarding
timeline (notified, opened the link, started, code sent, verified, registered, first read;
each reminder sent, reminders stopped) in the sender's time zone, with "Stop reminders"
for the invitation's sender only; and it costs the same queries whatever the number of
invitees. The inviter's page for the invitation shows the timeline too."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.tests.helpers import as_user, queries_for, send, text_of
from securemail.notifications.services import deliver_due
from securemail.onboarding.models import Invitation, RecipientRole
from securemail.onboarding.tests.helpers import (
    MAILBOX,
    PHONE_INBOX,
    accept_terms,
    enter_code,
    post_you,
    send_code,
    start,
)
from securemail.ops.worker import periodic
from tests.support import frozen_clock

pytestmark = pytest.mark.django_db

# 9:00 AM in New York (the personas' time zone) on May 6, 2031.
SENT_AT = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)
NEWCOMER = "new.patient@example.test"
NOTHING_YET = [
    "Notified: not yet",
    "Opened the link: not yet",
    "Started: not yet",
    "Code sent: not yet",
    "Verified: not yet",
    "Registered: not yet",
    "First read: not yet",
]


@pytest.fixture(autouse=True)
def clock(tmp_path: Path, own_files: Path) -> Iterator[Any]:
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


def at(clock: Any, day: int, hour: int, minute: int = 0) -> None:
    """Move to `hour`:`minute` New York time (UTC-4 in May) on May 6 + `day`."""
    clock.move_to(SENT_AT + timedelta(days=day, hours=hour - 9, minutes=minute))


def onboarding(page: Any) -> dict[str, list[str]]:
    """Each onboarding block of a thread page: its heading → its timeline's lines."""
    html = page.content.decode()
    found = {}
    for heading, body in re.findall(
        r'<section class="onboarding"[^>]*>\s*<h3[^>]*>(.*?)</h3>(.*?)</section>', html, re.S
    ):
        timeline = re.search(r'<ol class="timeline">(.*?)</ol>', body, re.S)
        assert timeline is not None
        found[text_of(heading)] = [
            text_of(item) for item in re.findall(r"<li>(.*?)</li>", timeline.group(1), re.S)
        ]
    return found


def stop_buttons(page: Any) -> list[str]:
    """The actions of the "Stop reminders" forms on a page."""
    return re.findall(
        r'<form method="post" action="([^"]+/reminders/stop/)">', page.content.decode()
    )


def test_the_slip_shows_an_invitees_onboarding_step_by_step(
    clock: Any, client: Any, doctor: User
) -> None:
    message = send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert onboarding(page) == {f"Onboarding of {NEWCOMER}": NOTHING_YET}

    at(clock, 0, 9, 1)
    assert deliver_due() == 1
    at(clock, 3, 9)
    periodic()
    # May 10, in a browser of their own: the link's page, Start, the wizard.
    invitee = Client()
    at(clock, 4, 8)
    assert invitee.get(MAILBOX.link(NEWCOMER, "/join/")).status_code == 200
    at(clock, 4, 8, 5)
    invitee.post(MAILBOX.link(NEWCOMER, "/join/"))
    post_you(invitee)
    at(clock, 4, 8, 10)
    send_code(invitee)
    at(clock, 4, 8, 12)
    enter_code(invitee, MAILBOX.code(PHONE_INBOX))
    at(clock, 4, 8, 15)
    accept_terms(invitee)
    at(clock, 4, 8, 30)
    newcomer = User.objects.get(email=NEWCOMER)
    services.mark_read(reader=newcomer, messages=[message])

    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert onboarding(page) == {
        "Onboarding of Alex Newman": [
            "Notified: May 6 9:01 AM",
            "Reminder sent day 3: May 9 9:00 AM",
            "Opened the link: May 10 8:00 AM",
            "Started: May 10 8:05 AM",
            "Code sent: May 10 8:10 AM",
            "Verified: May 10 8:12 AM",
            "Registered: May 10 8:15 AM",
            "First read: May 10 8:30 AM",
        ]
    }
    # Registered: there is nothing left to stop.
    assert stop_buttons(page) == []


def test_the_timeline_is_in_the_viewers_time_zone(clock: Any, client: Any, doctor: User) -> None:
    doctor.time_zone = "Asia/Tokyo"
    doctor.save()
    message = send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    at(clock, 0, 9, 1)
    deliver_due()

    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    [lines] = onboarding(page).values()
    # 9:01 AM in New York is 10:01 PM in Tokyo.
    assert lines[0] == "Notified: May 6 10:01 PM"


def test_the_senders_stop_button_stops_the_reminders_and_the_timeline_says_so(
    clock: Any, client: Any, doctor: User
) -> None:
    message = send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    at(clock, 3, 9)
    periodic()
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    invitee = User.objects.get(email=NEWCOMER)
    assert stop_buttons(page) == [f"/practice/invitations/{invitee.pk}/reminders/stop/"]
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()

    at(clock, 3, 9, 10)
    stopped = client.post(stop_buttons(page)[0], {"message": str(message.pk)}, follow=True)

    assert stopped.redirect_chain == [(f"/m/{message.pk}/", 302)]
    assert f"No more reminders will be sent to {NEWCOMER}." in stopped.content.decode()
    assert onboarding(stopped)[f"Onboarding of {NEWCOMER}"][:3] == [
        "Reminder sent day 3: May 9 9:00 AM",
        "Reminders stopped: May 9 9:10 AM",
        "Notified: not yet",
    ]
    assert stop_buttons(stopped) == []


def test_only_the_invitations_sender_sees_its_timeline_and_stop_button(
    clock: Any, client: Any, doctor: User, staff: User
) -> None:
    mine = send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    at(clock, 0, 10)
    theirs = send(staff, NEWCOMER, subject="Your appointment")

    page = as_user(client, staff).get(f"/m/{theirs.pk}/")

    # A colleague's slip says the invitee hasn't registered, not how the doctor's
    # invitation is getting on, nor the doctor's button.
    assert '<td data-label="Registered">not yet</td>' in page.content.decode()
    assert onboarding(page) == {}
    assert stop_buttons(page) == []
    page = as_user(client, doctor).get(f"/m/{mine.pk}/")
    assert onboarding(page) == {f"Onboarding of {NEWCOMER}": NOTHING_YET}
    assert len(stop_buttons(page)) == 1


def test_another_practices_sender_never_sees_how_someone_elses_invitee_got_on(
    clock: Any, client: Any, doctor: User, other_doctor: User
) -> None:
    mine = send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    at(clock, 0, 9, 1)
    deliver_due()
    at(clock, 0, 10)
    theirs = send(other_doctor, NEWCOMER, subject="Your results")
    at(clock, 3, 9)
    periodic()
    at(clock, 4, 8)
    invitee = start(MAILBOX.link(NEWCOMER, "/join/"))
    post_you(invitee)
    send_code(invitee)
    enter_code(invitee, MAILBOX.code(PHONE_INBOX))
    accept_terms(invitee)

    page = as_user(client, other_doctor).get(f"/m/{theirs.pk}/")
    html = text_of(page.content.decode())
    assert onboarding(page) == {}
    assert stop_buttons(page) == []
    for moment in ["Onboarding", "Opened the link", "Verified", "Reminder sent"]:
        assert moment not in html
    # The inviter still sees all of it.
    page = as_user(client, doctor).get(f"/m/{mine.pk}/")
    [lines] = onboarding(page).values()
    assert "Reminder sent day 3: May 9 9:00 AM" in lines
    assert "Registered: May 10 8:00 AM" in lines


def test_known_recipients_have_no_onboarding(
    client: Any, doctor: User, other_doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert onboarding(page) == {}
    assert "Onboarding" not in page.content.decode()

    # Registered months ago through another practice's invitation: still nothing of it.
    long_ago = datetime(2031, 1, 10, 15, 0, tzinfo=UTC)
    Invitation.objects.create(
        invitee=patient,
        invited_by=other_doctor,
        role=RecipientRole.PATIENT,
        token_hash="0" * 64,
        created_at=long_ago,
        link_sent_at=long_ago,
        expires_at=long_ago + timedelta(days=30),
        link_shown_at=long_ago + timedelta(hours=1),
        opened_at=long_ago + timedelta(hours=1),
        used_at=long_ago + timedelta(hours=2),
        reminded_day=3,
    )
    message = send(doctor, patient, subject="Follow-up")
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert onboarding(page) == {}
    assert "Onboarding" not in page.content.decode()
    assert "Jan 10" not in text_of(page.content.decode())
    assert stop_buttons(page) == []


def test_without_phone_verification_the_timeline_has_no_code_steps(
    client: Any, doctor: User, practice: Any
) -> None:
    practice.require_phone_verification = False
    practice.save()
    message = send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    [lines] = onboarding(page).values()
    assert lines == [line for line in NOTHING_YET if not line.startswith(("Code", "Verified"))]


def test_the_slips_queries_do_not_grow_with_its_invitees(
    clock: Any, client: Any, doctor: User
) -> None:
    one = send(doctor, "solo@example.test", role=RecipientRole.PATIENT)
    four = send(doctor, *[f"new.{n}@example.test" for n in range(4)], role=RecipientRole.PATIENT)
    deliver_due()
    at(clock, 3, 9)
    periodic()
    # Some of them further on than others (no code sent yet, or one sent).
    for address in ["new.0@example.test", "new.1@example.test"]:
        invitee = start(MAILBOX.link(address, "/join/"))
        post_you(invitee)
        send_code(invitee)
    start(MAILBOX.link("new.2@example.test", "/join/"))
    assert Invitation.objects.filter(reminded_day=3).count() == 5

    as_user(client, doctor)
    queries_one = queries_for(client, f"/m/{one.pk}/")
    queries_four = queries_for(client, f"/m/{four.pk}/")

    assert queries_four == queries_one
    page = client.get(f"/m/{four.pk}/")
    assert len(onboarding(page)) == 4
    for lines in onboarding(page).values():
        assert "Reminder sent day 3: May 9 9:00 AM" in lines
    codes = [lines for lines in onboarding(page).values() if "Code sent: May 9 9:00 AM" in lines]
    assert len(codes) == 2
    assert len(stop_buttons(page)) == 4


def test_the_inviters_page_shows_the_timeline_and_the_stop_button(
    clock: Any, client: Any, doctor: User
) -> None:
    send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    at(clock, 0, 9, 1)
    deliver_due()
    at(clock, 3, 9)
    periodic()
    invitee = User.objects.get(email=NEWCOMER)

    page = as_user(client, doctor).get(f"/practice/invitations/{invitee.pk}/")
    html = page.content.decode()
    lines = [text_of(li) for li in re.findall(r"<li>(.*?)</li>", html.split('"timeline"')[1])]
    assert lines[:3] == [
        "Notified: May 6 9:01 AM",
        "Reminder sent day 3: May 9 9:00 AM",
        "Opened the link: not yet",
    ]
    assert "First read" not in html
    assert "Reminders go on days 3, 15 and 29 after the invitation" in text_of(html)
    assert stop_buttons(page) == [f"/practice/invitations/{invitee.pk}/reminders/stop/"]

    # Stopped from there, it comes back there.
    stopped = client.post(stop_buttons(page)[0], follow=True)
    assert stopped.redirect_chain == [(f"/practice/invitations/{invitee.pk}/", 302)]
    assert "Reminders stopped: May 9 9:00 AM" in text_of(stopped.content.decode())
    assert stop_buttons(stopped) == []
