"""Fixtures of the Stripe tests: localstripe in its own process (one per test process), the
loopback Stripe API in front of it (stripe_api.py), the product configured for Stripe, and
personas with names that can't occur by chance in anything sent to Stripe."""

from collections.abc import Iterator
from typing import Any

import pytest

from securemail.billing.tests import localstripe
from securemail.billing.tests.stripe_api import (
    ANNUAL_PRICE,
    API_KEY,
    MONTHLY_PRICE,
    WEBHOOK_SECRET,
    StripeApi,
    StripeSide,
    serve,
)
from tests.support import free_port


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    with localstripe.running(free_port()) as url:
        yield url


@pytest.fixture
def stripe_api(localstripe_url: str) -> Iterator[StripeApi]:
    api = StripeApi(localstripe_url)
    server = serve(api)
    StripeSide(api).ensure_prices()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_side(stripe_api: StripeApi) -> StripeSide:
    return StripeSide(stripe_api)


@pytest.fixture
def use_stripe(settings: Any, stripe_api: StripeApi, monkeypatch: Any) -> Iterator[StripeApi]:
    """PAYMENT_PROCESSOR=stripe, its API on loopback (stripe_api)."""
    import stripe

    settings.PAYMENT_PROCESSOR = "stripe"
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PORTAL_CONFIGURATION = "bpc_securemail_card_only"
    settings.SECUREMAIL_PLANS = {
        "monthly": {**settings.SECUREMAIL_PLANS["monthly"], "stripe_price": MONTHLY_PRICE},
        "annual": {**settings.SECUREMAIL_PLANS["annual"], "stripe_price": ANNUAL_PRICE},
    }
    # The client's own retries (max_network_retries=2) stay; only their pauses are shortened.
    monkeypatch.setattr(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe._http_client.HTTPClient, "MAX_DELAY", 0.02)
    point_stripe_at(settings, stripe_api.url)
    yield stripe_api
    _clear_processor()


def point_stripe_at(settings: Any, url: str) -> None:
    """Send the product's Stripe calls to `url` from now on (the processor is cached)."""
    settings.STRIPE_API_BASE = url
    _clear_processor()


def _clear_processor() -> None:
    from securemail.billing.processors import _processor

    _processor.cache_clear()


# --- personas whose names and addresses are markers --------------------------------------


@pytest.fixture
def buyer(make_user: Any, practice: Any) -> Any:
    """A free staff member of `practice` who buys a plan for herself."""
    return make_user(
        "zephyrine.quillmarker@quillmarker-mail.test",
        full_name="Zephyrine Quillmarker",
        practice=practice,
    )


@pytest.fixture
def marker_manager(make_user: Any, practice: Any) -> Any:
    """The practice's user manager, who may buy for its people."""
    return make_user(
        "bartholomew.xandermark@quillmarker-mail.test",
        full_name="Bartholomew Xandermark",
        kind="doctor",
        plan="paid",
        practice=practice,
        is_practice_manager=True,
    )
