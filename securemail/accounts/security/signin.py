"""Proving the second thing: the second step of a login, a passkey sign-in without a
password, and re-authentication before a sensitive action.

Every try is rate limited ("second_step", "passkey_sign_in", "reauthenticate"); a wrong
code, a wrong password or a refused passkey counts towards the same lock as wrong passwords
(accounts.services.record_failed_login). Nothing here touches the session: the views do,
through security.session, once these return.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from securemail.accounts import access
from securemail.accounts.emails import queue_security_notice
from securemail.accounts.models import (
    AccountCode,
    AuthenticatorApp,
    Passkey,
    TwoStep,
    TwoStepMethod,
    User,
)
from securemail.accounts.security import codes, passkeys, totp
from securemail.accounts.security.setup import app_secret
from securemail.accounts.services import (
    TooManyRequests,
    may_log_in,
    record_failed_login,
    record_successful_login,
)
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import ratelimit
from securemail.core.phones import masked_phone

RECOVERY = "recovery"


class SecondStepRefused(Exception):
    """The code, passkey or password did not prove it; `str(error)` says what to do.
    `locked`: that try locked the account."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


LOCKED_MESSAGE = (
    "Your account is locked after too many wrong tries. Use “Forgot your password?” to unlock it."
)


def _spend(scope: str, *keys: str) -> None:
    try:
        ratelimit.spend(scope, *keys)
    except ratelimit.RateLimited:
        raise TooManyRequests("Too many tries. Wait a few minutes and try again.") from None


def _refused(
    user: User,
    *,
    event: Event,
    message: str,
    client_ip: str,
    known_browser: bool = False,
    **data: Any,
) -> SecondStepRefused:
    """Count one wrong try towards the lock (from a browser known to the account, towards
    nothing but the second step's own limit) and audit it; the error to raise."""
    audit.record(
        event,
        actor_id=user.pk,
        practice_id=user.practice_id,
        target=f"user:{user.pk}",
        data=data or None,
        client_ip=client_ip,
    )
    record_failed_login(user=user, client_ip=client_ip, known_browser=known_browser)
    user.refresh_from_db(fields=["locked_at", "failed_logins"])
    if user.locked_at is not None and not known_browser:
        return SecondStepRefused(LOCKED_MESSAGE, locked=True)
    return SecondStepRefused(message)


def _check_app(user: User, code: str) -> bool:
    """A code of the person's app, newer than the last one accepted (a code works once)."""
    with transaction.atomic():
        app = (
            AuthenticatorApp.objects.select_for_update()
            .filter(user_id=user.pk, confirmed_at__isnull=False)
            .first()
        )
        if app is None:
            return False
        step = totp.matching_step(app_secret(app), code, after_step=app.last_step)
        if step is None:
            return False
        app.last_step = step
        app.save(update_fields=["last_step"])
    return True


def _check_code(user: User, method: str, code: str) -> bool:
    code = code.strip()
    if method == RECOVERY:
        if not codes.use_recovery_code(user, code):
            return False
        left = access.recovery_codes_left(user)
        audit.record(
            Event.RECOVERY_CODE_USED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"user:{user.pk}",
            data={"left": left},
        )
        queue_security_notice(
            user=user,
            headline="A recovery code was used to confirm it's you",
            detail=f"It no longer works. {left} recovery code{'s' if left != 1 else ''} left: "
            "make new ones in your security settings when you run low.",
        )
        return True
    digits = "".join(code.split())
    if not (len(digits) == 6 and digits.isdigit()):
        return False
    if method == TwoStepMethod.APP:
        return _check_app(user, digits)
    if method == TwoStepMethod.TEXT:
        return codes.check_text_code(
            user=user, purpose=AccountCode.Purpose.SIGN_IN, typed=digits, destination=user.phone
        )
    return False


def _wrong_code_message(method: str) -> str:
    if method == RECOVERY:
        return "That recovery code is not right, or has been used already."
    if method == TwoStepMethod.TEXT:
        return "That code is not right, or has expired. Send a new code."
    return "That code is not right. Type the 6 digits your app shows now."


def check_second_step(
    *, user: User, method: str, code: str, client_ip: str, known_browser: bool = False
) -> None:
    """The second step of `user`'s login with a code (the app's, a texted one, or a
    recovery code). Returns once it is proved and the login recorded as succeeded (the
    view then logs the session in); SecondStepRefused or TooManyRequests otherwise."""
    _spend("second_step", f"user:{user.pk}", f"ip:{client_ip}")
    if not may_log_in(user, past_the_lock=known_browser):
        raise SecondStepRefused(LOCKED_MESSAGE, locked=True)
    if method != RECOVERY and method not in access.second_step_methods(user):
        raise SecondStepRefused("Choose a way to confirm it's you.")
    with transaction.atomic():
        proved = _check_code(user, method, code)
        if proved:
            audit.record(
                Event.SECOND_STEP_PASSED,
                actor_id=user.pk,
                practice_id=user.practice_id,
                data={"method": method},
                client_ip=client_ip,
            )
            record_successful_login(user=user, client_ip=client_ip, known_browser=known_browser)
    if not proved:
        raise _refused(
            user,
            event=Event.SECOND_STEP_FAILED,
            message=_wrong_code_message(method),
            client_ip=client_ip,
            known_browser=known_browser,
            method=method,
        )


