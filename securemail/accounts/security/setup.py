"""Turning two-step login on and off, and its methods: the authenticator app, codes by
text message, passkeys, recovery codes and the chosen method.

Each function is called for the person themselves (the view has made sure their login is
recent: security.reauth), runs in one transaction, audits, and emails them a notice
(no codes in it). SetupError carries the message to show.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from securemail.accounts import access
from securemail.accounts.emails import queue_security_notice
from securemail.accounts.models import (
    AccountCode,
    AuthenticatorApp,
    Passkey,
    RecoveryCode,
    TwoStep,
    TwoStepMethod,
    User,
)
from securemail.accounts.security import codes, passkeys, totp
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import crypto
from securemail.core.phones import code_phone_refusal

ISSUER = "SecureMail"


class SetupError(Exception):
    """Something the person can act on; `str(error)` says what."""


def _audit(user: User, event: Event, **data: Any) -> None:
    audit.record(
        event,
        actor_id=user.pk,
        practice_id=user.practice_id,
        target=f"user:{user.pk}",
        data=data or None,
    )


def two_step_for_update(user: User) -> TwoStep:
    """The person's two-step row, locked (made, with a random passkey user handle, the first
    time)."""
    TwoStep.objects.get_or_create(
        user_id=user.pk, defaults={"passkey_user_handle": secrets.token_bytes(32)}
    )
    return TwoStep.objects.select_for_update().get(user_id=user.pk)


def _method_added(user: User, two_step: TwoStep, method: str, *, headline: str) -> list[str]:
    """After a method is confirmed: turn two-step login on if it was off (new recovery codes,
    returned to be shown once), else just say a method was added."""
    if two_step.is_on:
        _audit(user, Event.TWO_STEP_METHOD_ADDED, method=method)
        queue_security_notice(user=user, headline=headline)
        return []
    two_step.method = method
    two_step.enabled_at = timezone.now()
    two_step.save(update_fields=["method", "enabled_at"])
    recovery = codes.replace_recovery_codes(user)
    _audit(user, Event.TWO_STEP_ON, method=method)
    queue_security_notice(
        user=user,
        headline="Two-step login was turned on",
        detail=f"{headline}. Keep your recovery codes somewhere safe.",
    )
    return recovery


def _method_removed(user: User, two_step: TwoStep, method: str, *, headline: str) -> None:
    """After a method is removed: another becomes the chosen one; with none left, two-step
    login is off (refused beforehand when it is required: _refuse_last_method)."""
    remaining = access.second_step_methods(user)
    _audit(user, Event.TWO_STEP_METHOD_REMOVED, method=method)
    if not remaining:
        _switch_off(user, two_step)
        return
    if two_step.method == method:
        two_step.method = remaining[0]
        two_step.save(update_fields=["method"])
    queue_security_notice(user=user, headline=headline)


def _refuse_last_method(user: User, method: str) -> None:
    if access.second_step_methods(user) == [method] and access.two_step_required(user):
        raise SetupError(
            "Two-step login is required for your account: set up another method before "
            "removing this one."
        )


# --- the authenticator app ------------------------------------------------------------------


@dataclass(frozen=True)
class AppSetup:
    secret: str
    qr_data_uri: str

    @property
    def grouped_secret(self) -> str:
        return totp.grouped(self.secret)


def _seal_secret(app: AuthenticatorApp, secret: str) -> None:
    data_key = crypto.new_data_key()
    app.wrapped_key = crypto.wrap_data_key(data_key, context=app.key_context())
    app.key_version = crypto.wrapped_key_version(app.wrapped_key)
    app.secret_sealed = crypto.seal(data_key, secret, context=app.sealed_context("secret"))


def app_secret(app: AuthenticatorApp) -> str:
    """The app's TOTP secret (crypto.DecryptionError if its key is gone or it was moved)."""
    data_key = crypto.unwrap_data_key(bytes(app.wrapped_key), context=app.key_context())
    return crypto.open_sealed(
        data_key, bytes(app.secret_sealed), context=app.sealed_context("secret")
    )


