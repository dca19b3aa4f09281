"""The 6-digit verification code: wrong, exhausted, expired, replaced and re-used codes are
refused with a message the person can act on; sending is rate limited; only a hash is kept;
sending a code and checking one are two URLs, one action each."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.core import tokens
from securemail.notifications.models import OutboxText
from securemail.onboarding import services
from securemail.onboarding.errors import CodeRefused
from securemail.onboarding.models import Invitation, PhoneVerification, WizardState
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    OTHER_PHONE,
    PHONE_E164,
    PHONE_INBOX,
    enter_code,
    invite,
    post_you,
    send_code,
    start,
    wrong,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.staff@example.test"


@pytest.fixture
def on_verify_step(doctor: User) -> tuple[Invitation, Client]:
    """A staff invitee who gave their details and is on the "Verify your phone" step."""
    invitation, join_path = invite(doctor, EMAIL, "staff_my_practice")
    client = start(join_path)
    assert post_you(client)["Location"] == "/register/verify/"
    return invitation, client


def _sent_code(client: Client, channel: str = "sms") -> str:
    response = send_code(client, channel)
    assert response.status_code == 302, response
    return MAILBOX.code(EMAIL if channel == "email" else PHONE_INBOX)


def _is_verified(invitation: Invitation) -> bool:
    invitation.refresh_from_db()
    return "verified" in invitation.wizard_data


def test_a_wrong_code_shows_the_tries_left_and_counts_the_attempt(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)

    first = enter_code(client, wrong(code))
    second = enter_code(client, wrong(code))

    assert first.status_code == 400
    assert "That code is not right. 4 tries left." in first.content.decode()
    assert "That code is not right. 3 tries left." in second.content.decode()
    assert PhoneVerification.objects.get(invitation=invitation).attempts == 2
    assert not _is_verified(invitation)
    # The right code still works after a couple of typos.
    assert enter_code(client, code)["Location"] == "/register/terms/"
    assert _is_verified(invitation)


def test_a_code_in_the_wrong_shape_is_refused_without_spending_a_try(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    _sent_code(client)

    for typed in ("12345", "1234567", "12a456"):
        response = enter_code(client, typed)
        assert response.status_code == 400
        assert "Enter the 6 digits of the code we sent." in response.content.decode()
    assert PhoneVerification.objects.get(invitation=invitation).attempts == 0


def test_a_code_typed_with_spaces_is_accepted(on_verify_step: tuple[Invitation, Client]) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)

    response = enter_code(client, f" {code[:3]} {code[3:]} ")

    assert response["Location"] == "/register/terms/"
    assert _is_verified(invitation)


def test_after_five_wrong_tries_even_the_right_code_is_refused(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)
    for _ in range(4):
        enter_code(client, wrong(code))

    fifth = enter_code(client, wrong(code))
    right = enter_code(client, code)

    assert "too many tries. Send a new code." in fifth.content.decode()
    assert right.status_code == 400
    assert "Too many wrong tries for this code. Send a new code." in right.content.decode()
    assert PhoneVerification.objects.get(invitation=invitation).attempts == 5
    assert not _is_verified(invitation)
    assert not AuditEvent.objects.filter(event="onboarding:code:verify").exists()
    # A new code gets a fresh set of tries.
    new_code = _sent_code(client)
    assert enter_code(client, new_code)["Location"] == "/register/terms/"
    assert _is_verified(invitation)


def test_an_expired_code_is_refused(on_verify_step: tuple[Invitation, Client]) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=5)):
        response = enter_code(client, code)

    assert response.status_code == 400
    assert "This code has expired. Send a new code." in response.content.decode()
    assert not _is_verified(invitation)


def test_a_code_still_works_just_before_it_expires(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)

    with time_machine.travel(timezone.now() + timedelta(minutes=9, seconds=50)):
        response = enter_code(client, code)

    assert response["Location"] == "/register/terms/"
    assert _is_verified(invitation)


def test_resending_invalidates_the_previous_code(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    old_code = _sent_code(client)
    new_code = _sent_code(client)

    page = client.get("/register/verify/")
    old = enter_code(client, old_code)

    assert "Earlier codes no longer work." in page.content.decode()
    assert old.status_code == 400
    assert "That code is not right." in old.content.decode()
    first, second = PhoneVerification.objects.filter(invitation=invitation).order_by("pk")
    assert first.invalidated_at is not None
    assert second.invalidated_at is None
    assert enter_code(client, new_code)["Location"] == "/register/terms/"
    assert _is_verified(invitation)


def test_switching_channel_also_invalidates_the_previous_code(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    texted = _sent_code(client, "sms")
    emailed = _sent_code(client, "email")

    assert enter_code(client, texted).status_code == 400
    assert enter_code(client, emailed)["Location"] == "/register/terms/"
    assert _is_verified(invitation)


def test_a_code_cannot_be_used_again_after_it_verified(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)
    assert enter_code(client, code)["Location"] == "/register/terms/"

    again = enter_code(client, code)
    # Nor can it verify a number changed afterwards.
    post_you(client, phone=OTHER_PHONE)
    for_new_number = enter_code(client, code)

    assert again.status_code == 400
    assert "There is no code waiting. Send a new code." in again.content.decode()
    assert for_new_number.status_code == 400
    assert "There is no code waiting. Send a new code." in for_new_number.content.decode()
    assert not _is_verified(invitation)
    assert AuditEvent.objects.filter(event="onboarding:code:verify").count() == 1


def test_entering_a_code_before_any_was_sent_is_refused(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step

    response = enter_code(client, "123456")

    assert response.status_code == 400
    assert "There is no code waiting. Send a new code." in response.content.decode()
    assert not _is_verified(invitation)


def test_the_sixth_code_in_an_hour_is_refused_with_a_clear_message(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    channels = ["sms", "voice", "email", "sms", "voice"]
    codes = [_sent_code(client, channel) for channel in channels]

    refused = send_code(client, "sms")

    assert refused.status_code == 429
    assert "Too many codes were sent. Wait an hour" in refused.content.decode()
    assert PhoneVerification.objects.filter(invitation=invitation).count() == 5
    assert len(MAILBOX.to(PHONE_INBOX)) == 4
    # The last code sent still works.
    assert enter_code(client, codes[-1])["Location"] == "/register/terms/"


def test_the_code_limit_lifts_after_an_hour(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    for _ in range(5):
        _sent_code(client, "email")
    assert send_code(client, "email").status_code == 429
    now = timezone.now()

    # The person keeps the page open (the session lives 30 minutes from the last request).
    for minutes in (20, 40):
        with time_machine.travel(now + timedelta(minutes=minutes)):
            assert client.get("/register/verify/").status_code == 200
    with time_machine.travel(now + timedelta(minutes=61)):
        allowed = send_code(client, "email")
        code = MAILBOX.code(EMAIL)
        verified = enter_code(client, code)

    assert allowed.status_code == 302
    assert PhoneVerification.objects.filter(invitation=invitation).count() == 6
    assert verified["Location"] == "/register/terms/"


def test_the_code_limit_of_one_invitation_does_not_block_another(
    on_verify_step: tuple[Invitation, Client], doctor: User
) -> None:
    _, client = on_verify_step
    for _ in range(5):
        _sent_code(client, "email")
    assert send_code(client, "email").status_code == 429
    _, join_path = invite(doctor, "someone.else@example.test", "patient")
    other = start(join_path)
    post_you(other, phone=OTHER_PHONE)

    response = send_code(other, "sms")

    assert response.status_code == 302


def test_one_number_gets_at_most_five_codes_an_hour_whoever_asks(
    on_verify_step: tuple[Invitation, Client], doctor: User
) -> None:
    _, client = on_verify_step
    for _ in range(5):
        _sent_code(client, "sms")
    # Another invitation tries to have the same number texted.
    other_invitation, join_path = invite(doctor, "someone.else@example.test", "patient")
    other = start(join_path)
    post_you(other)

    refused = send_code(other, "sms")

    assert refused.status_code == 429
    assert "Too many codes were sent." in refused.content.decode()
    assert not PhoneVerification.objects.filter(invitation=other_invitation).exists()
    assert len(MAILBOX.to(PHONE_INBOX)) == 5
    # The email code still works for them.
    assert send_code(other, "email").status_code == 302


def test_only_a_hash_of_the_code_is_stored(on_verify_step: tuple[Invitation, Client]) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)

    verification = PhoneVerification.objects.get(invitation=invitation)

    assert len(verification.code_hash) == 64
    assert code not in verification.code_hash
    assert code not in str(invitation.wizard_data)
    for event in AuditEvent.objects.all():
        assert code not in str(event.data)
        assert code not in event.target
    assert tokens.code_matches(
        code, salt=str(verification.pk), expected_hash=verification.code_hash
    )


# --- one URL to send a code, the step's own URL to check it ----------------------------------


def test_the_send_url_sends_a_code_and_goes_back_to_the_step(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step

    response = client.post("/register/verify/send/", {"channel": "sms"})

    assert response.status_code == 302
    assert response["Location"] == "/register/verify/"
    sent = PhoneVerification.objects.get(invitation=invitation)
    assert (sent.channel, sent.destination) == ("sms", PHONE_E164)
    queued = OutboxText.objects.get(kind="verification_code")
    assert (queued.channel, queued.to_phone) == ("sms", PHONE_E164)
    assert AuditEvent.objects.filter(
        event="onboarding:code:send", target=f"invitation:{invitation.pk}"
    ).exists()
    page = client.get("/register/verify/").content.decode()
    assert "We sent a new code to (•••) •••-0177. Earlier codes no longer work." in page


def test_each_form_of_the_verify_step_posts_to_the_url_of_its_action(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    _, client = on_verify_step
    before = client.get("/register/verify/").content.decode()
    _sent_code(client)

    after = client.get("/register/verify/").content.decode()

    # Text, call and email: three forms to the send URL; the code's form to the step's URL.
    assert before.count('action="/register/verify/send/"') == 3
    assert 'action="/register/verify/"' not in before
    assert after.count('action="/register/verify/send/"') == 3
    assert after.count('action="/register/verify/"') == 1
    assert 'name="send"' not in after


def test_the_send_url_only_takes_a_post(on_verify_step: tuple[Invitation, Client]) -> None:
    invitation, client = on_verify_step

    response = client.get("/register/verify/send/", {"channel": "sms"})

    assert response.status_code == 405
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()


def test_the_send_url_without_a_registration_gets_the_invalid_link_page(doctor: User) -> None:
    invite(doctor, EMAIL, "staff_my_practice")

    response = Client().post("/register/verify/send/", {"channel": "email"})

    assert response.status_code == 404
    assert INVALID_LINK_TEXT in response.content.decode()
    assert not PhoneVerification.objects.exists()
    assert len(MAILBOX.to(EMAIL)) == 1  # the welcome email only


def test_the_send_url_after_the_invitation_expired_gets_the_invalid_link_page(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    response = client.post("/register/verify/send/", {"channel": "sms"})

    assert response.status_code == 404
    assert INVALID_LINK_TEXT in response.content.decode()
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()


def test_the_send_url_without_a_channel_is_refused(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step

    response = client.post("/register/verify/send/", {})

    assert response.status_code == 400
    assert "Choose how to receive your code." in response.content.decode()
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()


def test_the_send_url_cannot_skip_the_step_about_you(doctor: User) -> None:
    invitation, join_path = invite(doctor, EMAIL, "staff_my_practice")
    client = start(join_path)

    response = client.post("/register/verify/send/", {"channel": "email"})

    assert response.status_code == 302
    assert response["Location"] == "/register/you/"
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()


def test_posting_a_send_field_to_the_step_checks_a_code_and_sends_none(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step

    response = client.post("/register/verify/", {"send": "1", "channel": "sms"})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()


# --- check_code raises ---------------------------------------------------------------------


def test_check_code_raises_when_no_code_is_waiting(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, _ = on_verify_step
    invitation.refresh_from_db()

    with pytest.raises(CodeRefused) as refused:
        services.check_code(invitation=invitation, code="123456")

    assert str(refused.value) == "There is no code waiting. Send a new code."
    assert WizardState.load(invitation).verified is None


def test_check_code_raises_for_a_wrong_code_and_keeps_the_try_counted(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)
    invitation.refresh_from_db()

    with pytest.raises(CodeRefused) as refused:
        services.check_code(invitation=invitation, code=wrong(code))

    assert str(refused.value) == "That code is not right. 4 tries left."
    assert PhoneVerification.objects.get(invitation=invitation).attempts == 1
    assert not _is_verified(invitation)


def test_check_code_returns_once_the_phone_is_verified(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    code = _sent_code(client)
    invitation.refresh_from_db()

    services.check_code(invitation=invitation, code=code)

    invitation.refresh_from_db()
    state = WizardState.load(invitation)
    assert state.verified is not None
    assert (state.verified.channel, state.verified.phone) == ("sms", PHONE_E164)
    assert state.verified.proves_phone
    assert PhoneVerification.objects.get(invitation=invitation).verified_at is not None


def test_typing_codes_too_fast_waits_with_429_and_checks_nothing(
    on_verify_step: tuple[Invitation, Client],
) -> None:
    invitation, client = on_verify_step
    # Each code allows five wrong tries; a new code each time keeps them coming.
    for _ in range(4):
        code = _sent_code(client, "email")
        for _ in range(5):
            assert enter_code(client, wrong(code)).status_code == 400
    code = _sent_code(client, "sms")

    refused = enter_code(client, code)

    assert refused.status_code == 429
    assert "Too many tries. Wait a few minutes" in refused.content.decode()
    assert not _is_verified(invitation)