def send_sign_in_code(*, user: User) -> str:
    """Text a code for the second step to the person's verified cell phone (if they turned
    text-message codes on). Returns the masked number it went to."""
    if TwoStepMethod.TEXT not in access.second_step_methods(user):
        raise SecondStepRefused("Text-message codes are not set up for this account.")
    with transaction.atomic():
        try:
            codes.send_text_code(
                user=user, purpose=AccountCode.Purpose.SIGN_IN, destination=user.phone
            )
        except codes.CodeSendLimited as error:
            raise TooManyRequests(str(error)) from None
        audit.record(
            Event.TEXT_CODE_SENT,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"user:{user.pk}",
            data={"purpose": AccountCode.Purpose.SIGN_IN},
        )
    return masked_phone(user.phone)


# --- passkeys -----------------------------------------------------------------------------


def passkey_options_for(user: User | None) -> tuple[dict[str, Any], bytes]:
    """The options for navigator.credentials.get(): `user`'s passkeys (a second step or a
    re-authentication), or any of this site's (sign-in without a password)."""
    if user is None:
        return passkeys.authentication_options(allowed=None)
    allowed = [(bytes(p.credential_id), list(p.transports)) for p in access.passkeys_of(user)]
    return passkeys.authentication_options(allowed=allowed)


@dataclass(frozen=True)
class PasskeyProof:
    user: User
    passkey: Passkey


class PasskeyRefused(Exception):
    """`str(error)` says what the person can do; `locked`: that try locked the account."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


NOT_REGISTERED = (
    "That passkey isn't registered for a SecureMail account. Log in with your password."
)
NOT_THIS_ACCOUNTS = "That passkey isn't one of this account's."


def _passkey_refusal(
    user: User, *, counted: bool, reason: str, message: str, client_ip: str
) -> PasskeyRefused:
    """Audit a refused passkey answer for `user`. `counted` (a second step or a
    re-authentication, where the account is known already): it also counts towards the
    lock. A sign-in without a password doesn't count (whoever sent it proved nothing, not
    even a password, and must not be able to lock someone out)."""
    if counted:
        refused = _refused(
            user,
            event=Event.PASSKEY_REFUSED,
            message=message,
            client_ip=client_ip,
            reason=reason,
        )
        return PasskeyRefused(str(refused), locked=refused.locked)
    audit.record(
        Event.PASSKEY_REFUSED,
        actor_id=user.pk,
        practice_id=user.practice_id,
        target=f"user:{user.pk}",
        data={"reason": reason},
        client_ip=client_ip,
    )
    return PasskeyRefused(message)


def _checked_passkey(
    *, response: object, challenge: bytes, for_user: User | None, client_ip: str
) -> PasskeyProof:
    """The passkey a response proves, once its signature, challenge, relying party and
    origin are good, it belongs to `for_user` (if given), and its counter moved forward.
    PasskeyRefused otherwise (audited; the counter going back also emails the owner)."""
    counted = for_user is not None
    try:
        claimed = passkeys.read_assertion(response)
    except passkeys.PasskeyInvalid:
        raise PasskeyRefused("That passkey answer could not be read. Try again.") from None
    passkey = (
        Passkey.objects.select_related("user", "user__practice")
        .filter(credential_key=passkeys.credential_key(claimed.credential_id))
        .first()
    )
    if passkey is None:
        if for_user is not None:
            raise _passkey_refusal(
                for_user,
                counted=True,
                reason="unknown",
                message=NOT_THIS_ACCOUNTS,
                client_ip=client_ip,
            )
        raise PasskeyRefused(NOT_REGISTERED)
    owner = passkey.user
    if for_user is not None and owner.pk != for_user.pk:
        # A passkey of another account, answering for this one.
        raise _passkey_refusal(
            for_user,
            counted=True,
            reason="other_account",
            message=NOT_THIS_ACCOUNTS,
            client_ip=client_ip,
        )
    handle = (
        TwoStep.objects.filter(user_id=owner.pk)
        .values_list("passkey_user_handle", flat=True)
        .first()
    )
    if claimed.user_handle is not None and (handle is None or bytes(handle) != claimed.user_handle):
        raise _passkey_refusal(
            owner,
            counted=counted,
            reason="user_handle",
            message="That passkey answer is for another account.",
            client_ip=client_ip,
        )
    assert isinstance(response, dict)
    try:
        new_count = passkeys.verify_assertion(
            response=response, challenge=challenge, public_key=bytes(passkey.public_key)
        )
    except passkeys.PasskeyInvalid:
        raise _passkey_refusal(
            owner,
            counted=counted,
            reason="invalid",
            message="That passkey answer could not be checked. Try again.",
            client_ip=client_ip,
        ) from None
    with transaction.atomic():
        current = Passkey.objects.select_for_update().get(pk=passkey.pk)
        cloned = passkeys.counter_went_back(stored=current.sign_count, new=new_count)
        if cloned:
            audit.record(
                Event.PASSKEY_CLONE_SUSPECTED,
                actor_id=owner.pk,
                practice_id=owner.practice_id,
                target=f"passkey:{passkey.pk}",
                data={"stored": current.sign_count, "sent": new_count},
                client_ip=client_ip,
            )
            queue_security_notice(
                user=owner,
                headline="A copy of one of your passkeys may be in use",
                detail=f"Your passkey “{passkey.name}” answered with a counter that went "
                "back, as a copied authenticator does: it was refused. Remove that passkey "
                "in your security settings and add it again.",
            )
        else:
            current.sign_count = new_count
            current.last_used_at = timezone.now()
            current.save(update_fields=["sign_count", "last_used_at"])
    if cloned:
        raise _passkey_refusal(
            owner,
            counted=counted,
            reason="counter",
            message="That passkey was refused: it looks like a copy. Use another way.",
            client_ip=client_ip,
        )
    return PasskeyProof(user=owner, passkey=passkey)


def sign_in_with_passkey(*, response: object, challenge: bytes, client_ip: str) -> User:
    """A login with a passkey alone (it proves two things: the device and its PIN or
    fingerprint). Returns the account, the login recorded; PasskeyRefused otherwise."""
    _spend("passkey_sign_in", f"ip:{client_ip}")
    proof = _checked_passkey(
        response=response, challenge=challenge, for_user=None, client_ip=client_ip
    )
    user = proof.user
    if not may_log_in(user) or not access.second_step_needed(user):
        raise PasskeyRefused(
            "That account can't log in with a passkey now. Log in with your password."
        )
    with transaction.atomic():
        audit.record(
            Event.PASSKEY_SIGN_IN,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"passkey:{proof.passkey.pk}",
            client_ip=client_ip,
        )
        record_successful_login(user=user, client_ip=client_ip)
    return user


def second_step_with_passkey(
    *, user: User, response: object, challenge: bytes, client_ip: str
) -> None:
    """The second step of `user`'s login with one of their passkeys."""
    _spend("second_step", f"user:{user.pk}", f"ip:{client_ip}")
    if not may_log_in(user):
        raise PasskeyRefused(LOCKED_MESSAGE)
    _checked_passkey(response=response, challenge=challenge, for_user=user, client_ip=client_ip)
    with transaction.atomic():
        audit.record(
            Event.SECOND_STEP_PASSED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            data={"method": TwoStepMethod.PASSKEY},
            client_ip=client_ip,
        )
        record_successful_login(user=user, client_ip=client_ip)


