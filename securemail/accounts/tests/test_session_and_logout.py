"""Sessions (SPEC §6): they end after 30 minutes without a request, and logging out takes
a POST (a link or an image can't log anyone out)."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import is_logged_in_as, log_in

pytestmark = pytest.mark.django_db


def test_session_ends_after_thirty_idle_minutes(doctor: User) -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()

    with time_machine.travel(timezone.now(), tick=False) as clock:
        response = log_in(client, doctor.email)
        assert response.status_code == 302
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        # The cookie itself lives only as long as the browser session...
        assert cookie["max-age"] == ""
        assert cookie["expires"] == ""
        assert cookie["httponly"] is True
        # ...and the server forgets it after 30 idle minutes.
        session = Session.objects.get(session_key=cookie.value)
        assert session.expire_date == timezone.now() + timedelta(minutes=30)

        # Each request starts the 30 minutes again.
        clock.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get("/").status_code == 200

        clock.shift(timedelta(minutes=30, seconds=1))
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=/"
        assert not is_logged_in_as(client, doctor)


def test_logout_is_post_only(login: Any, doctor: User) -> None:
    client = login(doctor)

    response = client.get("/accounts/logout/")
    assert response.status_code == 405
    assert client.get("/").status_code == 200

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not is_logged_in_as(client, doctor)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_logout_deletes_the_server_side_session(client: Client, doctor: User) -> None:
    log_in(client, doctor.email)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()

    client.post("/accounts/logout/")

    assert not Session.objects.filter(session_key=key).exists()


def test_the_idle_timer_is_written_at_most_once_a_minute(doctor: User) -> None:
    """Not a database write on every page: the 30 minutes restart at most once a minute (a
    session ends between 29 and 30 idle minutes, never later)."""
    client = Client()

    def session_writes() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return sum(
            1 for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")
        )

    with time_machine.travel(timezone.now(), tick=False) as clock:
        log_in(client, doctor.email)
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        logged_in_at = timezone.now()

        clock.shift(timedelta(seconds=59))
        assert session_writes() == 0
        session = Session.objects.get(session_key=key)
        assert session.expire_date == logged_in_at + timedelta(minutes=30)

        clock.shift(timedelta(seconds=2))
        assert session_writes() == 1
        session = Session.objects.get(session_key=key)
        assert session.expire_date == timezone.now() + timedelta(minutes=30)
        assert session_writes() == 0
