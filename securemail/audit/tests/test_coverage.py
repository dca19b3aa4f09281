"""Issue 9, "the audit a practice can use": every kind of action a practice answers for is in
the audit log with its time, actor, practice, object and client address, and no entry holds
content (subjects, bodies, file names), tokens or codes.

Each test drives one area through its pages from a client address of its own (the request's
address reaches the log through core.http's middleware), or through its job or command where
no request is involved, and asserts the entry. `COVERED` maps every event of the vocabulary
to the test here (or elsewhere) that drives it: a new event without one fails
`test_every_event_of_the_vocabulary_is_driven_by_a_test`.
"""

import io
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from securemail.accounts import services as account_services
from securemail.accounts.models import User
from securemail.accounts.tests.twostep import turn_on_app
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.billing import services as billing
from securemail.billing.models import Subscription
from securemail.billing.tests.helpers import buy
from securemail.messaging import services as messaging
from securemail.messaging.models import Attachment, Message
from securemail.messaging.tests.helpers import BODY, SUBJECT, send, send_with_files
from securemail.onboarding import services as onboarding
from securemail.onboarding.models import RecipientRole
from securemail.onboarding.tests.helpers import (
    MAILBOX,
    PHONE_INBOX,
    accept_terms,
    post_practice,
    post_specialty,
    post_you,
    send_code,
    wrong,
)
from tests.security.helpers import file_keyring
from tests.support import PASSWORD, client_token

pytestmark = pytest.mark.django_db

FILE_NAME = "panoramic-xray-pat-smith.png"
NEW_PASSWORD = "a brand new passphrase for audit 9"


def _client(address: str) -> Client:
    """A browser at `address` (what REMOTE_ADDR says; core.http.client_ip reads it)."""
    return Client(REMOTE_ADDR=address)


def _logged_in(user: User, address: str) -> Client:
    client = _client(address)
    client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
    return client


def entry(event: Event, **expected: Any) -> AuditEvent:
    """The newest entry of `event`, checked against `expected` (actor, practice, target,
    client address, data)."""
    found = AuditEvent.objects.filter(event=event.value).order_by("-id").first()
    assert found is not None, f"no {event.value} entry"
    fields = {
        "actor": found.actor_id,
        "practice": found.practice_id,
        "target": found.target,
        "client": found.client_ip,
        "data": found.data,
    }
    for name, value in expected.items():
        assert fields[name] == value, f"{event.value}: {name} is {fields[name]!r}, not {value!r}"
    assert found.created_at is not None
    return found


# --- what no entry may hold ------------------------------------------------------------------

# Ids and states only: ints, booleans, uuids, and lower-case words (a step, a channel, a plan).
_SAFE_TEXT = re.compile(r"^([a-z_]{1,40}|[0-9a-f-]{36}|\d+)$")


def _only_ids_and_states(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int)):
        return True
    if isinstance(value, str):
        return bool(_SAFE_TEXT.match(value))
    if isinstance(value, list):
        return all(_only_ids_and_states(v) for v in value)
    if isinstance(value, dict):
        return all(_SAFE_TEXT.match(k) and _only_ids_and_states(v) for k, v in value.items())
    return False


def assert_no_content_in_the_log(*secrets: str) -> None:
    """No entry's data holds anything but ids and states, and none of `secrets` (subjects,
    bodies, file names, links, codes, passwords) is anywhere in any entry."""
    entries = list(AuditEvent.objects.all())
    assert entries
    for found in entries:
        assert _only_ids_and_states(found.data), (found.event, found.data)
        # Targets are "kind:id".
        assert found.target == "" or re.match(r"^[a-z_]+:[0-9a-f-]+$", found.target), found.target
        whole = json.dumps(
            [found.event, found.target, found.data, found.client_ip], default=str
        ).lower()
        for secret in secrets:
            assert secret.lower() not in whole, (found.event, secret)


# --- logging in and out, lockout, passwords ----------------------------------------------------


