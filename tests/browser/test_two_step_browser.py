"""Issue 10 in a real Chromium: set up an authenticator app and log in with its code
(computed here, as the app would), add a passkey and sign in with it alone (Chromium's
virtual authenticator, through the DevTools WebAuthn domain; the live server is reached as
`localhost`, the relying party id), use a recovery code, and meet the re-authentication
prompt before changing the email address."""

import re
import time
from typing import Any

import pyotp
import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Page, expect

from securemail.accounts.models import Passkey, TwoStep, User
from securemail.accounts.security import session as security_session
from securemail.accounts.security import setup, signin
from securemail.onboarding.tests.helpers import MAILBOX
from tests.browser.helpers import log_in, serious_axe_violations
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def type_password(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def virtual_authenticator(page: Page) -> Any:
    """A passkey device in this page's browser: Chromium's virtual authenticator (a platform
    authenticator with resident keys and user verification, touched automatically)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp


def test_set_up_an_authenticator_app_and_log_in_with_its_code(
    base: str, new_page: Any, doctor: User
) -> None:
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(
        10
    )
    assert serious_axe_violations(page) == []
    page.get_by_role("link", name="I saved them").click()
    expect(page.get_by_text("Two-step login is on.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    type_password(page, base, doctor.email)
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    assert serious_axe_violations(page) == []
    # The next step's code: the one that confirmed the app is spent.
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    assert "Two-step login was turned on" in MAILBOX.last_to(doctor.email).subject


def test_add_a_passkey_then_sign_in_with_it_alone(base: str, new_page: Any, doctor: User) -> None:
    assert base.startswith("http://localhost:")
    page = new_page()
    virtual_authenticator(page)
    log_in(page, base, doctor.email, PASSWORD)
    page.goto(f"{base}/accounts/security/")
    page.get_by_label("Name this passkey").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="I saved them").click()
    expect(page.get_by_text("Work laptop")).to_be_visible()
    assert TwoStep.objects.get(user=doctor).method == "passkey"
    page.get_by_role("button", name="Log out").click()

    page.goto(f"{base}/accounts/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    expect(page.get_by_text("Dr. Jane Roe")).to_be_visible()
    assert Passkey.objects.get(user=doctor).last_used_at is not None

    # And as the second step after the password.
    page.get_by_role("button", name="Log out").click()
    type_password(page, base, doctor.email)
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_role("button", name="Use your passkey").click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()

    # The passkey removed from the account (on another device, say), still on this one:
    # the login page says why it didn't work. Until then it shows no (empty) alert.
    Passkey.objects.filter(user=doctor).delete()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to SecureMail")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_have_text(signin.NOT_REGISTERED)


def test_log_in_with_a_recovery_code(base: str, new_page: Any, doctor: User) -> None:
    started = setup.start_app(user=doctor)
    codes = setup.confirm_app(user=doctor, code=pyotp.TOTP(started.secret).now())
    page = new_page()

    type_password(page, base, doctor.email)
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    type_password(page, base, doctor.email)
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("has been used already")).to_be_visible()


def test_changing_the_email_address_asks_for_the_password_again(
    base: str, new_page: Any, doctor: User
) -> None:
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    # Eleven minutes later, as far as this session knows.
    [cookie] = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    stored = SessionStore(session_key=cookie["value"])
    stored[security_session.PROVED_AT_KEY] = int(time.time()) - 11 * 60
    stored.save()

    page.goto(f"{base}/accounts/security/")
    page.get_by_role("link", name="Change email address").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    assert serious_axe_violations(page) == []
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Change email address")).to_be_visible()
    page.get_by_label("New email address").fill("jane.new@brightsmiles.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text("We sent a link to jane.new@brightsmiles.test")).to_be_visible()
    link = MAILBOX.link("jane.new@brightsmiles.test", "/accounts/security/email/")
    page.goto(f"{base}{link}")
    page.get_by_role("button", name="Confirm the new address").click()
    expect(page.get_by_text("Your login address is now jane.new@brightsmiles.test")).to_be_visible()
    doctor.refresh_from_db()
    assert doctor.email == "jane.new@brightsmiles.test"
