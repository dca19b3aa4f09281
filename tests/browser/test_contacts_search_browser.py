"""Contacts and search (issue 11) in a real Chromium: add and restore a contact, contacts
suggested as To is typed (Arrow Down, Enter) with the name and practice shown once the field
is left, and a search from the top bar that finds a word in a message's body."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from securemail.messaging.tests.helpers import send
from tests.browser.helpers import log_in, open_compose, serious_axe_violations
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _contact_row(page: Page, name: str) -> Any:
    return page.get_by_role("row", name=re.compile(re.escape(name)))


def test_add_delete_and_restore_a_contact(doctor: Any, base: str, new_page: Any) -> None:
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(page.get_by_text("No contacts yet.")).to_be_visible()

    page.get_by_role("link", name="Add contact").click()
    page.get_by_label("Name").fill("Nora Quinn")
    page.get_by_label("Email address").fill("nora.quinn@mail.test")
    page.get_by_label("Practice").fill("Quinn Family Dentistry")
    page.get_by_label("Phone").fill("(202) 555-0147")
    page.get_by_label("Note").fill("Prefers mornings.")
    page.get_by_role("button", name="Add contact").click()

    expect(page.get_by_text("Contact added.")).to_be_visible()
    row = _contact_row(page, "Nora Quinn")
    expect(row).to_contain_text("nora.quinn@mail.test")
    expect(row).to_contain_text("Quinn Family Dentistry")
    expect(row).to_contain_text("(202) 555-0147")
    assert serious_axe_violations(page) == []

    row.get_by_role("button", name="Delete Nora Quinn").click()
    expect(page.get_by_text("You can restore it from Deleted contacts.")).to_be_visible()
    expect(_contact_row(page, "Nora Quinn")).to_have_count(0)

    page.get_by_role("link", name="Deleted contacts (1)").click()
    expect(page.get_by_role("heading", name="Deleted contacts")).to_be_visible()
    page.get_by_role("button", name="Restore Nora Quinn").click()

    expect(page.get_by_text("Contact restored.")).to_be_visible()
    row = _contact_row(page, "Nora Quinn")
    expect(row).to_contain_text("Prefers mornings.")
    expect(page.get_by_role("link", name="Deleted contacts", exact=True)).to_be_visible()


def test_compose_suggests_contacts_as_to_is_typed(
    doctor: Any, patient: Any, other_doctor: Any, base: str, new_page: Any
) -> None:
    send(doctor, patient)
    send(doctor, other_doctor)
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    open_compose(page)
    to = page.get_by_role("combobox", name="To")
    expect(to).to_have_attribute("aria-expanded", "false")

    to.click()
    to.press_sequentially("oma")
    listbox = page.get_by_role("listbox", name="Suggested contacts")
    expect(listbox).to_be_visible()
    expect(to).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Dr. Omar Lee")
    expect(options.first).to_contain_text("Lakeside Oral Surgery")

    to.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(to).to_have_attribute("aria-activedescendant", "to-suggestion-0")
    to.press("Enter")

    # The address is taken (the form is not sent), the list box closes.
    expect(to).to_have_value("omar.lee@lakeside.test, ")
    expect(listbox).to_be_hidden()
    expect(to).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("heading", name="New secure message")).to_be_visible()

    # A second address: the suggestions follow what is typed after the comma.
    to.press_sequentially("sm")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Pat Smith")
    to.press("ArrowDown")
    to.press("Enter")
    expect(to).to_have_value("omar.lee@lakeside.test, pat.smith@mail.test, ")
    # Escape closes without choosing.
    to.press_sequentially("xyz")
    to.press("Backspace")
    to.press("Backspace")
    to.press("Backspace")
    to.press_sequentially("om")
    expect(options).to_have_count(1)
    to.press("Escape")
    expect(listbox).to_be_hidden()

    # Leaving the field: the known contacts' names and practices beside their addresses.
    to.fill("omar.lee@lakeside.test, pat.smith@mail.test")
    to.press("Tab")
    roles = page.locator("#recipient-roles")
    expect(roles).to_contain_text("omar.lee@lakeside.test: Dr. Omar Lee, Lakeside Oral Surgery")
    expect(roles).to_contain_text("pat.smith@mail.test: Pat Smith")
    assert serious_axe_violations(page) == []


def test_a_search_from_the_top_bar_finds_a_word_in_a_body(
    doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    send(doctor, patient, subject="Your visit", body="The periapical film shows no lesion.")
    send(doctor, patient, subject="Billing", body="Your statement is ready.")
    page = new_page()
    log_in(page, base, patient.email, PASSWORD)

    box = page.get_by_role("searchbox", name="Search mail")
    box.fill("periapical")
    box.press("Enter")

    expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
    results = page.locator("table.search-results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Your visit")
    expect(results.first).to_contain_text("Inbox")
    expect(results.first.locator("mark")).to_have_text(["periapical"])
    # The words stay out of the address.
    assert "periapical" not in page.url
    assert serious_axe_violations(page) == []

    results.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Your visit")).to_be_visible()