def test_logins_logouts_lockouts_and_passwords_are_audited_with_the_client_address(
    staff: User, free_staff: User
) -> None:
    browser = _client("198.51.100.7")

    browser.post("/accounts/login/", {"username": staff.email, "password": "not it at all"})
    entry(Event.LOGIN_FAILED, actor=staff.pk, practice=staff.practice_id, client="198.51.100.7")
    browser.post("/accounts/login/", {"username": staff.email, "password": PASSWORD})
    entry(Event.LOGIN_SUCCEEDED, actor=staff.pk, practice=staff.practice_id, client="198.51.100.7")
    assert browser.post("/accounts/logout/").status_code == 302
    entry(Event.LOGGED_OUT, actor=staff.pk, practice=staff.practice_id, client="198.51.100.7")

    attacker = _client("203.0.113.66")
    for _ in range(5):
        attacker.post("/accounts/login/", {"username": free_staff.email, "password": "guess"})
    entry(
        Event.USER_LOCKED,
        actor=None,
        practice=free_staff.practice_id,
        target=f"user:{free_staff.pk}",
        client="203.0.113.66",
    )

    attacker.post("/accounts/password/", {"email": free_staff.email})
    entry(
        Event.PASSWORD_LINK_REQUESTED,
        practice=free_staff.practice_id,
        target=f"user:{free_staff.pk}",
        client="203.0.113.66",
    )
    link = MAILBOX.link(free_staff.email, "/accounts/password/")
    owner = _client("198.51.100.8")
    form_url = owner.get(link)["Location"]
    owner.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    entry(
        Event.PASSWORD_SET,
        actor=free_staff.pk,
        practice=free_staff.practice_id,
        client="198.51.100.8",
    )

    free_staff.refresh_from_db()
    profile = _logged_in(free_staff, "198.51.100.8")
    saved = profile.post(
        "/accounts/profile/",
        {
            "full_name": "Fran Free",
            "office_phone": "",
            "time_zone": "America/Chicago",
            "signature": "",
            "default_expiry_days": "30",
            "notify_by": "email",
        },
    )
    assert saved["Location"] == "/accounts/profile/"
    entry(
        Event.PROFILE_UPDATED,
        actor=free_staff.pk,
        practice=free_staff.practice_id,
        client="198.51.100.8",
    )
    assert_no_content_in_the_log(PASSWORD, NEW_PASSWORD, "guess", link.strip("/").split("/")[-1])


# --- registration --------------------------------------------------------------------------------


def test_every_registration_step_and_code_is_audited_for_the_inviting_practice(
    doctor: User,
) -> None:
    practice = doctor.practice_id
    sender = _logged_in(doctor, "192.0.2.10")
    token = client_token(sender.get("/compose/"))
    sender.post(
        "/compose/",
        {
            "to": "nina.new@brightsmiles.test",
            "role": RecipientRole.STAFF_IN_MY_PRACTICE.value,
            "subject": SUBJECT,
            "body": BODY,
            "client_token": token,
        },
    )
    invitee = User.objects.get(email="nina.new@brightsmiles.test")
    sent = entry(Event.MESSAGE_SENT, actor=doctor.pk, practice=practice, client="192.0.2.10")
    assert sent.data["recipients"] == [invitee.pk]
    entry(
        Event.INVITATION_CREATED,
        actor=doctor.pk,
        practice=practice,
        target=f"user:{invitee.pk}",
        client="192.0.2.10",
        data={"role": RecipientRole.STAFF_IN_MY_PRACTICE.value},
    )
    invitation = invitee.invitations.get()
    target = f"invitation:{invitation.pk}"
    join_path = MAILBOX.link(invitee.email, "/join/")

    newcomer = _client("192.0.2.20")
    assert newcomer.post(join_path).status_code == 302
    expected = {"actor": invitee.pk, "practice": practice, "target": target, "client": "192.0.2.20"}
    entry(Event.INVITATION_OPENED, **expected)
    assert post_you(newcomer).status_code == 302
    entry(Event.REGISTRATION_STEP_SAVED, **expected, data={"step": "you"})
    assert send_code(newcomer).status_code == 302
    entry(Event.CODE_SENT, **expected, data={"channel": "sms"})
    code = MAILBOX.code(PHONE_INBOX)
    newcomer.post("/register/verify/", {"code": wrong(code)})
    entry(Event.CODE_REJECTED, **expected)
    newcomer.post("/register/verify/", {"code": code})
    entry(Event.CODE_VERIFIED, **expected)
    assert accept_terms(newcomer).status_code == 302
    entry(Event.REGISTRATION_COMPLETED, **expected)

    # A doctor invited to another practice answers the practice and specialty steps too.
    other = onboarding.invite(
        inviter=doctor,
        email="dan.dds@elsewhere.test",
        role=RecipientRole.DOCTOR_IN_ANOTHER_PRACTICE,
    )
    colleague = _client("192.0.2.30")
    colleague.post(MAILBOX.link("dan.dds@elsewhere.test", "/join/"))
    assert post_practice(colleague).status_code == 302
    entry(
        Event.REGISTRATION_STEP_SAVED,
        actor=other.invitee_id,
        practice=practice,
        target=f"invitation:{other.pk}",
        client="192.0.2.30",
        data={"step": "practice"},
    )
    assert post_you(colleague).status_code == 302
    assert post_specialty(colleague).status_code == 302
    entry(Event.REGISTRATION_STEP_SAVED, client="192.0.2.30", data={"step": "specialty"})

    # Someone asks for a fresh link for the open invitation.
    _client("192.0.2.40").post("/register/link/", {"email": "dan.dds@elsewhere.test"})
    entry(
        Event.INVITATION_FRESH_LINK,
        practice=practice,
        target=f"invitation:{other.pk}",
        client="192.0.2.40",
    )
    assert_no_content_in_the_log(
        SUBJECT, BODY, code, join_path.strip("/").rsplit("/", 1)[-1], "Alex Newman"
    )


