"""Shared test fixtures and hooks: personas, a loopback SMTP server, a real Chromium, and
the checks that every test is marked for the servers it starts.

Personas (STYLE.md): a paid doctor who manages one practice, a paid staff member and a free
staff member of it, a paid doctor of another practice, a patient, and an outsider. Plain
helpers (the personas' password, email parsing, ...) live in tests/support.py.
"""

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.support import PASSWORD, SmtpSink, free_port, smtp_mailers

# Django's live_server runs in a thread; Playwright's sync API looks async to Django.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# A test that uses one of these fixtures (directly or through another fixture) must carry
# the marker, so `-m "not browser"` or `-m smtp` select exactly what needs those servers.
# (`catcher`, in the mail catcher's tests, starts the development SMTP catcher.)
FIXTURES_NEEDING_MARKER = {
    "smtp": {"smtp_server", "catcher"},
    "browser": {"chromium", "new_page"},
}


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: Any) -> Iterator[Any]:
    """Fail the collection of a module (or class) holding a test that uses a server fixture
    without the server's marker, naming the test. (A failed collection report, not an
    exception: pytest-xdist's workers report it like any other collection error.)"""
    report = yield
    if report.passed:
        unmarked = [
            f"{item.nodeid} uses {', '.join(sorted(used))} without @pytest.mark.{marker}"
            for item in report.result
            if isinstance(item, pytest.Item)
            for marker, fixtures in FIXTURES_NEEDING_MARKER.items()
            if (used := fixtures & set(getattr(item, "fixturenames", ())))
            and item.get_closest_marker(marker) is None
        ]
        if unmarked:
            report.outcome = "failed"
            report.longrepr = "tests without the marker of the server they use:\n  " + (
                "\n  ".join(unmarked)
            )
            report.result = []
    return report


def pytest_report_header() -> list[str]:
    """What a fresh machine may lack, said before the tests that need it fail."""
    from securemail.core.pdf import PANGO_PACKAGES, missing_libraries

    missing = missing_libraries()
    if not missing:
        return []
    return [
        f"PDF export: WeasyPrint can't load {', '.join(missing)} and its tests will fail: "
        f"apt-get install {PANGO_PACKAGES}"
    ]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    # In CI every test must run: a skip is a failure.
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI (not allowed): {report.longrepr}"


# --- personas ---------------------------------------------------------------------------


@pytest.fixture
def make_user(db: None) -> Any:
    from securemail.accounts.models import User

    counter = {"n": 0}

    def make(email: str, **fields: Any) -> User:
        counter["n"] += 1
        defaults: dict[str, Any] = {
            "full_name": email.split("@")[0].replace(".", " ").title(),
            "kind": User.Kind.STAFF,
            "status": User.Status.ACTIVE,
            "phone": f"+1202555{counter['n']:04d}",
            "phone_verified_at": timezone.now(),
        }
        defaults.update(fields)
        return User.objects.create_user(email, PASSWORD, **defaults)

    return make


@pytest.fixture
def practice(db: None) -> Any:
    from securemail.accounts.models import Practice

    return Practice.objects.create(
        name="Bright Smiles Dental",
        phone="+12025550143",
        address_line1="100 Main Street",
        city="Springfield",
        state="IL",
        postal_code="62701",
    )


@pytest.fixture
def other_practice(db: None) -> Any:
    from securemail.accounts.models import Practice

    return Practice.objects.create(
        name="Lakeside Oral Surgery",
        phone="+13125550188",
        address_line1="9 Lake Shore Drive",
        city="Chicago",
        state="IL",
        postal_code="60601",
    )


@pytest.fixture
def doctor(make_user: Any, practice: Any) -> Any:
    """Paid doctor, user manager of `practice`."""
    return make_user(
        "jane.roe@brightsmiles.test",
        full_name="Jane Roe",
        kind="doctor",
        plan="paid",
        practice=practice,
        is_practice_manager=True,
    )


@pytest.fixture
def staff(make_user: Any, practice: Any) -> Any:
    return make_user(
        "sam.front@brightsmiles.test", full_name="Sam Front", plan="paid", practice=practice
    )


@pytest.fixture
def free_staff(make_user: Any, practice: Any) -> Any:
    return make_user("fran.free@brightsmiles.test", full_name="Fran Free", practice=practice)


@pytest.fixture
def other_doctor(make_user: Any, other_practice: Any) -> Any:
    return make_user(
        "omar.lee@lakeside.test",
        full_name="Omar Lee",
        kind="doctor",
        plan="paid",
        practice=other_practice,
        is_practice_manager=True,
    )


@pytest.fixture
def patient(make_user: Any) -> Any:
    return make_user("pat.smith@mail.test", full_name="Pat Smith", kind="patient")


@pytest.fixture
def outsider(make_user: Any) -> Any:
    return make_user("olivia.out@elsewhere.test", full_name="Olivia Out", kind="patient")


@pytest.fixture
def login(client: Any) -> Any:
    def do(user: Any) -> Any:
        client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
        return client

    return do


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def own_files(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """A file store of the test's own, so the blob files under it are exactly this test's."""
    from securemail.core.blobs import blob_store

    blob_store.cache_clear()
    settings.MEDIA_ROOT = tmp_path / "files"
    yield settings.MEDIA_ROOT
    blob_store.cache_clear()


@pytest.fixture
def all_logs(caplog: Any) -> Iterator[Any]:
    """Capture every record at DEBUG from every logger. The "django" logger does not
    propagate to the root (settings.LOGGING), so the capture handler joins it too."""
    django_logger = logging.getLogger("django")
    old_level = django_logger.level
    django_logger.addHandler(caplog.handler)
    django_logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        django_logger.removeHandler(caplog.handler)
        django_logger.setLevel(old_level)


# --- email ------------------------------------------------------------------------------


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on loopback; Django's SMTP backend delivers to it."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    # Through pytest-django's `settings`, so a test that also changes MAILERS can't leave
    # this server's address behind when both are undone.
    settings.MAILERS = smtp_mailers(port)
    yield sink
    controller.stop()


# --- browser ----------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (install Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """Open pages in fresh browser contexts (one per person), closed after the test.

    Pages and `expect` checks wait 10 s before failing: a busy CI machine is slow, never
    wrong. Playwright's default (5 s) comes back afterwards."""
    from playwright.sync_api import expect

    contexts = []
    expect.set_options(timeout=10_000)

    def make() -> Any:
        context = chromium.new_context()
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    expect.set_options(timeout=5_000)


@pytest.fixture
def base(live_server: Any, settings: Any) -> str:
    """The live server's URL; emailed links point at it."""
    settings.SECUREMAIL_BASE_URL = live_server.url
    return str(live_server.url)
