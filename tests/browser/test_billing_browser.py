"""Buying a plan in a real Chromium with the built-in test processor (issue 8): 4242 buys,
…0002 is declined with the processor's message, a renewal made to fail turns the account
free and shows the banner at the next login, and Buy Now makes it paid again."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from securemail.accounts.models import User
from securemail.billing.models import Subscription
from tests.browser.helpers import log_in, serious_axe_violations
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BANNER = "The latest payment did not succeed."


def _pay(page: Page, number: str) -> None:
    expect(page.get_by_role("heading", name="Pay for SecureMail Pro, monthly")).to_be_visible()
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay $29.00").click()


def _buy_monthly(page: Page, base: str) -> None:
    page.goto(f"{base}/billing/")
    page.locator("form.plan-option").filter(has_text="monthly").get_by_role(
        "button", name="Buy now"
    ).click()


def test_a_free_doctor_buys_is_declined_then_pays_and_composes(
    base: str, new_page: Any, free_staff: User
) -> None:
    page = new_page()
    log_in(page, base, free_staff.email, PASSWORD)
    plan_badge = page.get_by_role("banner").locator(".plan")
    expect(plan_badge).to_have_text("Free")

    _buy_monthly(page, base)
    _pay(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    assert serious_axe_violations(page) == []

    _pay(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Thank you: your paid plan is active.")).to_be_visible()
    expect(page.get_by_text("Visa ending in 4242")).to_be_visible()
    expect(plan_badge).to_have_text("Paid")
    assert serious_axe_violations(page) == []

    page.get_by_role("link", name="Compose").click()
    expect(page.get_by_role("heading", name="New secure message")).to_be_visible()


def test_a_failed_renewal_shows_the_banner_at_login_and_buy_now_pays_again(
    base: str, new_page: Any, free_staff: User
) -> None:
    page = new_page()
    log_in(page, base, free_staff.email, PASSWORD)
    _buy_monthly(page, base)
    _pay(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Thank you: your paid plan is active.")).to_be_visible()

    # The test processor's controls: make the next renewal fail, then renew now.
    page.goto(f"{base}/billing/test-processor/")
    page.get_by_role("button", name="Make the next renewal fail").click()
    page.get_by_role("button", name="Renew now").click()
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, free_staff.email, PASSWORD)
    banner = page.get_by_role("alert").filter(has_text=BANNER)
    expect(banner).to_contain_text("The paid version is disabled")
    expect(page.get_by_role("banner").locator(".plan")).to_have_text("Free")
    assert serious_axe_violations(page) == []
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.FREE

    banner.get_by_role("button", name="Buy Now").click()
    _pay(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Thank you: your paid plan is active.")).to_be_visible()
    expect(page.get_by_text(BANNER)).to_have_count(0)
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.PAID
    assert Subscription.objects.filter(member=free_staff, status="active").count() == 1


def test_the_user_manager_buys_a_plan_for_a_member_from_the_people_page(
    base: str, new_page: Any, doctor: User, free_staff: User
) -> None:
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    page.get_by_role("link", name="Practice users").click()
    member = page.get_by_role("row", name=re.compile(re.escape(free_staff.email)))
    expect(member).to_contain_text("Free")

    member.get_by_role("button", name="Buy monthly").click()
    _pay(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Thank you: Fran Free's paid plan is active.")).to_be_visible()

    page.get_by_role("link", name="Practice users").click()
    member = page.get_by_role("row", name=re.compile(re.escape(free_staff.email)))
    expect(member).to_contain_text("Paid, monthly")
    expect(member).to_contain_text("paid by Dr. Jane Roe")
    member.get_by_role("button", name="Cancel plan").click()
    expect(page.get_by_text("The plan ends at the end of its paid period.")).to_be_visible()
    sub = Subscription.objects.get(member=free_staff)
    assert (sub.buyer_id, sub.cancel_at_period_end) == (doctor.pk, True)
