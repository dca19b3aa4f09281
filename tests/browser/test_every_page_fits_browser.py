"""Issue 13: every page of the product fits a phone screen, in a real Chromium.

One walk opens every page each persona meets (someone not logged in, someone registering, a
patient, a doctor, a staff member, the practice's user manager, an operator in the console,
and the error pages) and measures each at 320, 390 and 1280 px wide: nothing scrolls
sideways (`document.documentElement.scrollWidth <= window.innerWidth`), axe-core finds no
violation (its WCAG 2.2 target-size rule switched on), the page has a viewport meta and, on a
phone, a base font of at least 16 px. Every problem of every page is collected, then reported
together, page by page.

So that a new page is not forgotten, the walk is held against the URL configuration (as the
authorization matrix is): each URL pattern is either in WALKED, and the walk must open it,
or in NOT_PAGES with the reason it is no page; and each page template is rendered during the
walk or listed in TEMPLATES_NOT_WALKED with the reason.

A second test is a phone (390 px, touch, the viewport meta obeyed): the top bar on one line
with the unread count and Compose, the rest in its menu; the mailbox rows stacked, each one
link covering the whole row; everything a thumb taps at least 24 x 24 px.

SECUREMAIL_SCREENSHOTS=docs/screenshots saves the README's two phone screenshots;
SECUREMAIL_PAGE_SHOTS=DIR saves every page of the walk at every width (to compare layouts).
"""

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory, override_settings
from django.test.signals import template_rendered
from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.helpers import AXE_JS, leave_typed, log_in, role_select
from tests.security.test_authorization_matrix import all_routes
from tests.support import PASSWORD

WIDTHS = (320, 390, 1280)
PHONE = 390
REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [REPO / "securemail" / "templates", *REPO.glob("securemail/*/templates")]

LONG_SUBJECT = "Implant consult for tooth 30: CBCT results, warfarin and what happens next"
OPERATOR_PASSWORD = "a long passphrase for the console 7"
NEW_EMAIL = "paul.new@brightsmiles.test"

# --- what the walk covers ---------------------------------------------------------------------

# Every URL pattern the walk opens as a page ("/" + the pattern, as the matrix writes it).
WALKED = {
    "/",
    "/archive/",
    "/sent/",
    "/drafts/",
    "/compose/",
    "/search/",
    "/contacts/",
    "/contacts/add/",
    "/contacts/deleted/",
    "/contacts/<uuid:contact_id>/",
    "/m/<uuid:message_id>/",
    "/m/<uuid:message_id>/print/",
    "/m/<uuid:message_id>/forward/",
    "/accounts/login/",
    "/accounts/profile/",
    "/accounts/password/",
    "/accounts/password/sent/",
    "/accounts/password/<uidb64>/<token>/",
    "/accounts/login/second-step/",
    "/accounts/reauthenticate/",
    "/accounts/security/",
    "/accounts/security/app/",
    "/accounts/security/text/",
    "/accounts/security/recovery-codes/",
    "/accounts/security/recovery-codes/new/",
    "/accounts/security/password/",
    "/accounts/security/email/",
    "/accounts/security/email/<str:token>/",
    "/accounts/security/phone/",
    "/accounts/security/phone/confirm/",
    "/join/<str:token>/",
    "/register/specialty/procedures/",
    "/register/done/",
    "/register/link/",
    "/register/<slug:step>/",
    "/terms/",
    "/practice/settings/",
    "/practice/people/",
    "/practice/people/<int:user_id>/email/",
    "/practice/people/<int:user_id>/manager/",
    "/practice/invitations/<int:user_id>/",
    "/practice/audit/",
    "/practice/audit/patients/<int:patient_id>/",
    "/billing/",
    "/billing/invoices/",
    "/billing/test-processor/",
    "/billing/test-processor/checkout/<str:checkout_id>/",
    "/billing/test-processor/card/<str:customer_id>/",
    "/dev/mail/",
    "/dev/mail/<str:name>/",
    "/console/",
    "/console/accounts/user/",
    "/console/accounts/user/<path:object_id>/change/",
    "/console/accounts/user/<path:object_id>/history/",
    "/console/accounts/practice/",
    "/console/audit/auditevent/",
    "/console/billing/billingaccount/",
    "/console/billing/subscription/",
    "/console/billing/invoice/",
    "/console/billing/processorevent/",
    "/console/notifications/outboxemail/",
    "/console/notifications/outboxtext/",
    "/console/notifications/bouncedaddress/",
    "/console/onboarding/invitation/",
}