# --- messages -----------------------------------------------------------------------------------


def test_messages_sent_opened_downloaded_archived_deleted_and_expired_are_audited(
    doctor: User, staff: User, patient: User, own_files: Path
) -> None:
    practice = doctor.practice_id
    message = send_with_files(doctor, patient, files={FILE_NAME: b"\x89PNG fake image"})
    attachment = Attachment.objects.get(message=message)

    reader = _logged_in(patient, "198.51.100.50")
    assert reader.get(f"/m/{message.pk}/").status_code == 200
    entry(
        Event.MESSAGE_VIEWED,
        actor=patient.pk,
        practice=None,
        target=f"message:{message.pk}",
        client="198.51.100.50",
    )
    assert reader.get(f"/m/{message.pk}/a/{attachment.pk}/").status_code == 200
    entry(
        Event.ATTACHMENT_DOWNLOADED,
        actor=patient.pk,
        target=f"attachment:{attachment.pk}",
        client="198.51.100.50",
        data={"message": str(message.pk)},
    )
    reader.post(
        f"/m/{message.pk}/reply/",
        {"body": "Thank you, doctor", "client_token": str(uuid.uuid4())},
    )
    reply = Message.objects.get(in_reply_to=message)
    entry(
        Event.MESSAGE_REPLIED,
        actor=patient.pk,
        target=f"message:{reply.pk}",
        client="198.51.100.50",
        data={"in_reply_to": str(message.pk), "recipients": [doctor.pk], "all": False},
    )
    reader.post(f"/m/{message.pk}/archive/", {"archived": "1"})
    entry(Event.MESSAGE_ARCHIVED, actor=patient.pk, target=f"message:{message.pk}")
    reader.post(f"/m/{message.pk}/archive/", {"archived": "0"})
    entry(Event.MESSAGE_UNARCHIVED, actor=patient.pk, target=f"message:{message.pk}")
    reader.post(f"/m/{message.pk}/hide/")
    entry(Event.MESSAGE_HIDDEN, actor=patient.pk, client="198.51.100.50")

    sender = _logged_in(doctor, "198.51.100.60")
    sender.post(
        f"/m/{message.pk}/forward/",
        {
            "to": staff.email,
            "body": "FYI",
            "client_token": str(uuid.uuid4()),
        },
    )
    forwarded = entry(
        Event.MESSAGE_FORWARDED, actor=doctor.pk, practice=practice, client="198.51.100.60"
    )
    assert forwarded.data == {"recipients": [staff.pk], "original": str(message.pk)}
    expires_on = (timezone.now() + timedelta(days=3)).date().isoformat()
    sender.post(f"/m/{message.pk}/expiry/", {"expires_on": expires_on})
    entry(
        Event.MESSAGE_EXPIRY_CHANGED,
        actor=doctor.pk,
        practice=practice,
        target=f"message:{message.pk}",
        client="198.51.100.60",
    )
    sender.post(f"/m/{message.pk}/delete/")
    entry(
        Event.MESSAGE_DELETED,
        actor=doctor.pk,
        practice=practice,
        target=f"message:{message.pk}",
        client="198.51.100.60",
        data={"count": 2},
    )
    entry(
        Event.REPLY_DELETED_WITH_CONVERSATION,
        actor=doctor.pk,
        practice=practice,
        target=f"message:{reply.pk}",
        client="198.51.100.60",
        data={"conversation": str(message.pk)},
    )

    # The expiry job (no request): one entry per message, for the sender's practice.
    kept = send(doctor, patient, subject="Recall due")
    from_patient = messaging.reply(sender=patient, parent=kept, body="Booked")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert messaging.expire_due_messages() == 3
    expired = {
        e.target: (e.practice_id, e.actor_id, e.client_ip)
        for e in AuditEvent.objects.filter(event=Event.MESSAGE_EXPIRED.value)
    }
    forward_message = Message.objects.filter(pk=uuid.UUID(str(forwarded.target[8:]))).first()
    assert forward_message is None
    assert expired[f"message:{kept.pk}"] == (practice, None, None)
    assert expired[f"message:{from_patient.pk}"] == (None, None, None)
    assert f"message:{forwarded.target[8:]}" in expired
    entry(Event.MESSAGES_EXPIRED, data={"count": 3})
    assert_no_content_in_the_log(SUBJECT, BODY, FILE_NAME, "Thank you, doctor", "FYI", "Booked")


