"""The console never shows a subject, a body, an attachment's name or contents, a draft, a
registration link's token, a verification code, an outbox row's sealed content, the
wizard's answers, an audit entry's data, a password hash or a person's phone number.

Marker text is planted in all of them through the product's real flows (a message with a
file, a draft, an invitation whose registration is under way with a code sent, an email
still waiting in the outbox), then an operator opens every console page: each link the
console offers, followed from every page without a query string (lists, their filters and
sort orders, every row's detail page, its history), a search on every page that has one,
and every action's confirmation page. None of them holds a marker.
"""

import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.billing.models import Subscription
from securemail.console.site import console_site
from securemail.console.tests.helpers import console_url, logged_in, page_url
from securemail.messaging import services as messaging
from securemail.messaging.tests.helpers import send, send_with_files
from securemail.notifications.models import (
    BouncedAddress,
    NotificationKind,
    OutboxEmail,
    OutboxText,
)
from securemail.notifications.services import _payload, queue_email
from securemail.onboarding.models import Invitation, PhoneVerification, RecipientRole
from securemail.onboarding.tests.helpers import (
    MAILBOX,
    PHONE_INBOX,
    post_practice,
    post_specialty,
    post_you,
    send_code,
    start,
)
from tests.support import links_in

pytestmark = pytest.mark.django_db

MARK = "Quokkafig"
SUBJECT = f"{MARK} subject: biopsy of the lower left molar"
BODY = f"{MARK} body: the lesion looks benign, review in six weeks"
FILE_NAME = f"{MARK}-panoramic-report.txt"
FILE_CONTENT = f"{MARK} file content: radiolucency at 36".encode()
DRAFT_SUBJECT = f"{MARK} draft subject"
DRAFT_BODY = f"{MARK} draft body"
SIGNATURE = f"{MARK} signature line"
WIZARD_PRACTICE = f"{MARK} Wizard Dental"
WIZARD_NAME = f"{MARK} Wizardname"
SEALED_LINK = f"https://securemail.test/{MARK}-sealed-link"
AUDIT_DATA = f"{MARK} audit data"
DOCTOR_PHONE = "+12025550199"
INVITEE = "new.colleague@lakeview.test"
SECOND_INVITEE = "second.patient@mail.test"


def _buy_plan(member: User) -> None:
    from securemail.billing import services as billing
    from securemail.billing.processors.local import LocalProcessor, TestCard

    started = billing.start_own_purchase(member=member, plan_code="monthly")
    checkout_id = started.url.rstrip("/").rsplit("/", 1)[-1]
    card = TestCard(number="4242424242424242", exp_month=12, exp_year=2034, cvc="123")
    LocalProcessor().pay(checkout_id, card)
    billing.confirm_checkout(actor=member, checkout_id=checkout_id)


@pytest.fixture
def planted(
    own_files: Path, doctor: User, staff: User, patient: User, free_staff: User
) -> dict[str, Any]:
    """Every kind of secret the console must never show, made by the product's flows."""
    User.objects.filter(pk=doctor.pk).update(signature=SIGNATURE, phone=DOCTOR_PHONE)
    doctor.refresh_from_db()
    send_with_files(doctor, patient, files={FILE_NAME: FILE_CONTENT}, subject=SUBJECT, body=BODY)
    messaging.save_draft(
        owner=doctor,
        draft_id=None,
        fields={"to": patient.email, "subject": DRAFT_SUBJECT, "body": DRAFT_BODY},
    )
    # A registration under way: the link's token, the wizard's answers, a code sent by SMS.
    send(doctor, INVITEE, role=RecipientRole.DOCTOR_IN_ANOTHER_PRACTICE)
    join_path = MAILBOX.link(INVITEE, "/join/")
    token = join_path.rstrip("/").rsplit("/", 1)[1]
    browser = start(join_path)
    assert post_practice(browser, name=WIZARD_PRACTICE).status_code == 302
    assert post_you(browser, full_name=WIZARD_NAME).status_code == 302
    assert post_specialty(browser).status_code == 302
    assert send_code(browser, "sms").status_code == 302
    code = MAILBOX.code(PHONE_INBOX)
    # Left in the outbox, sealed: a welcome email with a real token, and one with a marker.
    send(doctor, SECOND_INVITEE, role=RecipientRole.PATIENT)
    waiting = _payload(OutboxEmail.objects.get(to_email=SECOND_INVITEE))["text"]
    waiting_link = next(link for link in links_in(waiting) if "/join/" in link)
    with transaction.atomic():
        queue_email(
            to="someone@example.test",
            template="accounts/emails/set_password",
            context={"user": patient, "link": SEALED_LINK, "first_time": True},
            kind=NotificationKind.SET_PASSWORD,
        )
        audit.record(Event.PROFILE_UPDATED, actor_id=doctor.pk, data={"note": AUDIT_DATA})
    # Something for every page and every action: a failed email, a bounce, a locked account.
    OutboxEmail.objects.filter(to_email=patient.email).update(
        status=OutboxEmail.Status.FAILED, last_error="SMTPServerDisconnected"
    )
    BouncedAddress.objects.create(
        email="gone@example.test", bounced_at=timezone.now(), smtp_code=550
    )
    User.objects.filter(pk=staff.pk).update(locked_at=timezone.now(), failed_logins=5)
    # A plan bought through the test processor: a billing account, a plan, an invoice, an
    # event (their pages must show ids, amounts and card brands only).
    _buy_plan(free_staff)
    assert OutboxText.objects.exists()
    assert PhoneVerification.objects.exists()
    return {
        "code": code,
        "tokens": [token, waiting_link.rstrip("/").rsplit("/", 1)[1]],
    }