POST_ONLY = "takes a form's POST only (GET answers 405); the page it answers is walked"
PASSKEY_JSON = "passkeys.js's JSON exchange (POST) behind a passkey button on a walked page"
CONSOLE_404 = "the console is read-only: this admin page answers 404 to everyone"
NOT_PAGES = {
    "/drafts/<uuid:draft_id>/discard/": POST_ONLY,
    "/compose/lookup/": "htmx's POST for the role selects (walked inside Compose)",
    "/compose/draft/": "htmx's POST saving a draft (its status line is part of Compose)",
    "/contacts/suggest/": "htmx's POST for To's and Cc's suggestions (walked inside Compose)",
    "/contacts/<uuid:contact_id>/delete/": POST_ONLY,
    "/contacts/<uuid:contact_id>/restore/": POST_ONLY,
    "/m/<uuid:message_id>/reply/": POST_ONLY,
    "/m/<uuid:message_id>/archive/": POST_ONLY,
    "/m/<uuid:message_id>/hide/": POST_ONLY,
    "/m/<uuid:message_id>/delete/": POST_ONLY,
    "/m/<uuid:message_id>/expiry/": POST_ONLY,
    "/m/<uuid:message_id>/export/": "the PDF download that Export as PDF posts for",
    "/m/<uuid:message_id>/a/<uuid:attachment_id>/": "an attachment's download",
    "/accounts/logout/": POST_ONLY,
    "/accounts/password/again/": POST_ONLY,
    "/accounts/login/second-step/text/": POST_ONLY,
    "/accounts/reauthenticate/text/": POST_ONLY,
    "/accounts/passkey/options/": PASSKEY_JSON,
    "/accounts/passkey/verify/": PASSKEY_JSON,
    "/accounts/security/app/remove/": POST_ONLY,
    "/accounts/security/text/send/": POST_ONLY,
    "/accounts/security/text/remove/": POST_ONLY,
    "/accounts/security/passkeys/options/": PASSKEY_JSON,
    "/accounts/security/passkeys/add/": PASSKEY_JSON,
    "/accounts/security/passkeys/<int:passkey_id>/remove/": POST_ONLY,
    "/accounts/security/method/": POST_ONLY,
    "/accounts/security/off/": POST_ONLY,
    "/register/": "sends the browser on to the step it is at (walked as that step)",
    "/register/verify/send/": POST_ONLY,
    "/register/link/again/": POST_ONLY,
    "/practice/people/<int:user_id>/resend/": POST_ONLY,
    "/practice/people/two-step/": POST_ONLY,
    "/practice/invitations/<int:user_id>/resend/": POST_ONLY,
    "/practice/invitations/<int:user_id>/reminders/stop/": POST_ONLY,
    "/practice/people/<int:user_id>/unlock/": POST_ONLY,
    "/practice/people/<int:user_id>/plan/buy/": POST_ONLY,
    "/practice/people/<int:user_id>/plan/cancel/": POST_ONLY,
    "/practice/audit/log.csv": "a CSV download",
    "/practice/audit/patients/<int:patient_id>/csv/": "a CSV download",
    "/billing/buy/": POST_ONLY,
    "/billing/return/": "the card processor's way back: a redirect to the plan page",
    "/billing/plans/<uuid:subscription_id>/cancel/": POST_ONLY,
    "/billing/plans/<uuid:subscription_id>/card/": POST_ONLY,
    "/billing/invoices/email/": POST_ONLY,
    "/billing/webhook/stripe/": "the card processor's webhook (JSON in, no page)",
    "/console/login/": "redirects to the product's login page",
    "/console/logout/": POST_ONLY,
    "/console/password_change/": "operators set passwords by emailed link: 404 here",
    "/console/password_change/done/": "operators set passwords by emailed link: 404 here",
    "/console/autocomplete/": "JSON for the admin's autocomplete widgets",
    "/console/jsi18n/": "the admin's JavaScript catalogue",
    "/console/r/<path:content_type_id>/<path:object_id>/": "the admin's view-on-site redirect",
    "/console/accounts/user/add/": CONSOLE_404,
    "/console/accounts/user/<path:object_id>/delete/": CONSOLE_404,
    "/console/accounts/user/<path:object_id>/": "redirects to the account's page",
    "/console/(?P<url>.*)$": "the admin's catch-all: 404",
    "/console/(?P<app_label>…)/$": CONSOLE_404,
}
# The console's other models: add, history, delete and change answer 404; the bare id
# redirects to the (404) change page.
for _model in (
    "accounts/practice",
    "audit/auditevent",
    "billing/billingaccount",
    "billing/subscription",
    "billing/invoice",
    "billing/processorevent",
    "notifications/outboxemail",
    "notifications/outboxtext",
    "notifications/bouncedaddress",
    "onboarding/invitation",
):
    for _view in ("add/", "<path:object_id>/history/", "<path:object_id>/delete/"):
        NOT_PAGES[f"/console/{_model}/{_view}"] = CONSOLE_404
    NOT_PAGES[f"/console/{_model}/<path:object_id>/change/"] = CONSOLE_404
    NOT_PAGES[f"/console/{_model}/<path:object_id>/"] = "redirects to the record's page"

# Page templates the walk does not render, and why.
TEMPLATES_NOT_WALKED = {
    "messaging/export_refused.html": (
        "the PDF export's 429 and 503 answers (messaging's test_pdf_export.py checks them)"
    ),
    "console/billing.html": "no view renders it any more (the console lists billing's models)",
}


def _key(route: str) -> str:
    """A route as both the URL configuration's walk and resolve() spell it: "^" dropped, and
    the console's app list (which grows with every app it shows) elided."""
    return re.sub(r"\(\?P<app_label>[^)]*\)", "(?P<app_label>…)", route.replace("^", ""))