# --- the practice's user manager, plans --------------------------------------------------------


def test_role_settings_unlock_and_plan_changes_are_audited(
    doctor: User, staff: User, free_staff: User
) -> None:
    practice = doctor.practice_id
    manager = _logged_in(doctor, "192.0.2.77")
    manager.post("/practice/settings/", {"require_phone_verification": "false"})
    entry(
        Event.PHONE_VERIFICATION_POLICY,
        actor=doctor.pk,
        practice=practice,
        client="192.0.2.77",
        data={"required": False},
    )
    User.objects.filter(pk=staff.pk).update(locked_at=timezone.now(), failed_logins=5)
    manager.post(f"/practice/people/{staff.pk}/unlock/")
    entry(
        Event.USER_UNLOCKED,
        actor=doctor.pk,
        practice=practice,
        target=f"user:{staff.pk}",
        client="192.0.2.77",
    )

    buyer = _logged_in(free_staff, "192.0.2.78")
    buy(buyer, "monthly")
    subscription = Subscription.objects.get(member=free_staff)
    entry(
        Event.PURCHASE_STARTED,
        actor=free_staff.pk,
        practice=practice,
        target=f"plan:{subscription.pk}",
        client="192.0.2.78",
    )
    entry(Event.PLAN_ACTIVATED, practice=practice, target=f"plan:{subscription.pk}")
    buyer.post(f"/billing/plans/{subscription.pk}/card/")
    entry(
        Event.CARD_UPDATE_STARTED,
        actor=free_staff.pk,
        practice=practice,
        target=f"plan:{subscription.pk}",
        client="192.0.2.78",
    )
    buyer.post("/billing/invoices/email/")
    entry(Event.INVOICE_LIST_SENT, actor=free_staff.pk, practice=practice, client="192.0.2.78")
    buyer.post(f"/billing/plans/{subscription.pk}/cancel/")
    entry(
        Event.PLAN_CANCEL_REQUESTED,
        actor=free_staff.pk,
        practice=practice,
        target=f"plan:{subscription.pk}",
        client="192.0.2.78",
    )
    subscription.refresh_from_db()
    assert subscription.current_period_end is not None
    with time_machine.travel(subscription.current_period_end + timedelta(minutes=1), tick=False):
        billing.renew_due_plans()
    entry(Event.PLAN_ENDED, actor=None, practice=practice, target=f"plan:{subscription.pk}")

    manager.post(f"/practice/people/{staff.pk}/manager/")
    entry(
        Event.MANAGER_HANDED_OVER,
        actor=doctor.pk,
        practice=practice,
        target=f"user:{staff.pk}",
        client="192.0.2.77",
    )
    assert_no_content_in_the_log("4242")


# --- keys and operators ------------------------------------------------------------------------


def test_key_operations_are_audited(tmp_path: Path, doctor: User, patient: User) -> None:
    with file_keyring(tmp_path / "keyring"):
        send(doctor, patient)
        call_command("keys", "add", stdout=io.StringIO())
        entry(Event.KEY_ADDED, actor=None, practice=None, target="key:2", client=None)
        call_command("keys", "rewrap", stdout=io.StringIO())
        entry(Event.KEYS_REWRAPPED, target="key:2", data={"left_on_older": 0})
        call_command("keys", "retire", "1", stdout=io.StringIO())
        entry(Event.KEY_RETIRED, target="key:1")
    assert_no_content_in_the_log(SUBJECT, BODY)


