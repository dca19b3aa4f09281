"""The session engine reads sessions by hand-written SQL: a live session keeps its person
logged in, and an expired, unknown or altered one logs nobody in."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from securemail.core.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_live_session_keeps_its_person_logged_in(login: Any, doctor: Any) -> None:
    client = login(doctor)
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.user == doctor
    # And its practice came with the account (the menu and the pages read it).
    assert response.wsgi_request.user.practice.name == doctor.practice.name


def test_an_expired_session_logs_nobody_in(login: Any, doctor: Any) -> None:
    client = login(doctor)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_an_unknown_or_missing_key_is_a_new_empty_session() -> None:
    store = SessionStore("nosuchsessionkeyatall0123456789x")
    assert store.load() == {}
    assert store.session_key is None
    assert SessionStore(None).load() == {}


def test_saved_data_reads_back_and_altered_data_reads_as_empty() -> None:
    store = SessionStore()
    store["note"] = "kept"
    store.create()
    assert SessionStore(store.session_key)["note"] == "kept"
    Session.objects.filter(pk=store.session_key).update(session_data="altered:data")
    assert SessionStore(store.session_key).load() == {}