def route_of(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return _key("/" + match.route)


def page_templates() -> set[str]:
    """Every template of ours that is a whole page: it extends another template or is an
    HTML document, no template extends it, and it is not an email."""
    found: dict[str, str] = {}
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            found[path.relative_to(directory).as_posix()] = path.read_text(encoding="utf-8")
    extended = {m for text in found.values() for m in re.findall(r'{% extends "([^"]+)"', text)}
    return {
        name
        for name, text in found.items()
        if ("{% extends" in text or "<!doctype html>" in text.lower())
        and name not in extended
        and "emails/" not in name
    }


def test_every_url_pattern_is_walked_or_excluded_with_a_reason() -> None:
    routes = {_key(r) for r in all_routes()}
    listed = {_key(r) for r in WALKED | set(NOT_PAGES)}
    unlisted, gone = sorted(routes - listed), sorted(listed - routes)
    assert not unlisted, "URL patterns neither in WALKED nor in NOT_PAGES:\n" + "\n".join(unlisted)
    assert not gone, "URL patterns listed here that no longer exist:\n" + "\n".join(gone)
    assert not WALKED & set(NOT_PAGES)
    assert set(TEMPLATES_NOT_WALKED) <= page_templates()


# --- measuring a page -------------------------------------------------------------------------

# The page's width against the window's, and what sticks out (the innermost elements).
MEASURE = """() => {
  const width = window.innerWidth;
  const wide = [...document.body.querySelectorAll('*')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 0.5;
  });
  const innermost = wide.filter((el) => !wide.some((o) => o !== el && el.contains(o)));
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map((c) => '.' + c).join('')
    + ' to ' + Math.round(el.getBoundingClientRect().right) + 'px';
  const meta = document.querySelector('meta[name=viewport]');
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: width,
    viewport: meta ? meta.content : '',
    fontSize: parseFloat(getComputedStyle(document.body).fontSize),
    wide: innermost.slice(0, 4).map(name),
  };
}"""
AXE_RUN = """() => axe.run(document, {
  rules: {'target-size': {enabled: true}},
  resultTypes: ['violations'],
})"""


@dataclass
class Walk:
    """One Chromium, one context per persona; each page measured at every width."""

    chromium: Browser
    base: str
    shots: Path | None = None
    problems: list[str] = field(default_factory=list)
    routes: set[str] = field(default_factory=set)
    pages: int = 0

    def browser(self) -> Page:
        context = self.chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        return context.new_page()

    def visit(self, page: Page, path: str, heading: str | re.Pattern[str]) -> None:
        page.goto(f"{self.base}{path}")
        self.check(page, heading)

    def check(self, page: Page, heading: str | re.Pattern[str]) -> None:
        """The page shows `heading`; measure it at each width (then back to 1280 px)."""
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        if (route := route_of(page.url)) is not None:
            self.routes.add(route)
        self.pages += 1
        shown = heading if isinstance(heading, str) else heading.pattern
        label = f"{urlsplit(page.url).path} ({shown})"
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol: the page's CSP forbids inline scripts.
            page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            self._measure(page, label, width)
        page.set_viewport_size({"width": 1280, "height": 800})

    def _measure(self, page: Page, label: str, width: int) -> None:
        found = page.evaluate(MEASURE)
        at = f"{label} at {width}px"
        if found["scrollWidth"] > found["innerWidth"]:
            self.problems.append(
                f"{at} scrolls sideways, {found['scrollWidth']}px wide: {', '.join(found['wide'])}"
            )
        if "width=device-width" not in found["viewport"]:
            self.problems.append(f"{at}: no viewport meta with width=device-width")
        if width < 640 and found["fontSize"] < 16:
            self.problems.append(f"{at}: base font {found['fontSize']}px")
        for violation in page.evaluate(AXE_RUN)["violations"]:
            where = [node["target"] for node in violation["nodes"]][:3]
            self.problems.append(f"{at}: axe {violation['id']} ({violation['impact']}) {where}")
        if self.shots is not None:
            name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60]
            page.screenshot(
                path=self.shots / f"{self.pages:03d}-{width}-{name}.png", full_page=True
            )


# --- the world the personas live in -------------------------------------------------------------


@dataclass
class World:
    doctor: Any
    manager: Any
    staff: Any
    locked: Any
    patient: Any
    operator: Any
    operator_codes: list[str]
    consult: Any
    damaged: Any
    invitee_email: str
    newcomer_email: str
    newcomer_join: str


def make_world(make_user: Any, doctor: Any, practice: Any, patient: Any, free_staff: Any) -> World:
    """A practice whose paid doctor, user manager (Jane Roe) and free staff member exchange
    messages with a patient: unread, read, archived and damaged messages, a reply, a draft,
    a locked colleague, two invitations (a patient, a doctor of another practice), an
    operator."""
    from securemail.accounts import services as account_services
    from securemail.accounts.security import setup
    from securemail.messaging import services as messaging
    from securemail.messaging.models import Message
    from securemail.messaging.tests.helpers import send, send_with_files
    from securemail.onboarding.tests.helpers import invite

    paul = make_user(
        "paul.paid@brightsmiles.test",
        full_name="Paul Paid",
        kind="doctor",
        plan="paid",
        practice=practice,
    )
    locked = make_user(
        "sam.front@brightsmiles.test", full_name="Sam Front", plan="paid", practice=practice
    )
    type(locked).objects.filter(pk=locked.pk).update(locked_at=timezone.now(), failed_logins=5)
    operator = account_services.create_operator(email="olga@securemail.test", full_name="Olga")
    account_services.set_password(user=operator, password=OPERATOR_PASSWORD)
    # Operators must use two-step login: an authenticator app, and its recovery codes.
    started = setup.start_app(user=operator)
    operator_codes = setup.confirm_app(user=operator, code=pyotp.TOTP(started.secret).now())

    consult = send_with_files(
        paul,
        patient,
        files={"bitewing-xray-tooth-30-left-side.png": b"\x89PNG scan", "referral.txt": b"ok"},
        subject=LONG_SUBJECT,
    )
    messaging.reply(sender=patient, parent=consult, body="Thanks, doctor. Tuesday works.")
    send(doctor, patient, free_staff, subject="Your appointment on Tuesday")
    archived = send(doctor, patient, subject="Post-op instructions after the extraction")
    messaging.set_archived(user=patient, message=archived, archived=True)
    damaged = send(paul, patient, subject="Lab results")
    Message.objects.filter(pk=damaged.pk).update(body_sealed=b"\x00" * 40)
    messaging.save_draft(
        owner=paul,
        draft_id=None,
        fields={"to": patient.email, "subject": "Follow-up on the implant", "body": "Dear Pat"},
    )
    invite(doctor, "ivy.invited@mail.test", "patient")
    _, newcomer_join = invite(doctor, "new.doctor@lakeview.test", "doctor_other_practice")
    return World(
        doctor=paul,
        manager=doctor,
        staff=free_staff,
        locked=locked,
        patient=patient,
        operator=operator,
        operator_codes=operator_codes,
        consult=consult,
        damaged=damaged,
        invitee_email="ivy.invited@mail.test",
        newcomer_email="new.doctor@lakeview.test",
        newcomer_join=newcomer_join,
    )


def catch_an_email(directory: Path, address: str) -> None:
    """Put the welcome email sent to `address` where the mail catcher keeps what it caught."""
    from securemail.onboarding.tests.helpers import MAILBOX

    sent = MAILBOX.last_to(address)
    message = EmailMessage()
    message["To"] = ", ".join(sent.to)
    message["Subject"] = sent.subject
    message["Date"] = "Tue, 01 Dec 2026 15:00:00 -0000"
    message.set_content(sent.text)
    message.add_alternative(sent.html, subtype="html")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "1-welcome.eml").write_bytes(message.as_bytes())


