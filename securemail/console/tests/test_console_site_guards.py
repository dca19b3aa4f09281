"""The console site refuses, as a page is registered, any page that could show what the
console never shows: a model of the messaging app or the verification codes, a page that
doesn't name its fields, a credential, token, code or sealed field, a person's phone."""

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from securemail.accounts.models import Practice, User
from securemail.console.site import ConsolePage, ConsoleSite
from securemail.messaging.models import Draft, Message
from securemail.notifications.models import OutboxText
from securemail.onboarding.models import Invitation, PhoneVerification


def _page(**attributes: Any) -> type[ConsolePage]:
    return type("Page", (ConsolePage,), attributes)


@pytest.mark.parametrize(
    ("model", "page", "why"),
    [
        (Message, _page(fields=("sent_at",)), "never shown"),
        (Draft, _page(fields=("updated_at",)), "never shown"),
        (PhoneVerification, _page(fields=("created_at",)), "never shown"),
        (Invitation, _page(), "names its fields"),
        (Invitation, _page(fields=("role",), exclude=("token_hash",)), "names the fields"),
        (Invitation, _page(fields=("role", "token_hash")), "'token_hash'"),
        (Invitation, _page(fields=("role", "wizard_data")), "'wizard_data'"),
        (Invitation, _page(fields=("role",), search_fields=("invitee__password",)), "password"),
        (Invitation, _page(fields=("role",), list_filter=("invitee__phone",)), "private"),
        (User, _page(fields=("email", "phone")), "private"),
        (User, _page(fields=("email",), list_display=("email", "signature")), "private"),
        (OutboxText, _page(fields=("kind", "to_phone")), "private"),
        (OutboxText, _page(fields=("kind",), search_fields=("sealed_payload",)), "never"),
    ],
)
def test_a_page_that_could_show_a_secret_is_refused(
    model: type[models.Model], page: type[ConsolePage], why: str
) -> None:
    site = ConsoleSite(name="guarded")

    with pytest.raises(ImproperlyConfigured, match=why):
        site.register(model, page)

    assert not site.is_registered(model)


def test_a_practices_phone_is_public_and_may_be_shown() -> None:
    site = ConsoleSite(name="guarded")

    site.register(Practice, _page(fields=("name", "phone")))

    assert site.is_registered(Practice)