# --- re-authentication ----------------------------------------------------------------------


def _reauthenticated(user: User, method: str, client_ip: str) -> None:
    with transaction.atomic():
        audit.record(
            Event.REAUTHENTICATED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            data={"method": method},
            client_ip=client_ip,
        )
        if user.failed_logins:
            User.objects.filter(pk=user.pk).update(failed_logins=0)


def reauthenticate(
    *, user: User, client_ip: str, password: str = "", method: str = "", code: str = ""
) -> None:
    """A logged-in person proves it's them again before a sensitive action: their second
    step when two-step login is on (a code, or a passkey through
    reauthenticate_with_passkey), else their password. SecondStepRefused (with `locked`
    when that try locked the account) or TooManyRequests."""
    _spend("reauthenticate", f"user:{user.pk}")
    if access.second_step_needed(user):
        if method != RECOVERY and method not in access.second_step_methods(user):
            raise SecondStepRefused("Choose a way to confirm it's you.")
        with transaction.atomic():
            proved = _check_code(user, method, code)
        if not proved:
            raise _refused(
                user,
                event=Event.REAUTHENTICATION_FAILED,
                message=_wrong_code_message(method),
                client_ip=client_ip,
                method=method,
            )
        _reauthenticated(user, method, client_ip)
        return
    if not password or not user.check_password(password):
        raise _refused(
            user,
            event=Event.REAUTHENTICATION_FAILED,
            message="That password is not right.",
            client_ip=client_ip,
            method="password",
        )
    _reauthenticated(user, "password", client_ip)


def reauthenticate_with_passkey(
    *, user: User, response: object, challenge: bytes, client_ip: str
) -> None:
    _spend("reauthenticate", f"user:{user.pk}")
    _checked_passkey(response=response, challenge=challenge, for_user=user, client_ip=client_ip)
    _reauthenticated(user, TwoStepMethod.PASSKEY, client_ip)