# --- each persona's pages -----------------------------------------------------------------------


def answer_with(view: Callable[[Any], Any]) -> Callable[[Route], None]:
    """Answer a request with the page one of Django's error views renders."""

    def handle(route: Route) -> None:
        response = view(RequestFactory().get("/"))
        route.fulfill(
            status=response.status_code,
            body=response.content,
            content_type="text/html; charset=utf-8",
        )

    return handle


def anonymous_pages(walk: Walk, world: World) -> None:
    from django.views.defaults import bad_request, server_error

    page = walk.browser()
    walk.visit(page, "/accounts/login/", "Log in to SecureMail")
    page.get_by_label("Email address").fill(world.patient.email)
    page.get_by_label("Password").fill("not the password 123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    walk.check(page, "Log in to SecureMail")
    walk.visit(page, "/accounts/password/", "Set or reset your password")
    page.get_by_label("Email address").fill(world.patient.email)
    page.get_by_role("button", name="Email me a link").click()
    walk.check(page, "Check your email")
    walk.visit(page, "/accounts/password/MQ/not-a-token/", "This link is no longer valid")
    walk.visit(page, "/terms/", "Terms of use")
    walk.visit(page, "/register/link/", "Get a fresh registration link")
    page.get_by_label("Email address").fill(world.invitee_email)
    page.get_by_role("button", name="Send a fresh link").click()
    walk.check(page, "Check your email")
    walk.visit(page, "/join/not-a-real-token/", "This link is no longer valid")
    walk.visit(page, "/register/done/", "Almost done: check your email")
    # The error pages: not found; a form whose security cookie is gone; and the two Django
    # renders without a request (bad request, server error), answered here as the server
    # would answer them.
    walk.visit(page, "/no-such-page/", "Page not found")
    page.goto(f"{walk.base}/accounts/login/")
    page.context.clear_cookies(name="csrftoken")
    page.get_by_label("Email address").fill(world.patient.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    walk.check(page, "This form has expired")
    page.route(f"{walk.base}/bad-request/", answer_with(lambda r: bad_request(r, None)))
    page.route(f"{walk.base}/server-error/", answer_with(server_error))
    walk.visit(page, "/bad-request/", "Bad request")
    walk.visit(page, "/server-error/", "Something went wrong")
    # The local mail catcher (development only).
    walk.visit(page, "/dev/mail/", "Mail catcher")
    page.get_by_role("link", name=re.compile("has sent you a secure message")).click()
    walk.check(page, "has sent you a secure message")
    # Too many emailed links opened from one address: the page saying so.
    limits = django_settings.SECUREMAIL_RATE_LIMITS | {"join_link": "1/10m"}
    with override_settings(SECUREMAIL_RATE_LIMITS=limits):
        page.goto(f"{walk.base}/join/not-a-real-token/")
        walk.visit(page, "/join/not-a-real-token/", "Too many requests")
    page.context.close()


def registration_pages(walk: Walk, world: World) -> None:
    """A doctor of another practice walks every step of the wizard, then meets the pages of
    a registration already complete and of a link already used."""
    from securemail.onboarding.tests.helpers import MAILBOX, PHONE_INBOX, PRACTICE, VALID_NPI

    page = walk.browser()
    walk.visit(page, world.newcomer_join, "has sent you a secure message")
    page.get_by_role("button", name="Start registration").click()
    expect(page).to_have_url(f"{walk.base}/register/practice/")
    page.get_by_role("button", name="Continue").click()
    walk.check(page, "Your practice")
    page.get_by_label("Practice name").fill(PRACTICE["name"])
    page.get_by_label("Website").fill(PRACTICE["website"])
    page.get_by_label("Practice phone").fill(PRACTICE["phone"])
    page.get_by_label("Street address").fill(PRACTICE["address_line1"])
    page.get_by_label("City").fill(PRACTICE["city"])
    page.get_by_label("State", exact=True).fill(PRACTICE["state"])
    page.get_by_label("ZIP code").fill(PRACTICE["postal_code"])
    page.get_by_role("button", name="Continue").click()
    walk.check(page, "About you")
    page.get_by_label("Full name").fill("Alex Newman")
    page.get_by_label("Cell phone").fill("(202) 555-0177")
    page.get_by_role("button", name="Continue").click()
    walk.check(page, "Specialty and procedures")
    page.get_by_label("Specialty", exact=True).select_option(label="Endodontics")
    expect(page.get_by_role("checkbox", name="Root canal treatment")).to_be_checked()
    page.get_by_text("Other procedures").click()
    walk.check(page, "Specialty and procedures")
    # "Show procedures" without JavaScript: the whole step again.
    walk.visit(
        page, "/register/specialty/procedures/?specialty=endodontics", "Specialty and procedures"
    )
    page.get_by_label("NPI").fill(VALID_NPI)
    page.get_by_role("button", name="Continue").click()
    walk.check(page, "Verify your phone")
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_label("6-digit code")).to_be_visible()
    walk.check(page, "Verify your phone")
    page.get_by_label("6-digit code").fill(MAILBOX.code(PHONE_INBOX))
    page.get_by_role("button", name="Verify").click()
    walk.check(page, "Terms of use")
    page.get_by_label("I accept the terms of use").check()
    page.get_by_role("button", name="Finish registration").click()
    walk.check(page, "Almost done: check your email")
    walk.visit(page, "/register/terms/", "Your registration is already complete")
    walk.visit(page, world.newcomer_join, "This link is no longer valid")
    page.get_by_role("button", name="Send me a fresh link").click()
    walk.check(page, "Check your email")
    walk.visit(page, MAILBOX.link(world.newcomer_email, "/accounts/password/"), "Set your password")
    page.context.close()


def patient_pages(walk: Walk, world: World) -> None:
    page = walk.browser()
    log_in(page, walk.base, world.patient.email, PASSWORD)
    walk.check(page, "Inbox")
    walk.visit(page, "/archive/", "Archive")
    walk.visit(page, "/sent/", "Sent")
    walk.visit(page, "/drafts/", "Drafts")
    walk.visit(page, "/compose/", "Composing is a paid feature")
    walk.visit(page, f"/m/{world.consult.pk}/", LONG_SUBJECT)
    walk.visit(page, f"/m/{world.consult.pk}/print/", LONG_SUBJECT)
    walk.visit(page, f"/m/{world.damaged.pk}/", "This message can't be shown")
    walk.visit(page, "/accounts/profile/", "Your profile")
    walk.visit(page, "/billing/", "Your plan")
    walk.visit(page, "/billing/invoices/", "Invoices")
    walk.visit(page, "/billing/test-processor/", "Test processor")
    walk.visit(page, "/practice/people/", "For the practice's user manager")
    walk.visit(page, "/m/00000000-0000-0000-0000-000000000000/", "Page not found")
    page.context.close()


def doctor_pages(walk: Walk, world: World) -> None:
    page = walk.browser()
    log_in(page, walk.base, world.doctor.email, PASSWORD)
    walk.check(page, "Inbox")
    walk.visit(page, "/sent/", "Sent")
    walk.visit(page, "/drafts/", "Drafts")
    walk.visit(page, "/compose/", "New secure message")
    leave_typed(page.get_by_label("To", exact=True), "new.hygienist@example.test")
    expect(role_select(page)).to_be_visible()
    walk.check(page, "New secure message")
    page.get_by_role("button", name="Send securely").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    walk.check(page, "New secure message")
    walk.visit(page, f"/m/{world.consult.pk}/", LONG_SUBJECT)
    page.get_by_text("Delivery slip").first.click()
    walk.check(page, LONG_SUBJECT)
    walk.visit(page, f"/m/{world.consult.pk}/forward/", "Forward a secure message")
    contacts_and_search_pages(walk, page)
    # More files than one post may carry: the page saying how many one message takes.
    walk.visit(page, "/compose/", "New secure message")
    files = [
        {"name": f"scan-{n}.txt", "mimeType": "text/plain", "buffer": b"x"} for n in range(101)
    ]
    page.get_by_label("Attachments").set_input_files(files)
    page.get_by_role("button", name="Send securely").click()
    walk.check(page, "Too many files")
    page.context.close()


def contacts_and_search_pages(walk: Walk, page: Page) -> None:
    """The doctor's contacts (the patient they wrote with, one added and deleted), the
    suggestions To shows, and search: results, and a search that finds nothing to look for."""
    walk.visit(page, "/contacts/", "Contacts")
    walk.visit(page, "/contacts/add/", "Add contact")
    page.get_by_role("button", name="Add contact").click()
    walk.check(page, "Add contact")
    page.get_by_label("Name").fill("Nora Quinn-Oyelaran")
    page.get_by_label("Email address").fill("nora.quinn-oyelaran@a-rather-long-domain.test")
    page.get_by_label("Practice").fill("Quinn Family and Cosmetic Dentistry")
    page.get_by_label("Note").fill("Prefers morning appointments.")
    page.get_by_role("button", name="Add contact").click()
    walk.check(page, "Contacts")
    page.get_by_role("link", name="Edit Nora Quinn-Oyelaran").click()
    walk.check(page, "Edit contact")
    page.get_by_role("button", name="Delete contact").click()
    walk.visit(page, "/contacts/deleted/", "Deleted contacts")
    walk.visit(page, "/compose/", "New secure message")
    to = page.get_by_label("To", exact=True)
    to.click()
    to.press_sequentially("pat")
    expect(page.get_by_role("listbox", name="Suggested contacts")).to_be_visible()
    walk.check(page, "New secure message")
    walk.visit(page, "/search/", "Search")
    page.get_by_label("Search your mailbox").fill("implant")
    page.get_by_role("button", name="Search", exact=True).last.click()
    expect(page.locator("table.search-results")).to_be_visible()
    walk.check(page, "Search")
    page.get_by_label("Search your mailbox").fill("?!")
    page.get_by_role("button", name="Search", exact=True).last.click()
    expect(page.get_by_role("alert")).to_be_visible()
    walk.check(page, "Search")


def pay_with(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def staff_pages(walk: Walk, world: World) -> None:
    """A free staff member: refused Compose, then buys a plan (declined, then paid)."""
    page = walk.browser()
    log_in(page, walk.base, world.staff.email, PASSWORD)
    walk.check(page, "Inbox")
    walk.visit(page, "/compose/", "Composing is a paid feature")
    walk.visit(page, "/billing/", "Your plan")
    monthly = page.locator("form.plan-option").filter(has_text="monthly")
    monthly.get_by_role("button", name="Buy now").click()
    walk.check(page, re.compile(r"^Pay for"))
    pay_with(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_be_visible()
    walk.check(page, re.compile(r"^Pay for"))
    pay_with(page, "4242 4242 4242 4242")
    walk.check(page, "Your plan")
    page.get_by_role("button", name="Update card").click()
    walk.check(page, "Update your card")
    walk.visit(page, "/billing/invoices/", "Invoices")
    walk.visit(page, "/billing/test-processor/", "Test processor")
    walk.visit(page, "/accounts/profile/", "Your profile")
    page.context.close()


def manager_pages(walk: Walk, world: World) -> None:
    from securemail.accounts.models import User
    from securemail.accounts.security import setup
    from securemail.notifications.models import OutboxEmail
    from securemail.onboarding.models import Invitation

    invitee = User.objects.get(email=world.invitee_email)
    # The invitee's (latest) welcome email bounced: her inviter, the manager, is told.
    invitation = Invitation.objects.get(invitee=invitee, used_at__isnull=True)
    OutboxEmail.objects.filter(pk=invitation.welcome_email_id).update(
        status=OutboxEmail.Status.BOUNCED, given_up_at=timezone.now()
    )
    page = walk.browser()
    log_in(page, walk.base, world.manager.email, PASSWORD)
    walk.check(page, "Inbox")
    # The bounced invitation, from the inbox's notice.
    page.get_by_role("link", name="Correct the address or send it again").click()
    walk.check(page, f"Your invitation to {invitee.email}")
    walk.visit(page, "/practice/people/", "Users of Bright Smiles Dental")
    walk.visit(page, f"/practice/people/{invitee.pk}/email/", "Correct the address")
    walk.visit(page, f"/practice/people/{world.doctor.pk}/manager/", "Make Dr. Paul Paid")
    walk.visit(page, "/practice/settings/", "Practice settings")
    walk.visit(page, "/practice/audit/", "Audit log of Bright Smiles Dental")
    walk.visit(page, f"/practice/audit/patients/{world.patient.pk}/", "Accounting of disclosures")
    # Two-step login required for the practice: refused while the manager has none, then
    # (an authenticator app set up) done; a staff member without it is sent to set it up.
    require = page.get_by_label("Doctors and staff must use two-step login")
    save = page.locator("form.two-step-policy").get_by_role("button", name="Save")
    walk.visit(page, "/practice/people/", "Users of Bright Smiles Dental")
    require.check()
    save.click()
    expect(page.get_by_text("Turn on two-step login for yourself first")).to_be_visible()
    walk.check(page, "Users of Bright Smiles Dental")
    started = setup.start_app(user=world.manager)
    setup.confirm_app(user=world.manager, code=pyotp.TOTP(started.secret).now())
    require.check()
    save.click()
    expect(page.get_by_text("Two-step login is now required")).to_be_visible()
    page.context.close()
    page = walk.browser()
    page.goto(f"{walk.base}/accounts/login/")
    page.get_by_label("Email address").fill(world.staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Two-step login is required for your account.")).to_be_visible()
    walk.check(page, "Security")
    page.context.close()


def passkey_device(page: Page) -> None:
    """Chromium's virtual authenticator in this page's browser (a platform authenticator,
    resident keys, user verification, touched automatically). The relying party is
    `localhost`, as the live server is reached."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})


def security_pages(walk: Walk, world: World) -> None:
    """Dr. Paul Paid's security settings: two-step login off; the email address, cell phone
    and password changes; a first passkey turning two-step login on (its recovery codes),
    then an authenticator app (its QR code) and new recovery codes; re-authentication
    (the password, then the second step); a login's second step, each way."""
    from securemail.onboarding.tests.helpers import MAILBOX

    page = walk.browser()
    passkey_device(page)
    log_in(page, walk.base, world.doctor.email, PASSWORD)
    page.get_by_role("banner").get_by_role("link", name="Security").click()
    walk.check(page, "Security")
    reauthenticate = "/accounts/reauthenticate/?next=/accounts/security/"
    walk.visit(page, reauthenticate, "Confirm it's you")
    walk.visit(page, "/accounts/security/password/", "Change password")
    walk.visit(page, "/accounts/security/email/", "Change email address")
    page.get_by_label("New email address").fill(NEW_EMAIL)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text(f"We sent a link to {NEW_EMAIL}")).to_be_visible()
    walk.check(page, "Security")
    link = MAILBOX.link(NEW_EMAIL, "/accounts/security/email/")
    walk.visit(page, link, "Confirm your new address")
    walk.visit(page, "/accounts/security/email/not-a-token/", "This link is no longer valid")
    walk.visit(page, "/accounts/security/phone/", "Change cell phone")
    page.get_by_label("New cell phone").fill("(202) 555-0199")
    page.get_by_role("button", name="Text me a code").click()
    walk.check(page, "Confirm your new cell phone")
    walk.visit(page, "/accounts/security/text/", "Codes by text message")

    walk.visit(page, "/accounts/security/", "Security")
    page.get_by_label("Name this passkey").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    walk.check(page, "Your recovery codes")
    page.get_by_role("link", name="I saved them").click()
    expect(page.get_by_text("Work laptop")).to_be_visible()
    walk.check(page, "Security")
    walk.visit(page, "/accounts/security/app/", "Set up an authenticator app")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_label("Ask first for")).to_be_visible()
    walk.check(page, "Security")
    page.get_by_role("button", name="Make new recovery codes").click()
    walk.check(page, "Your recovery codes")
    walk.visit(page, reauthenticate, "Confirm it's you")
    walk.visit(page, f"{reauthenticate}&method=app", "Confirm it's you")

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email address").fill(world.doctor.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    walk.check(page, "Confirm it's you")
    for method in ("app", "recovery", "passkey"):
        walk.visit(page, f"/accounts/login/second-step/?method={method}", "Confirm it's you")
    page.get_by_role("button", name="Use your passkey").click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    page.context.close()


CONSOLE_LISTS = [
    ("accounts/user", "Select user to view"),
    ("accounts/practice", "Select practice to view"),
    ("audit/auditevent", "Select audit event to view"),
    ("billing/billingaccount", "Select billing account to view"),
    ("billing/subscription", "Select subscription to view"),
    ("billing/invoice", "Select invoice to view"),
    ("billing/processorevent", "Select processor event to view"),
    ("notifications/outboxemail", "Select outbox email to view"),
    ("notifications/outboxtext", "Select outbox text to view"),
    ("notifications/bouncedaddress", "Select bounced address to view"),
    ("onboarding/invitation", "Select invitation to view"),
]


def console_pages(walk: Walk, world: World) -> None:
    page = walk.browser()
    page.goto(f"{walk.base}/console/")
    page.get_by_label("Email address").fill(world.operator.email)
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    walk.check(page, "Confirm it's you")
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Code").fill(world.operator_codes[0])
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{walk.base}/console/")
    walk.check(page, "Support")
    for model, heading in CONSOLE_LISTS:
        walk.visit(page, f"/console/{model}/", re.compile(heading, re.I))
    walk.visit(page, f"/console/accounts/user/{world.locked.pk}/change/", "View user")
    walk.visit(page, f"/console/accounts/user/{world.locked.pk}/history/", "Change history")
    # An action's confirmation page.
    page.goto(f"{walk.base}/console/accounts/user/")
    page.get_by_role("checkbox", name="Select this object for an action - Sam Front").check()
    page.locator("select[name=action]").select_option(index=1)
    page.get_by_role("button", name="Run").click()
    walk.check(page, re.compile("unlock", re.I))
    page.context.close()


# --- the walk ------------------------------------------------------------------------------------


@pytest.fixture
def rendered_templates() -> Iterator[set[str]]:
    """The names of the templates rendered while the test runs, the live server's thread
    included (Django's test instrumentation signals each one)."""
    names: set[str] = set()

    def note(sender: Any, template: Any, **kwargs: Any) -> None:
        if template.name:
            names.add(template.name)

    template_rendered.connect(note)
    yield names
    template_rendered.disconnect(note)


@pytest.fixture
def slow_machine() -> Iterator[None]:
    """`expect` waits 10 s before failing (a busy CI machine is slow, never wrong)."""
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_fits_a_phone_and_a_desktop_and_passes_axe(
    chromium: Browser,
    base: str,
    settings: Any,
    tmp_path: Path,
    rendered_templates: set[str],
    slow_machine: None,
    make_user: Any,
    doctor: Any,
    practice: Any,
    patient: Any,
    free_staff: Any,
) -> None:
    started = time.monotonic()
    world = make_world(make_user, doctor, practice, patient, free_staff)
    settings.SECUREMAIL_CATCHER_ENABLED = True
    settings.SECUREMAIL_CATCHER_DIR = tmp_path / "catcher"
    catch_an_email(settings.SECUREMAIL_CATCHER_DIR, world.invitee_email)
    shots = os.environ.get("SECUREMAIL_PAGE_SHOTS")
    walk = Walk(chromium, base, shots=Path(shots) if shots else None)
    if walk.shots is not None:
        walk.shots.mkdir(parents=True, exist_ok=True)

    for persona in (
        anonymous_pages,
        registration_pages,
        patient_pages,
        doctor_pages,
        staff_pages,
        security_pages,
        manager_pages,
        console_pages,
    ):
        persona(walk, world)

    print(f"\n{walk.pages} pages at {len(WIDTHS)} widths in {time.monotonic() - started:.0f} s")
    assert not walk.problems, f"{len(walk.problems)} problems:\n" + "\n".join(walk.problems)
    missed = sorted({_key(r) for r in WALKED} - walk.routes)
    assert not missed, "in WALKED, but the walk never opened them:\n" + "\n".join(missed)
    unwalked = sorted(page_templates() - rendered_templates - set(TEMPLATES_NOT_WALKED))
    assert not unwalked, "page templates the walk never rendered:\n" + "\n".join(unwalked)
    assert not set(TEMPLATES_NOT_WALKED) & rendered_templates


# --- what a thumb taps -----------------------------------------------------------------------

TOP_BAR_TARGETS = "header.topbar :is(a, button, summary)"
TOP_BAR_LINE = """(selector) => {
  const boxes = [...document.querySelectorAll(selector)]
    .map((el) => el.getBoundingClientRect())
    .filter((box) => box.width > 0 && box.height > 0);
  return {
    tops: boxes.map((box) => box.top),
    bottoms: boxes.map((box) => box.bottom),
    height: document.querySelector('header.topbar').getBoundingClientRect().height,
  };
}"""
# Each mailbox row: how many links it holds, its size, and whether a tap lands on its link
# at each of a few points spread over the row (its corners, each cell's middle).
ROW_TAPS = """() => [...document.querySelectorAll('table.mailbox tbody tr')].map((row) => {
  const box = row.getBoundingClientRect();
  const link = row.querySelector('a');
  const points = [
    [box.left + 3, box.top + 3], [box.right - 3, box.top + 3],
    [box.left + 3, box.bottom - 3], [box.right - 3, box.bottom - 3],
    ...[...row.cells].filter((cell) => !cell.querySelector('form')).map((cell) => {
      const c = cell.getBoundingClientRect();
      return [c.left + c.width / 2, c.top + c.height / 2];
    }),
  ];
  const landed = points.map(([x, y]) => document.elementFromPoint(x, y)?.closest('a') === link);
  return {links: row.querySelectorAll('a').length, width: box.width, height: box.height, landed};
})"""


def too_small(page: Page, selector: str) -> list[tuple[str, float, float]]:
    """The visible targets matching `selector` smaller than 24 x 24 px: (text, width, height)."""
    small = []
    for target in page.locator(selector).all():
        box = target.bounding_box()
        if target.is_visible() and box and (box["width"] < 24 or box["height"] < 24):
            small.append((target.inner_text(), box["width"], box["height"]))
    return small


def assert_top_bar_on_one_line(page: Page) -> None:
    bar = page.evaluate(TOP_BAR_LINE, TOP_BAR_TARGETS)
    assert bar["tops"], "nothing to tap in the top bar"
    middle = (min(bar["tops"]) + max(bar["bottoms"])) / 2
    for top, bottom in zip(bar["tops"], bar["bottoms"], strict=True):
        assert top < middle < bottom, bar
    assert bar["height"] <= 60, bar


def on_a_phone(chromium: Browser, width: int = PHONE) -> Page:
    """A phone: a touch screen, the page laid out at the device's width (viewport meta)."""
    context = chromium.new_context(
        viewport={"width": width, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def accessibility_roles(page: Page) -> set[str]:
    """The roles in Chromium's own accessibility tree (what a screen reader is given)."""
    nodes = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    return {node["role"]["value"] for node in nodes if "role" in node}


def assert_row_layout(row: Any, *, bold: bool) -> None:
    """Correspondent and date on one line, the subject under them (bold while unread), the
    deletion date under it in smaller type."""
    who, when, subject, expires = (
        row.locator(f"td.{cell}").bounding_box() for cell in ("who", "when", "subject", "expires")
    )
    assert who
    assert when
    assert subject
    assert expires
    assert abs(who["y"] - when["y"]) < 4
    assert who["x"] < when["x"]
    assert who["y"] + who["height"] <= subject["y"] + 1
    assert subject["y"] + subject["height"] <= expires["y"] + 1
    weight = row.locator("td.subject").evaluate("(cell) => getComputedStyle(cell).fontWeight")
    assert (int(weight) >= 700) is bold
    small = row.locator("td.expires").evaluate("(c) => parseFloat(getComputedStyle(c).fontSize)")
    assert small < 16


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_top_bar_and_mailbox_rows_are_easy_to_tap_on_a_phone(
    chromium: Browser,
    base: str,
    slow_machine: None,
    make_user: Any,
    doctor: Any,
    patient: Any,
    practice: Any,
) -> None:
    from securemail.messaging import services as messaging
    from securemail.messaging.tests.helpers import send, send_with_files

    paul = make_user(
        "paul.paid@brightsmiles.test",
        full_name="Paul Paid",
        kind="doctor",
        plan="paid",
        practice=practice,
    )
    send(doctor, patient, subject="Your appointment on Tuesday at 9")
    consult = send_with_files(
        paul,
        patient,
        files={"bitewing-xray-30.png": b"\x89PNG scan", "post-op-care.pdf": b"%PDF-1.7"},
        subject=LONG_SUBJECT,
        body=(
            "Dear Pat,\n\nThe CBCT shows enough bone at 30 for an implant. As you take "
            "warfarin, please have your INR checked the week before.\n\nDr. Paul Paid"
        ),
    )
    messaging.mark_read(reader=patient, messages=[consult])
    shots = os.environ.get("SECUREMAIL_SCREENSHOTS")

    page = on_a_phone(chromium)
    log_in(page, base, patient.email, PASSWORD)
    # Laid out at the phone's own width (the viewport meta), not as a shrunk desktop page.
    assert page.evaluate("() => window.innerWidth") == PHONE

    # The top bar: one line; the unread count on Inbox; Compose; the rest in the menu.
    banner = page.get_by_role("banner")
    assert_top_bar_on_one_line(page)
    expect(banner.get_by_role("link", name="Inbox")).to_contain_text("1")
    expect(banner.get_by_role("link", name="Compose")).to_be_visible()
    for folded in ("Archive", "Sent", "Drafts", "Profile", "Plan"):
        expect(banner.get_by_role("link", name=folded, exact=True)).to_be_hidden()
    expect(banner.get_by_role("button", name="Log out")).to_be_hidden()
    assert too_small(page, TOP_BAR_TARGETS) == []

    # The mailbox: each row one link that a tap anywhere on the row follows.
    rows = page.evaluate(ROW_TAPS)
    assert len(rows) == 2
    for row in rows:
        assert row["links"] == 1, row
        assert all(row["landed"]), row
        assert row["height"] >= 44, row
        assert row["width"] >= PHONE - 40, row
    read, unread = page.locator("table.mailbox tbody tr").all()
    expect(unread.get_by_role("link")).to_have_accessible_name(
        "Unread: Your appointment on Tuesday at 9"
    )
    assert_row_layout(unread, bold=True)
    assert_row_layout(read, bold=False)
    expect(read.locator("td.expires")).to_have_text(re.compile(r"^[A-Z][a-z]{2} \d{1,2}$"))
    # A screen reader is still given a table of rows and cells, as on a desktop.
    roles = accessibility_roles(page)
    assert {"table", "row", "columnheader"} <= roles
    assert {"cell", "gridcell"} & roles
    if shots:
        page.screenshot(path=Path(shots) / "inbox-390.png")

    # By keyboard: the skip link, the brand, Inbox, Compose, then the menu; Enter opens it.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for name in ("SecureMail", "Inbox", "Compose", "Menu"):
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_contain_text(name)
    page.keyboard.press("Enter")
    for folded in ("Archive", "Sent", "Drafts", "Profile", "Plan"):
        expect(banner.get_by_role("link", name=folded, exact=True)).to_be_visible()
    expect(banner.get_by_role("button", name="Log out")).to_be_visible()
    assert too_small(page, TOP_BAR_TARGETS) == []
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    assert page.evaluate(AXE_RUN)["violations"] == []
    page.keyboard.press("Tab")
    expect(banner.get_by_role("link", name="Archive", exact=True)).to_be_focused()
    banner.get_by_role("link", name="Sent", exact=True).tap()
    expect(page.get_by_role("heading", name="Sent", exact=True)).to_be_visible()
    expect(banner.get_by_role("link", name="Sent", exact=True)).to_be_hidden()

    # A tap on a row's date opens the conversation, which fits the phone too.
    page.goto(f"{base}/")
    when = page.locator("table.mailbox td.when").first.bounding_box()
    assert when is not None
    page.touchscreen.tap(when["x"] + when["width"] / 2, when["y"] + when["height"] / 2)
    expect(page.get_by_role("heading", name=LONG_SUBJECT)).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE
    assert too_small(page, "main :is(button, a.button, summary)") == []
    if shots:
        page.screenshot(path=Path(shots) / "conversation-390.png")
    page.context.close()

    # A doctor, on a 320 px phone: Compose one tap away; a draft's Discard is its own target.
    messaging.save_draft(owner=doctor, draft_id=None, fields={"subject": "Recall list"})
    page = on_a_phone(chromium, 320)
    log_in(page, base, doctor.email, PASSWORD)
    assert_top_bar_on_one_line(page)
    assert too_small(page, TOP_BAR_TARGETS) == []
    page.get_by_role("banner").get_by_role("link", name="Compose").tap()
    expect(page.get_by_role("heading", name="New secure message")).to_be_visible()
    page.goto(f"{base}/drafts/")
    [draft] = page.evaluate(ROW_TAPS)
    assert draft["links"] == 1
    assert all(draft["landed"]), draft
    assert too_small(page, "table.mailbox button") == []
    page.get_by_role("button", name="Discard").tap()
    expect(page.get_by_text("No drafts.")).to_be_visible()
    page.context.close()