def start_app(*, user: User) -> AppSetup:
    """The secret to scan (a QR code) or type into an authenticator app, kept unconfirmed
    until a first code comes back (the same one on a reload). SetupError when an app is
    already set up (remove it first)."""
    with transaction.atomic():
        app = AuthenticatorApp.objects.select_for_update().filter(user_id=user.pk).first()
        if app is not None and app.confirmed_at is not None:
            raise SetupError("An authenticator app is already set up. Remove it to use another.")
        if app is None:
            secret = totp.new_secret()
            # The row's id is part of the secret's encryption context: save it first.
            app = AuthenticatorApp.objects.create(
                user_id=user.pk,
                wrapped_key=b"",
                key_version=0,
                secret_sealed=b"",
                created_at=timezone.now(),
            )
            _seal_secret(app, secret)
            app.save(update_fields=["wrapped_key", "key_version", "secret_sealed"])
        else:
            secret = app_secret(app)
    uri = totp.provisioning_uri(secret=secret, account=user.email, issuer=ISSUER)
    return AppSetup(secret=secret, qr_data_uri=totp.qr_svg_data_uri(uri))


def confirm_app(*, user: User, code: str) -> list[str]:
    """The first code from the app: the app is set up (and two-step login on, if it was off:
    the new recovery codes are returned, to show once). SetupError for a wrong code."""
    with transaction.atomic():
        two_step = two_step_for_update(user)
        app = AuthenticatorApp.objects.select_for_update().filter(user_id=user.pk).first()
        if app is None or app.confirmed_at is not None:
            raise SetupError("Start again: scan the new QR code with your app.")
        step = totp.matching_step(app_secret(app), "".join(code.split()), after_step=None)
        if step is None:
            raise SetupError(
                "That code is not right. Type the 6 digits your app shows now (check that "
                "your phone's clock is set automatically)."
            )
        app.confirmed_at = timezone.now()
        app.last_step = step
        app.save(update_fields=["confirmed_at", "last_step"])
        return _method_added(
            user, two_step, TwoStepMethod.APP, headline="An authenticator app was set up"
        )


def remove_app(*, user: User) -> None:
    with transaction.atomic():
        two_step = two_step_for_update(user)
        if access.confirmed_app(user) is None:
            AuthenticatorApp.objects.filter(user_id=user.pk).delete()
            return
        _refuse_last_method(user, TwoStepMethod.APP)
        AuthenticatorApp.objects.filter(user_id=user.pk).delete()
        _method_removed(
            user, two_step, TwoStepMethod.APP, headline="The authenticator app was removed"
        )


# --- codes by text message ------------------------------------------------------------------


def _text_phone(user: User) -> str:
    if not user.phone or user.phone_verified_at is None:
        raise SetupError("Verify a cell phone first: codes go only to a verified number.")
    if user.phone_type != User.PhoneType.CELL:
        raise SetupError("A landline can't receive text messages: use an app or a passkey.")
    refusal = code_phone_refusal(user.phone)
    if refusal:
        raise SetupError(refusal)
    return user.phone


def send_text_setup_code(*, user: User) -> None:
    """A first code to the verified cell phone, to turn text-message codes on."""
    phone = _text_phone(user)
    with transaction.atomic():
        try:
            codes.send_text_code(
                user=user, purpose=AccountCode.Purpose.TURN_ON_TEXT, destination=phone
            )
        except codes.CodeSendLimited as error:
            raise SetupError(str(error)) from None
        _audit(user, Event.TEXT_CODE_SENT, purpose=AccountCode.Purpose.TURN_ON_TEXT)


def confirm_text(*, user: User, code: str) -> list[str]:
    phone = _text_phone(user)
    with transaction.atomic():
        two_step = two_step_for_update(user)
        if not codes.check_text_code(
            user=user, purpose=AccountCode.Purpose.TURN_ON_TEXT, typed=code, destination=phone
        ):
            raise SetupError("That code is not right, or has expired. Send a new code.")
        two_step.text_enabled = True
        two_step.save(update_fields=["text_enabled"])
        return _method_added(
            user, two_step, TwoStepMethod.TEXT, headline="Codes by text message were turned on"
        )


def turn_off_text(*, user: User) -> None:
    with transaction.atomic():
        two_step = two_step_for_update(user)
        if not two_step.text_enabled:
            return
        _refuse_last_method(user, TwoStepMethod.TEXT)
        two_step.text_enabled = False
        two_step.save(update_fields=["text_enabled"])
        _method_removed(
            user, two_step, TwoStepMethod.TEXT, headline="Codes by text message were turned off"
        )


# --- passkeys -----------------------------------------------------------------------------


def passkey_registration(*, user: User) -> tuple[dict[str, Any], bytes]:
    """The options for the browser to make a new passkey, and the challenge to keep."""
    with transaction.atomic():
        two_step = two_step_for_update(user)
    existing = [(bytes(p.credential_id), list(p.transports)) for p in access.passkeys_of(user)]
    return passkeys.registration_options(
        user_handle=bytes(two_step.passkey_user_handle),
        user_name=user.email,
        display_name=user.full_name,
        existing=existing,
    )