def test_operator_actions_are_audited(staff: User) -> None:
    operator = account_services.create_operator(email="olga@securemail.test", full_name="Olga")
    entry(Event.OPERATOR_CREATED, actor=None, target=f"user:{operator.pk}")
    account_services.set_password(user=operator, password="a long passphrase for the console 7")
    # Operators use two-step login (issue 10).
    turn_on_app(operator)
    User.objects.filter(pk=staff.pk).update(locked_at=timezone.now(), failed_logins=5)

    console = _logged_in(operator, "203.0.113.9")
    console.post(
        "/console/accounts/user/",
        {"action": "unlock_accounts", "_selected_action": [str(staff.pk)], "confirmed": "yes"},
    )
    entry(
        Event.OPERATOR_UNLOCKED_ACCOUNT,
        actor=operator.pk,
        practice=staff.practice_id,
        target=f"user:{staff.pk}",
        client="203.0.113.9",
    )
    assert console.get(f"/console/accounts/user/{staff.pk}/change/").status_code == 200
    entry(
        Event.OPERATOR_VIEWED_RECORD,
        actor=operator.pk,
        target=f"user:{staff.pk}",
        client="203.0.113.9",
    )
    console.post("/console/logout/")
    entry(Event.LOGGED_OUT, actor=operator.pk, practice=None, client="203.0.113.9")
    assert_no_content_in_the_log()


# --- the vocabulary ----------------------------------------------------------------------------

