"""Pages whose URL carries a token, the pages they lead to and those that take a token send
`Referrer-Policy: no-referrer` (issue 9: they sent same-origin), so no request they make
carries a link; their forms still work, though browsers then post them with `Origin: null`."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from securemail.accounts.models import User
from securemail.onboarding.tests.helpers import MAILBOX, invite

pytestmark = pytest.mark.django_db

INVITEE = "new.patient@example.test"
STRONG = "Plover-Quartz-9931"


def _join_link(doctor: User) -> str:
    return invite(doctor, INVITEE, "patient")[1]


def _password_link(user: User) -> str:
    Client().post("/accounts/password/", {"email": user.email})
    return MAILBOX.link(user.email, "/accounts/password/")


def _form_url(user: User) -> str:
    return f"/accounts/password/{urlsafe_base64_encode(force_bytes(user.pk))}/set-password/"


def _opened(user: User) -> Client:
    """A browser that opened the user's set-password link (the form is at _form_url)."""
    client = Client()
    assert client.get(_password_link(user)).status_code == 302
    return client


# What each page is, and how to reach it: (client, path, method, data), expected status.
PAGES: dict[str, tuple[Callable[[User], tuple[Client, str, str, dict[str, str]]], int]] = {
    "registration link": (lambda d: (Client(), _join_link(d), "get", {}), 200),
    "registration link, Start": (lambda d: (Client(), _join_link(d), "post", {}), 302),
    "registration link, no longer valid": (lambda d: (Client(), "/join/abc/", "get", {}), 404),
    "set-password link": (lambda d: (Client(), _password_link(d), "get", {}), 302),
    "set-password link, no longer valid": (
        lambda d: (Client(), _form_url(d).replace("set-password", "abc"), "get", {}),
        404,
    ),
    "set-password form": (lambda d: (_opened(d), _form_url(d), "get", {}), 200),
    "set-password form, refused": (
        lambda d: (_opened(d), _form_url(d), "post", {"new_password1": "a"}),
        400,
    ),
    "set-password form, set": (
        lambda d: (
            _opened(d),
            _form_url(d),
            "post",
            {"new_password1": STRONG, "new_password2": STRONG},
        ),
        302,
    ),
    "password reset page": (lambda d: (Client(), "/accounts/password/", "get", {}), 200),
    "password reset, asked": (
        lambda d: (Client(), "/accounts/password/", "post", {"email": d.email}),
        302,
    ),
    "set-password fresh link button": (
        lambda d: (Client(), "/accounts/password/again/", "post", {"uidb64": "x", "token": "y"}),
        200,
    ),
    "fresh registration link page": (lambda d: (Client(), "/register/link/", "get", {}), 200),
    "fresh registration link, asked": (
        lambda d: (Client(), "/register/link/", "post", {"email": INVITEE}),
        200,
    ),
    "fresh registration link button": (
        lambda d: (Client(), "/register/link/again/", "post", {"token": "y"}),
        200,
    ),
}


@pytest.mark.parametrize("page", PAGES)
def test_token_pages_send_no_referrer(page: str, doctor: User) -> None:
    reach, status = PAGES[page]
    client, path, method, data = reach(doctor)

    response = getattr(client, method)(path, data)

    assert response.status_code == status
    assert response["Referrer-Policy"] == "no-referrer"


def test_other_pages_keep_the_site_wide_policy() -> None:
    assert Client().get("/accounts/login/")["Referrer-Policy"] == "same-origin"


# --- their forms, posted as a browser posts them from a no-referrer page ------------------


def _post_like_a_browser(path: str, data: dict[str, str], **headers: str) -> Any:
    """GET the page, then POST its form with its CSRF token, with the CSRF check on."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    return client.post(path, {"csrfmiddlewaretoken": token.group(1)} | data, **headers)


def test_a_form_of_a_no_referrer_page_posted_with_a_null_origin_goes_through(
    doctor: User,
) -> None:
    response = _post_like_a_browser(
        "/accounts/password/",
        {"email": doctor.email},
        HTTP_ORIGIN="null",
        HTTP_SEC_FETCH_SITE="same-origin",
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/sent/"


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", None])
def test_a_null_origin_from_anywhere_but_this_site_is_refused(
    fetch_site: str | None, doctor: User
) -> None:
    headers: dict[str, Any] = {"HTTP_ORIGIN": "null"}
    if fetch_site:
        headers["HTTP_SEC_FETCH_SITE"] = fetch_site

    response = _post_like_a_browser("/accounts/password/", {"email": doctor.email}, **headers)

    assert response.status_code == 403


def test_a_null_origin_is_refused_on_pages_that_keep_the_referrer(doctor: User) -> None:
    response = _post_like_a_browser(
        "/accounts/login/",
        {"username": doctor.email, "password": "x"},
        HTTP_ORIGIN="null",
        HTTP_SEC_FETCH_SITE="same-origin",
    )

    assert response.status_code == 403