def _secrets(planted: dict[str, Any]) -> list[str]:
    """Every string that must appear on no console page."""
    return [
        MARK,
        *planted["tokens"],
        *Invitation.objects.values_list("token_hash", flat=True),
        *PhoneVerification.objects.values_list("code_hash", flat=True),
        *[p.split("$")[-1] for p in User.objects.values_list("password", flat=True) if "$" in p],
        "argon2",
        "<memory at",
        *[phone[2:] for phone in User.objects.exclude(phone="").values_list("phone", flat=True)],
        "(202) 555-0199",
        "555-0199",
        # Billing: the card number (never stored), a checkout's card page and its id, the
        # purchase's idempotency key.
        "4242424242424242",
        "4242 4242",
        *[u for u in Subscription.objects.values_list("checkout_url", flat=True) if u],
        *[str(k) for k in Subscription.objects.values_list("idempotency_key", flat=True)],
    ]


def _crawl(client: Client) -> dict[str, str]:
    """Every console page reachable by its links: pages with a query string (filters, sort
    orders) are opened, and links are followed from the others."""
    prefix = "/" + settings.SECUREMAIL_CONSOLE_PATH
    skip = {console_url("logout")}
    pages: dict[str, str] = {}
    waiting = [prefix]
    while waiting:
        url = waiting.pop()
        if url in pages:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
        if "?" in url:
            continue
        for href in re.findall(r'href="([^"#]*)"', pages[url]):
            target = urlsplit(urljoin(url, unescape(href)))
            if target.path.startswith(prefix) and target.path not in skip:
                waiting.append(target.path + (f"?{target.query}" if target.query else ""))
    return pages


def _searches(client: Client) -> dict[str, str]:
    found = {}
    for model, page in console_site._registry.items():
        if page.search_fields:
            url = f"{page_url(model)}?q=test"
            response = client.get(url)
            assert response.status_code == 200, url
            found[url] = response.content.decode()
    return found


def _confirmations(client: Client) -> dict[str, str]:
    """Every action's confirmation page, for every row of its page."""
    found = {}
    for model, page in console_site._registry.items():
        for action in page.actions or ():
            ids = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]
            response = client.post(page_url(model), {"action": action, "_selected_action": ids})
            assert response.status_code == 200, action
            assert "Yes," in response.content.decode(), action
            found[f"{page_url(model)} {action}"] = response.content.decode()
    return found


def test_no_console_page_shows_a_subject_body_file_draft_token_code_or_sealed_content(
    planted: dict[str, Any], operator: User
) -> None:
    client = logged_in(operator)
    rows = {
        m: list(m._default_manager.values_list("pk", flat=True)) for m in console_site._registry
    }

    pages = _crawl(client) | _searches(client) | _confirmations(client)

    secrets = _secrets(planted)
    code = re.compile(rf"(?<![0-9A-Za-z]){planted['code']}(?![0-9A-Za-z])")
    for url, html in pages.items():
        text = unescape(html)
        for secret in secrets:
            assert secret not in html, f"{secret!r} shown at {url}"
            assert secret not in text, f"{secret!r} shown at {url}"
        assert not code.search(text), f"the verification code is shown at {url}"
    # Every page of every registered model was opened: its list and each row's detail
    # (opening a detail page adds an audit entry: those came after the crawl began).
    for model, ids in rows.items():
        assert page_url(model) in pages, model
        for pk in ids:
            assert page_url(model, "change", pk) in pages, (model, pk)
            assert page_url(model, "history", pk) in pages, (model, pk)
    assert len(pages) > 100