# Every event, and the test that drives it and asserts its entry (here unless named).
_HERE = "securemail/audit/tests/test_coverage.py"
COVERED: dict[Event, str] = {
    Event.LOGIN_SUCCEEDED: _HERE,
    Event.LOGIN_FAILED: _HERE,
    Event.USER_LOCKED: _HERE,
    Event.PASSWORD_LINK_REQUESTED: _HERE,
    Event.PASSWORD_SET: _HERE,
    Event.PROFILE_UPDATED: _HERE,
    Event.PHONE_VERIFICATION_POLICY: _HERE,
    Event.INVITATION_CREATED: _HERE,
    Event.INVITATION_OPENED: _HERE,
    Event.INVITATION_FRESH_LINK: _HERE,
    Event.CODE_SENT: _HERE,
    Event.CODE_VERIFIED: _HERE,
    Event.REGISTRATION_COMPLETED: _HERE,
    Event.MESSAGE_SENT: _HERE,
    Event.MESSAGE_REPLIED: _HERE,
    Event.MESSAGE_FORWARDED: _HERE,
    Event.MESSAGE_VIEWED: _HERE,
    Event.MESSAGE_ARCHIVED: _HERE,
    Event.MESSAGE_UNARCHIVED: _HERE,
    Event.MESSAGE_HIDDEN: _HERE,
    Event.MESSAGE_DELETED: _HERE,
    Event.MESSAGE_EXPIRY_CHANGED: _HERE,
    Event.MESSAGES_EXPIRED: _HERE,
    Event.ATTACHMENT_DOWNLOADED: _HERE,
    Event.PURCHASE_STARTED: _HERE,
    Event.PLAN_ACTIVATED: _HERE,
    Event.PLAN_RENEWED: "securemail/billing/tests/test_renewals.py",
    Event.PLAN_PAYMENT_FAILED: "securemail/billing/tests/test_renewals.py",
    Event.PLAN_CANCEL_REQUESTED: _HERE,
    Event.PLAN_ENDED: _HERE,
    Event.CARD_UPDATE_STARTED: _HERE,
    Event.INVOICE_LIST_SENT: _HERE,
    Event.INVITATION_RESENT: "securemail/practices/tests/test_resend_invitation.py",
    Event.INVITEE_EMAIL_CORRECTED: "securemail/practices/tests/test_correct_email.py",
    Event.USER_UNLOCKED: _HERE,
    Event.MANAGER_HANDED_OVER: _HERE,
    Event.OPERATOR_CREATED: _HERE,
    Event.OPERATOR_UNLOCKED_ACCOUNT: _HERE,
    Event.OPERATOR_RESENT_INVITATION: "securemail/console/tests/test_console_actions.py",
    Event.OPERATOR_VIEWED_RECORD: _HERE,
    Event.LOGGED_OUT: _HERE,
    Event.REGISTRATION_STEP_SAVED: _HERE,
    Event.CODE_REJECTED: _HERE,
    Event.MESSAGE_EXPIRED: _HERE,
    Event.REPLY_DELETED_WITH_CONVERSATION: _HERE,
    Event.KEY_ADDED: _HERE,
    Event.KEYS_REWRAPPED: _HERE,
    Event.KEY_RETIRED: _HERE,
    Event.AUDIT_LOG_EXPORTED: "securemail/practices/tests/test_audit_export.py",
    Event.DISCLOSURES_VIEWED: "securemail/practices/tests/test_disclosures.py",
    Event.NOTIFICATION_NOT_DELIVERED: "securemail/notifications/tests/test_given_up.py",
    Event.NOTIFICATION_BOUNCED: "securemail/notifications/tests/test_given_up.py",
    Event.INVITATION_RESENT_BY_INVITER: "securemail/practices/tests/test_undelivered_invitation.py",
    Event.INVITEE_EMAIL_CORRECTED_BY_INVITER: (
        "securemail/practices/tests/test_undelivered_invitation.py"
    ),
    # two-step login, passkeys and re-authentication (issue 10)
    Event.LOGIN_PASSWORD_ACCEPTED: "securemail/accounts/tests/test_second_step.py",
    Event.SECOND_STEP_PASSED: "securemail/accounts/tests/test_second_step.py",
    Event.SECOND_STEP_FAILED: "securemail/accounts/tests/test_second_step.py",
    Event.PASSKEY_SIGN_IN: "securemail/accounts/tests/test_passkeys.py",
    Event.PASSKEY_REFUSED: "securemail/accounts/tests/test_passkeys.py",
    Event.PASSKEY_CLONE_SUSPECTED: "securemail/accounts/tests/test_passkeys.py",
    Event.REAUTHENTICATED: "securemail/accounts/tests/test_reauthentication.py",
    Event.REAUTHENTICATION_FAILED: "securemail/accounts/tests/test_reauthentication.py",
    Event.TWO_STEP_ON: "securemail/accounts/tests/test_two_step_settings.py",
    Event.TWO_STEP_OFF: "securemail/accounts/tests/test_two_step_settings.py",
    Event.TWO_STEP_METHOD_ADDED: "securemail/accounts/tests/test_two_step_settings.py",
    Event.TWO_STEP_METHOD_REMOVED: "securemail/accounts/tests/test_two_step_settings.py",
    Event.TWO_STEP_METHOD_CHANGED: "securemail/accounts/tests/test_two_step_settings.py",
    Event.PASSKEY_ADDED: "securemail/accounts/tests/test_passkeys.py",
    Event.PASSKEY_REMOVED: "securemail/accounts/tests/test_passkeys.py",
    Event.RECOVERY_CODES_REGENERATED: "securemail/accounts/tests/test_two_step_settings.py",
    Event.RECOVERY_CODE_USED: "securemail/accounts/tests/test_second_step.py",
    Event.TEXT_CODE_SENT: "securemail/accounts/tests/test_second_step.py",
    Event.PASSWORD_CHANGED: "securemail/accounts/tests/test_account_changes.py",
    Event.EMAIL_CHANGE_REQUESTED: "securemail/accounts/tests/test_account_changes.py",
    Event.EMAIL_CHANGED: "securemail/accounts/tests/test_account_changes.py",
    Event.PHONE_CHANGED: "securemail/accounts/tests/test_account_changes.py",
    Event.TWO_STEP_POLICY: "securemail/practices/tests/test_two_step_policy.py",
    Event.CONTACT_ADDED: "securemail/contacts/tests/test_contacts.py",
    Event.CONTACT_CHANGED: "securemail/contacts/tests/test_contacts.py",
    Event.CONTACT_DELETED: "securemail/contacts/tests/test_contacts.py",
    Event.CONTACT_RESTORED: "securemail/contacts/tests/test_contacts.py",
    Event.CONTACTS_PURGED: "securemail/contacts/tests/test_contacts.py",
    Event.INVITATION_REMINDED: "securemail/onboarding/tests/test_reminders.py",
    Event.INVITATION_REMINDERS_STOPPED: "securemail/practices/tests/test_stop_reminders.py",
    Event.CONVERSATION_EXPIRY_WARNED: "securemail/messaging/tests/test_expiry_warnings.py",
    Event.CONVERSATION_EXPORTED: "securemail/messaging/tests/test_pdf_export.py",
}


def test_every_event_of_the_vocabulary_is_driven_by_a_test() -> None:
    root = Path(__file__).resolve().parents[3]
    assert set(COVERED) == set(Event), "add the new event to COVERED, with the test that drives it"
    for event, path in COVERED.items():
        text = (root / path).read_text()
        assert event.value in text or f"Event.{event.name}" in text, (event, path)
