"""A set-password link works once, whatever the concurrency (issue 9: of 20 simultaneous
posts, two were told "your password is set", and one of them couldn't log in)."""

import threading
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.accounts.tests.web import Page, Visitor
from securemail.audit.models import AuditEvent
from securemail.onboarding.tests.helpers import MAILBOX

# Through the live server: each request in its own thread with its own database connection,
# as gunicorn's workers are (on PostgreSQL in the PostgreSQL run).
pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "ren.reset@brightsmiles.test"
POSTS = 20
DONE_TEXT = "Your password is set."


def _password(n: int) -> str:
    return f"Plover-Quartz-{n:02d}-Lantern"


@pytest.fixture
def registered(make_user: Any, practice: Any) -> User:
    """Someone who finished registering and was emailed the link to set a first password."""
    user = make_user(EMAIL, practice=practice, status=User.Status.REGISTERED)
    user.set_unusable_password()
    user.save()
    return user


def test_of_twenty_simultaneous_posts_exactly_one_sets_the_password(
    base: str, registered: User
) -> None:
    visitor = Visitor(base)
    visitor.get("/accounts/password/")
    visitor.post("/accounts/password/", {"email": EMAIL})
    link = MAILBOX.link(EMAIL, "/accounts/password/")
    # Twenty browsers open the link and show the form; then all post at the same moment.
    visitors = [Visitor(base) for _ in range(POSTS)]
    for each in visitors:
        form = each.get(link)
        assert form.status == 200
        assert "new_password1" in form.text
    start = threading.Barrier(POSTS)
    answers: list[Page | BaseException | None] = [None] * POSTS

    def post(n: int) -> None:
        try:
            form_url = visitors[n].last.url  # type: ignore[union-attr]
            start.wait(timeout=30)
            answers[n] = visitors[n].post(
                form_url, {"new_password1": _password(n), "new_password2": _password(n)}
            )
        except BaseException as error:
            answers[n] = error

    threads = [threading.Thread(target=post, args=(n,)) for n in range(POSTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    pages = [a for a in answers if isinstance(a, Page)]
    assert len(pages) == POSTS, answers
    winners = [n for n, page in enumerate(pages) if DONE_TEXT in page.text]
    assert len(winners) == 1, f"{len(winners)} posts were told the password is set"
    [winner] = winners
    for n, page in enumerate(pages):
        if n != winner:
            assert page.status == 404
            assert "This link is no longer valid" in page.text
            assert "already been used" in page.text
    # The account logs in with exactly the winner's password, and with no other.
    user = User.objects.get(email=EMAIL)
    assert user.status == User.Status.ACTIVE
    assert [n for n in range(POSTS) if user.check_password(_password(n))] == [winner]
    assert AuditEvent.objects.filter(event="accounts:password:set").count() == 1
    person = Visitor(base)
    person.get("/accounts/login/")
    inbox = person.post(
        "/accounts/login/", {"username": EMAIL, "password": _password(winner), "next": ""}
    )
    assert inbox.status == 200
    assert inbox.url.endswith("/")
    assert "Log in to SecureMail" not in inbox.text
