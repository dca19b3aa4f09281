"""Helpers for the browser tests: what a person does in the page (log in, compose, click
what is drawn) and what axe-core says. The `chromium`, `new_page` and `base` fixtures live in
the root conftest.py."""

from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
ROLE_LABEL = "Select recipient's role"


def log_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()


def open_compose(page: Page) -> None:
    page.get_by_role("link", name="Compose").click()
    expect(page.get_by_role("heading", name="New secure message")).to_be_visible()


def leave_typed(field: Locator, text: str) -> None:
    """Type into an address field and leave it with Tab, as a person would."""
    field.click()
    field.press_sequentially(text)
    field.press("Tab")


def role_select(page: Page) -> Any:
    return page.get_by_label(ROLE_LABEL, exact=True)


def click_middle(locator: Any) -> None:
    """Click the middle of what is drawn, as a person would. (Playwright's own click aims at
    the element's first box, which for the inbox links is the 1 px "Unread:" screen-reader
    label, clipped and so not clickable.)"""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None
    locator.click(position={"x": box["width"] / 2, "y": box["height"] / 2})


def message_section(page: Page, sender_name: str) -> Locator:
    return page.get_by_role("region", name=f"Message from {sender_name}", exact=True)


def header(message: Any, name: str) -> str:
    """An email header's text as a mail client shows it (unfolded, trimmed)."""
    return " ".join(str(message[name]).split())


def serious_axe_violations(page: Page) -> list[str]:
    """Run axe-core in the page; the names of serious or critical violations."""
    # Evaluated through the DevTools protocol: the page's CSP forbids inline scripts.
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert results["passes"], "axe-core checked nothing"
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