def add_passkey(
    *, user: User, response: dict[str, Any], challenge: bytes, name: str
) -> tuple[Passkey, list[str]]:
    """Store the passkey the browser made (checked against our challenge, relying party and
    origin). Returns it, and the recovery codes when this turned two-step login on.
    SetupError for a response that doesn't verify or a passkey already registered."""
    try:
        made = passkeys.verify_registration(response=response, challenge=challenge)
    except passkeys.PasskeyInvalid:
        raise SetupError("That passkey could not be checked. Try again.") from None
    key = passkeys.credential_key(made.credential_id)
    with transaction.atomic():
        two_step = two_step_for_update(user)
        if Passkey.objects.filter(credential_key=key).exists():
            raise SetupError("That passkey is already registered.")
        count = Passkey.objects.filter(user_id=user.pk).count()
        passkey = Passkey.objects.create(
            user_id=user.pk,
            name=" ".join(name.split())[:60] or f"Passkey {count + 1}",
            credential_id=made.credential_id,
            credential_key=key,
            public_key=made.public_key,
            sign_count=made.sign_count,
            transports=made.transports,
            created_at=timezone.now(),
        )
        audit.record(
            Event.PASSKEY_ADDED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"passkey:{passkey.pk}",
        )
        recovery = _method_added(
            user, two_step, TwoStepMethod.PASSKEY, headline="A new passkey was added"
        )
    return passkey, recovery


def remove_passkey(*, user: User, passkey_id: int) -> None:
    """Remove one of the person's passkeys (Http404 for anyone else's)."""
    with transaction.atomic():
        two_step = two_step_for_update(user)
        passkey = Passkey.objects.filter(user_id=user.pk, pk=passkey_id).first()
        if passkey is None:
            raise Http404
        last = Passkey.objects.filter(user_id=user.pk).count() == 1
        if last:
            _refuse_last_method(user, TwoStepMethod.PASSKEY)
        passkey.delete()
        audit.record(
            Event.PASSKEY_REMOVED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"passkey:{passkey_id}",
        )
        if last:
            _method_removed(user, two_step, TwoStepMethod.PASSKEY, headline="A passkey was removed")
        else:
            queue_security_notice(user=user, headline="A passkey was removed")


# --- the chosen method, recovery codes, off ---------------------------------------------


def choose_method(*, user: User, method: str) -> None:
    """The method the second step asks first (one the person has set up)."""
    with transaction.atomic():
        two_step = two_step_for_update(user)
        if method not in access.second_step_methods(user):
            raise SetupError("Set that method up first.")
        if two_step.method == method:
            return
        two_step.method = method
        two_step.save(update_fields=["method"])
        _audit(user, Event.TWO_STEP_METHOD_CHANGED, method=method)
        label = TwoStepMethod(method).label.lower()
        queue_security_notice(user=user, headline=f"Your second step at login is now: {label}")


def regenerate_recovery_codes(*, user: User) -> list[str]:
    """New recovery codes (the old ones stop working), returned to be shown once."""
    with transaction.atomic():
        two_step = two_step_for_update(user)
        if not two_step.is_on:
            raise SetupError("Turn two-step login on first.")
        recovery = codes.replace_recovery_codes(user)
        _audit(user, Event.RECOVERY_CODES_REGENERATED)
        queue_security_notice(
            user=user,
            headline="New recovery codes were made",
            detail="The recovery codes you had before no longer work.",
        )
    return recovery


def _switch_off(user: User, two_step: TwoStep) -> None:
    AuthenticatorApp.objects.filter(user_id=user.pk).delete()
    Passkey.objects.filter(user_id=user.pk).delete()
    RecoveryCode.objects.filter(user_id=user.pk).delete()
    two_step.method = ""
    two_step.text_enabled = False
    two_step.enabled_at = None
    two_step.save(update_fields=["method", "text_enabled", "enabled_at"])
    _audit(user, Event.TWO_STEP_OFF)
    queue_security_notice(
        user=user,
        headline="Two-step login was turned off",
        detail="Your password alone now opens your account. Your passkeys and recovery "
        "codes were removed.",
    )


def turn_off(*, user: User) -> None:
    """Two-step login off: the app, passkeys and recovery codes are removed. SetupError when
    it is required for this account (an operator, or the practice requires it)."""
    if access.two_step_required(user):
        raise SetupError("Two-step login is required for your account: it can't be turned off.")
    with transaction.atomic():
        two_step = two_step_for_update(user)
        if not two_step.is_on:
            return
        _switch_off(user, two_step)
