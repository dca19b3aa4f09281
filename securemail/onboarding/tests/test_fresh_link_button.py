"""The "no longer valid" page's one button: for a used or expired link we sent, a fresh link
goes to the address that link was sent to, which the page never shows; the same answer
whether or not anything was sent; rate limited like the form where the address is typed."""

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from securemail.accounts.models import User
from securemail.core.ratelimit import parse_rule
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    finish_wizard,
    invite,
    register,
    start,
)

pytestmark = pytest.mark.django_db

EMAIL = "button.patient@example.test"
RESENT_TEXT = "a fresh link is on its way to the address the invitation was sent to"
PASSWORD_RESENT_TEXT = "a fresh link to set your password is on its way to the address"
TOO_MANY = "Too many requests. Wait an hour and try again."
LATER = timedelta(days=30, minutes=1)


def _button(page: Any) -> tuple[str, dict[str, str]]:
    """The page's one-button form: where it posts and its hidden fields."""
    html = page.content.decode()
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert form, "no fresh-link button on the page"
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    fields.pop("csrfmiddlewaretoken", None)
    return form.group(1), fields


def _press(page: Any, client: Client | None = None, ip: str = "127.0.0.1") -> Any:
    action, fields = _button(page)
    return (client or Client()).post(action, fields, REMOTE_ADDR=ip)


def test_an_expired_link_sends_a_fresh_one_to_the_invited_address_with_one_button(
    doctor: User,
) -> None:
    _, join_path = invite(doctor, EMAIL, "patient")
    with time_machine.travel(timezone.now() + LATER):
        page = Client().get(join_path)
        assert page.status_code == 404
        assert INVALID_LINK_TEXT in page.content.decode()
        assert "to the address the invitation was sent to" in page.content.decode()
        assert EMAIL not in page.content.decode()

        response = _press(page)

        assert response.status_code == 200
        assert RESENT_TEXT in response.content.decode()
        assert EMAIL not in response.content.decode()
        assert OutboxEmail.objects.filter(to_email=EMAIL, kind="welcome_again").count() == 1
        fresh = MAILBOX.link(EMAIL, "/join/")
        assert fresh != join_path
        assert start(fresh).get("/register/").status_code == 302


def test_a_used_link_sends_the_set_password_email_while_the_password_is_not_set(
    doctor: User,
) -> None:
    _, join_path = invite(doctor, EMAIL, "patient")
    finish_wizard(start(join_path))
    sent_before = OutboxEmail.objects.filter(to_email=EMAIL, kind="set_password").count()

    response = _press(Client().get(join_path))

    assert RESENT_TEXT in response.content.decode()
    assert User.objects.get(email=EMAIL).status == User.Status.REGISTERED
    assert OutboxEmail.objects.filter(to_email=EMAIL, kind="set_password").count() == (
        sent_before + 1
    )


def test_a_link_we_never_sent_gets_the_same_answer_and_nothing_is_sent(doctor: User) -> None:
    invite(doctor, EMAIL, "patient")
    queued = OutboxEmail.objects.count()

    response = Client().post("/register/link/again/", {"token": "not-a-token-we-ever-sent"})

    assert response.status_code == 200
    assert RESENT_TEXT in response.content.decode()
    assert OutboxEmail.objects.count() == queued


def test_presses_past_the_limit_of_one_computer_are_refused_with_a_clear_message(
    doctor: User,
) -> None:
    _, join_path = invite(doctor, EMAIL, "patient")
    per_computer, _ = parse_rule(settings.SECUREMAIL_RATE_LIMITS["fresh_link"])
    client = Client()
    with time_machine.travel(timezone.now() + LATER, tick=False):
        page = client.get(join_path)
        answers = [_press(page, client).status_code for _ in range(per_computer)]
        refused = _press(page, client)

    assert answers == [200] * per_computer
    assert refused.status_code == 429
    assert TOO_MANY in refused.content.decode()
    assert INVALID_LINK_TEXT in refused.content.decode()
    # The first press sent the fresh link (and retired the old one); none sent more.
    assert OutboxEmail.objects.filter(to_email=EMAIL, kind="welcome_again").count() == 1


def test_presses_for_one_address_send_one_fresh_link_whatever_the_computers(
    doctor: User,
) -> None:
    register(doctor, EMAIL, "patient")
    link = MAILBOX.link(EMAIL, "/accounts/password/")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=5), tick=False):
        page = Client().get(link, follow=True)
        answers = [_press(page, ip=f"198.51.100.{n + 1}").status_code for n in range(6)]

    assert answers == [200] * 6
    # The first press replaced the expired link: the later ones hold a link we no longer
    # know, and send nothing.
    assert OutboxEmail.objects.filter(to_email=EMAIL, kind="set_password").count() == 1 + 1


def test_an_expired_set_password_link_offers_a_fresh_one_to_the_same_address(
    doctor: User,
) -> None:
    register(doctor, EMAIL, "patient")
    link = MAILBOX.link(EMAIL, "/accounts/password/")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=5)):
        page = Client().get(link, follow=True)
        assert page.status_code == 404
        assert INVALID_LINK_TEXT in page.content.decode()
        assert EMAIL not in page.content.decode()

        response = _press(page)

        assert response.status_code == 200
        assert PASSWORD_RESENT_TEXT in response.content.decode()
        fresh = MAILBOX.link(EMAIL, "/accounts/password/")
        assert fresh != link
        opened = Client().get(fresh, follow=True)
        assert opened.status_code == 200
        assert b"new_password1" in opened.content


def test_used_and_altered_set_password_links_get_the_form_to_type_the_address(
    doctor: User,
) -> None:
    register(doctor, EMAIL, "patient")
    link = MAILBOX.link(EMAIL, "/accounts/password/")
    prefix, uid, token = link.rstrip("/").rsplit("/", 2)
    altered = Client().get(f"{prefix}/{uid}/{token[:-1]}{'a' if token[-1] != 'a' else 'b'}/")
    client = Client()
    form_url = client.get(link)["Location"]
    client.post(
        form_url, {"new_password1": "Plover-Quartz-9931", "new_password2": "Plover-Quartz-9931"}
    )
    used = Client().get(link)

    for page in (altered, used):
        assert page.status_code == 404
        assert INVALID_LINK_TEXT in page.content.decode()
        assert b'href="/accounts/password/"' in page.content
        assert b"/accounts/password/again/" not in page.content


def test_a_forged_set_password_button_sends_nothing(doctor: User) -> None:
    forged = {"uidb64": urlsafe_base64_encode(force_bytes(doctor.pk)), "token": "abc123-0f0f0f"}
    response = Client().post("/accounts/password/again/", forged)

    assert response.status_code == 200
    assert PASSWORD_RESENT_TEXT in response.content.decode()
    assert not OutboxEmail.objects.exists()
