"""The specialty step in a real Chromium with JavaScript off: "Show procedures" is a plain
GET of the procedures URL that answers the whole step with the specialty's usual procedures
ticked, and the step's form still posts its answers to the step."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from securemail.onboarding.models import WizardState
from securemail.onboarding.tests.helpers import VALID_NPI, invite, usual_procedures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_without_javascript(chromium: Any) -> Iterator[Page]:
    context = chromium.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_show_procedures_works_without_javascript(
    doctor: Any, live_server: Any, page_without_javascript: Page
) -> None:
    base = live_server.url
    page = page_without_javascript
    invitation, join_path = invite(doctor, "new.endodontist@example.test", "doctor_my_practice")
    page.goto(f"{base}{join_path}")
    page.get_by_role("button", name="Start registration").click()
    page.get_by_label("Full name").fill("Alex Newman")
    page.get_by_label("Cell phone").fill("(202) 555-0177")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/register/specialty/")

    page.get_by_label("Specialty", exact=True).select_option(label="Endodontics")
    page.get_by_label("NPI").fill(VALID_NPI)
    page.get_by_role("button", name="Show procedures").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/register/specialty/procedures/\?"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Specialty and procedures")
    expect(page.get_by_label("Specialty", exact=True)).to_have_value("endodontics")
    expect(page.get_by_label("NPI")).to_have_value(VALID_NPI)
    expect(page.get_by_role("checkbox", name="Root canal treatment")).to_be_checked()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/register/verify/")
    invitation.refresh_from_db()
    state = WizardState.load(invitation)
    assert (state.specialty, state.npi) == ("endodontics", VALID_NPI)
    assert state.procedures == sorted(usual_procedures("endodontics"))
