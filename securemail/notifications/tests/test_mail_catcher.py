"""The local mail catcher (SPEC §7): in development every sent email shows in the browser
at /dev/mail/, with working links; the page does not exist otherwise."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.notifications.catcher import start_catcher
from securemail.notifications.services import deliver_due
from securemail.notifications.sms import LocalSmsProvider
from securemail.notifications.tests.helpers import queue_password_email
from tests.support import free_port, path_of, smtp_mailers

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]


@pytest.fixture
def catcher(settings: Any, tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "mailcatcher"
    port = free_port()
    controller = start_catcher(directory, port=port)
    settings.MAILERS = smtp_mailers(port)
    settings.SECUREMAIL_CATCHER_DIR = directory
    settings.SECUREMAIL_CATCHER_ENABLED = True
    yield directory
    controller.stop()


def test_catcher_lists_sent_email_and_shows_its_links_clickable(
    catcher: Path, client: Client, doctor: User
) -> None:
    _, link = queue_password_email(doctor)
    assert deliver_due() == 1
    [saved] = list(catcher.glob("*.eml"))

    page = client.get("/dev/mail/")
    assert page.status_code == 200
    assert b"Your SecureMail password link" in page.content
    assert doctor.email.encode() in page.content
    assert f'href="/dev/mail/{saved.name}/"'.encode() in page.content

    detail = client.get(f"/dev/mail/{saved.name}/")
    assert detail.status_code == 200
    assert b"Your SecureMail password link" in detail.content
    hrefs = re.findall(r'<a href="([^"]+)"', detail.content.decode())
    assert link in hrefs
    # And the link works: it opens the set-password page.
    assert client.get(path_of(link)).status_code == 302


def test_catcher_shows_texts_as_mail_to_sms_invalid(catcher: Path, client: Client) -> None:
    LocalSmsProvider().send_text(to="+12025550177", text="Your SecureMail code is 482913")

    page = client.get("/dev/mail/")
    assert b"12025550177@sms.invalid" in page.content
    [saved] = list(catcher.glob("*.eml"))
    assert b"482913" in client.get(f"/dev/mail/{saved.name}/").content


def test_catcher_lists_the_newest_email_first(
    catcher: Path, client: Client, doctor: User, staff: User
) -> None:
    queue_password_email(doctor)
    deliver_due()
    queue_password_email(staff)
    deliver_due()

    content = client.get("/dev/mail/").content
    assert content.index(staff.email.encode()) < content.index(doctor.email.encode())


def test_unknown_caught_email_is_404(catcher: Path, client: Client) -> None:
    assert client.get("/dev/mail/nothing-here.eml/").status_code == 404
    assert client.get("/dev/mail/settings.py/").status_code == 404


def test_catcher_pages_are_404_when_disabled(
    catcher: Path, client: Client, settings: Any, doctor: User
) -> None:
    queue_password_email(doctor)
    deliver_due()
    [saved] = list(catcher.glob("*.eml"))
    settings.SECUREMAIL_CATCHER_ENABLED = False

    assert client.get("/dev/mail/").status_code == 404
    response = client.get(f"/dev/mail/{saved.name}/")
    assert response.status_code == 404
    assert b"password link" not in response.content
