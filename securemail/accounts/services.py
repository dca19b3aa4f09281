"""The only writers of people and their accounts: logging in, passwords, profiles.

Rate limits are spent here (core.ratelimit.spend); views pass the client's address in.
"""

from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import identify_hasher, make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from securemail.accounts import devices
from securemail.accounts.access import (
    is_operator,
    second_step_needed,
    user_of_expired_set_password_link,
)
from securemail.accounts.emails import queue_set_password_email, set_password_url
from securemail.accounts.models import PasswordLink, User, normalize_email
from securemail.accounts.notify import text_choice_refusal
from securemail.accounts.validators import validate_new_password
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import ratelimit, tokens
from securemail.core.hashers import verify_nobodys_password
from securemail.core.limits import limits


class AccountError(Exception):
    """Something the person can act on; `str(error)` says what."""


class LoginRefused(AccountError):
    pass


class TooManyRequests(AccountError):
    """A rate limit refused it (the page answers 429)."""


class NotAnOperator(AccountError):
    """An operator's action asked for by someone who isn't one (the console answers 404)."""


class PasswordLinkInvalid(AccountError):
    """The set-password link no longer works: expired, replaced by a newer one, or never
    ours (the "no longer valid" page)."""


class PasswordLinkUsed(PasswordLinkInvalid):
    """The set-password link has been used already (a second tab, a double click, or
    someone else holding the link): the password it set stays."""


def log_in(*, email: str, password: str, client_ip: str, device: str = "") -> User:
    """Check a login from the login page. Returns the user, or raises LoginRefused (the
    same message whatever was wrong) or TooManyRequests. Audits both outcomes.

    Only failed logins are charged, so an office behind one address never waits because
    its people logged in. From a browser that never logged in to the account: per client
    address and per account address, and wrong passwords count towards the account's lock.
    `device` is the browser's device cookie (accounts.devices): from a browser that logged
    in to this account before, wrong passwords count against that browser alone (its own
    allowance), and the right password opens the account even while it is locked.

    Every failed login costs the same: exactly one password hash verification of the
    configured hasher, whether the address is unknown, invited, not registered to the end,
    locked, inactive, or the password is wrong.

    For an account with two-step login on (access.second_step_needed), the returned user
    is not logged in yet: the caller asks the second step (accounts.security.session), and
    the login is recorded (and earlier wrong tries forgiven) only after it."""
    email = normalize_email(email)
    user = User.objects.filter(email=email).first() if email else None
    known = devices.known_browser(device, user) if device and user is not None else None
    if known is not None:
        charged = [("login_failed_browser", f"browser:{known.user_id}:{known.browser_id}")]
    else:
        charged = [
            ("login_failed_address", f"ip:{ratelimit.address_key(client_ip)}"),
            ("login_failed_account", f"email:{email}"),
        ]
    try:
        for scope, key in charged:
            ratelimit.check(scope, key)
    except ratelimit.RateLimited as limited:
        raise TooManyRequests(_too_many(limited)) from None
    opened = _check_password(
        user=user, password=password, client_ip=client_ip, known_browser=known is not None
    )
    if opened is None:
        for scope, key in charged:
            # This failure may be the one that reaches the limit: the next one waits.
            with suppress(ratelimit.RateLimited):
                ratelimit.spend(scope, key)
        raise LoginRefused(
            "That email address and password don't match an active account. After "
            f"{limits().max_failed_logins} wrong passwords an account is locked: use "
            "“Forgot your password?” to unlock it."
        )
    return opened


def _too_many(limited: ratelimit.RateLimited) -> str:
    minutes = max(1, -(-limited.retry_after // 60))
    wait = f"Wait {minutes} minute{'s' if minutes != 1 else ''} and try again"
    if limited.scope == "login_failed_browser":
        return (
            f"Too many wrong passwords from this browser. {wait}, or use "
            "“Forgot your password?” to set a new one."
        )
    return f"Too many login attempts. {wait}."


def is_known_browser(*, user: User, device: str) -> bool:
    """Whether the browser with this device cookie logged in to `user` before (the lock
    doesn't apply to it, and its wrong tries count against it alone)."""
    return bool(device) and devices.known_browser(device, user) is not None


def remember_browser(*, user: User, device: str = "") -> str:
    """After `user` logged in: the browser's new device cookie (accounts.devices), which
    makes it a browser known to this account (the caller sets it on the response)."""
    return devices.remember(device, user)


def authenticate_password(
    *, email: str, password: str, client_ip: str | None = None
) -> User | None:
    """The account these credentials open, or None (unknown, wrong, not active, locked).
    Uncharged: log_in spends the limits; the authentication backend calls this."""
    if not email or not password:
        return None
    user = User.objects.filter(email=normalize_email(email)).first()
    return _check_password(user=user, password=password, client_ip=client_ip)


def _check_password(
    *, user: User | None, password: str, client_ip: str | None, known_browser: bool = False
) -> User | None:
    """`user` if `password` opens it (from a known browser even while it is locked), else
    None; records and audits the outcome. Exactly one password verification whatever the
    account, so that timing tells nothing about it."""
    if user is not None and _has_a_password(user):
        right = user.check_password(password)
    else:
        verify_nobodys_password(password)
        right = False
    if user is not None and right and may_log_in(user, past_the_lock=known_browser):
        if second_step_needed(user):
            # The password alone doesn't open this account: the login finishes with the
            # second step (accounts.security.signin), and only then are earlier wrong tries
            # forgiven (else wrong codes and a fresh right password would guess forever).
            audit.record(
                Event.LOGIN_PASSWORD_ACCEPTED,
                actor_id=user.pk,
                practice_id=user.practice_id,
                client_ip=client_ip,
                data={"browser": "known"} if known_browser else {},
            )
            return user
        record_successful_login(user=user, client_ip=client_ip, known_browser=known_browser)
        return user
    record_failed_login(user=user, client_ip=client_ip, known_browser=known_browser)
    return None


def _has_a_password(user: User) -> bool:
    # A password hash of a hasher we still have (invited and half-registered accounts
    # have an unusable one).
    if not user.has_usable_password():
        return False
    try:
        identify_hasher(user.password)
    except ValueError:
        return False
    return True


def has_open_account(user: User) -> bool:
    """Active and registered to the end (password set): may keep a session (a lock ends
    the sessions opened before it through User.get_session_auth_hash, not this)."""
    return user.is_active and user.status == User.Status.ACTIVE


def may_log_in(user: User, *, past_the_lock: bool = False) -> bool:
    """An open account (has_open_account) that is not locked; `past_the_lock` (a browser
    known to the account) also while it is locked."""
    return has_open_account(user) and (past_the_lock or user.locked_at is None)


def record_failed_login(
    *, user: User | None, client_ip: str | None = None, known_browser: bool = False
) -> None:
    """Audit a failed login (`user`: the account of the address given, if there is one).
    From an unknown browser, a wrong password for an open account counts towards its lock:
    the fifth in a row locks it until a reset or an unlock."""
    with transaction.atomic():
        if user is None:
            audit.record(Event.LOGIN_FAILED, actor_id=None, client_ip=client_ip)
            return
        data: dict[str, Any] = {"browser": "known"} if known_browser else {}
        if user.locked_at is not None:
            data["locked"] = True
        audit.record(
            Event.LOGIN_FAILED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            client_ip=client_ip,
            data=data,
        )
        if known_browser or not may_log_in(user):
            return
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        user.refresh_from_db(fields=["failed_logins", "locked_at"])
        if user.failed_logins >= limits().max_failed_logins and user.locked_at is None:
            user.locked_at = timezone.now()
            user.save(update_fields=["locked_at"])
            audit.record(
                Event.USER_LOCKED,
                actor_id=None,
                practice_id=user.practice_id,
                target=f"user:{user.pk}",
            )


def record_successful_login(
    *, user: User, client_ip: str | None = None, known_browser: bool = False
) -> None:
    """Audit a login; the count of wrong passwords starts again (a lock stays: a known
    browser logging in past it doesn't lift it for the others)."""
    if user.failed_logins and user.locked_at is None:
        User.objects.filter(pk=user.pk).update(failed_logins=0)
    audit.record(
        Event.LOGIN_SUCCEEDED,
        actor_id=user.pk,
        practice_id=user.practice_id,
        client_ip=client_ip,
        data={"browser": "known"} if known_browser else {},
    )


def request_password_link(*, email: str, client_ip: str) -> None:
    """Someone asks for a set-password link for `email` ("Forgot your password?"): rate
    limited per client address and per address asked for (TooManyRequests). Says nothing
    about whether the account exists."""
    spend_password_link(client_ip=client_ip, email=email)
    send_password_link(email=email)


def request_password_link_again(*, uidb64: str, token: str, client_ip: str) -> None:
    """The one-button fresh link for a genuine but expired set-password link: sent to the
    address the old link went to, never shown. Rate limited like request_password_link."""
    user = user_of_expired_set_password_link(uidb64=uidb64, token=token)
    spend_password_link(client_ip=client_ip, email=user.email if user else None)
    if user is not None:
        send_password_link(email=user.email)


def spend_password_link(*, client_ip: str, email: str | None) -> None:
    """The limits on set-password links asked for: per client address (generous: an
    office shares one) and per address asked for (strict: nobody floods an inbox);
    TooManyRequests when over either."""
    try:
        ratelimit.spend("password_link", f"ip:{client_ip}")
        if email:
            ratelimit.spend("password_link_account", f"email:{normalize_email(email)}")
    except ratelimit.RateLimited:
        raise TooManyRequests("Too many requests. Wait an hour and try again.") from None


def spend_set_password_link_opening(*, client_ip: str) -> None:
    """Opening a set-password link or posting its form, per client address: TooManyRequests
    for someone trying tokens by the thousand."""
    try:
        ratelimit.spend("set_password_link", f"ip:{client_ip}")
    except ratelimit.RateLimited:
        raise TooManyRequests(
            "Too many links were opened from your network in a short time. Wait a few "
            "minutes, then open your link again."
        ) from None


def send_password_link(*, email: str) -> None:
    """Send a set-password link if `email` belongs to an account that may have one.
    Uncharged: for callers that spent the limit themselves (request_password_link, and
    onboarding's fresh link for someone whose wizard is done)."""
    user = User.objects.filter(
        email=normalize_email(email),
        is_active=True,
        status__in=[User.Status.REGISTERED, User.Status.ACTIVE],
    ).first()
    if user is None:
        return
    with transaction.atomic():
        send_set_password_email(user=user, first_time=user.status == User.Status.REGISTERED)
        audit.record(
            Event.PASSWORD_LINK_REQUESTED,
            actor_id=None,
            practice_id=user.practice_id,
            target=f"user:{user.pk}",
        )


def send_set_password_email(*, user: User, first_time: bool) -> None:
    """Issue a set-password link (`first_time`: to set a first password, else to reset
    one) and queue the email that carries it; the older link of that kind stops working.
    Uncharged and unaudited: for services that checked, limited and audit it themselves
    (the end of registration, re-sent invitations, send_password_link), in their
    transaction."""
    purpose = PasswordLink.Purpose.SET if first_time else PasswordLink.Purpose.RESET
    link = issue_password_link(user=user, purpose=purpose)
    queue_set_password_email(user=user, link=link, first_time=first_time)


def issue_password_link(*, user: User, purpose: PasswordLink.Purpose) -> str:
    """A new single-use set-password link for `user`, good for the link's hours; returns
    its URL, the only place the token is (the row keeps its hash). The account's older
    link for the same purpose stops working. For send_set_password_email and
    `create_operator` (which prints it)."""
    token, token_hash = tokens.new_link_token()
    now = timezone.now()
    with transaction.atomic():
        # Two links issued at once for one account: the account's row lock orders them, so
        # the older is replaced whatever the timing.
        _lock_account(user)
        PasswordLink.objects.filter(user=user, purpose=purpose, used_at__isnull=True).delete()
        PasswordLink.objects.create(
            user=user,
            purpose=purpose,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + timedelta(hours=limits().password_link_hours),
        )
    return set_password_url(user, token)


def _lock_account(user: User) -> None:
    """Lock the account's row until the transaction ends (for the account's links)."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


def set_password_with_link(*, link: PasswordLink, password: str) -> User:
    """Set the password from a set-password link's form, spending the link: activates a
    new account, unlocks a locked one. Exactly one of any number of posts at once wins;
    the others get PasswordLinkUsed (PasswordLinkInvalid when the link expired or was
    replaced meanwhile), and their password is not set. ValidationError for a password
    the validators refuse (the form has shown it already); the link stays unspent."""
    user = link.user
    validate_new_password(password, user)
    # Hashed before the transaction: the link's row is locked for as short as can be.
    encoded = make_password(password)
    with transaction.atomic():
        # The account first, as issue_password_link locks it: a link issued meanwhile
        # waits, rather than deadlocking with this.
        _lock_account(user)
        now = timezone.now()
        # The one conditional UPDATE that spends it: the database lets one post through.
        spent = PasswordLink.objects.filter(
            pk=link.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if spent != 1:
            if PasswordLink.objects.filter(pk=link.pk, used_at__isnull=False).exists():
                raise PasswordLinkUsed("This link has already been used.")
            raise PasswordLinkInvalid("This link is no longer valid.")
        _store_password(user, encoded)
    return user


def set_password(*, user: User, password: str) -> None:
    """Set a password without a link (`create_operator`'s prompt, run on the server):
    activates the account; its set-password links stop working. ValidationError for a
    password the validators refuse."""
    validate_new_password(password, user)
    encoded = make_password(password)
    with transaction.atomic():
        _store_password(user, encoded)


def _store_password(user: User, encoded: str) -> None:
    """Store an already hashed password (the caller holds the transaction): the account
    is active and unlocked, every other link it has stops working, and it is audited."""
    user.password = encoded
    user.status = User.Status.ACTIVE
    user.failed_logins = 0
    user.locked_at = None
    user.save(update_fields=["password", "status", "failed_logins", "locked_at"])
    PasswordLink.objects.filter(user=user, used_at__isnull=True).delete()
    audit.record(Event.PASSWORD_SET, actor_id=user.pk, practice_id=user.practice_id)


# How long a set-password link's row outlives its expiry.
PASSWORD_LINKS_KEPT = timedelta(days=7)


def sweep_password_links() -> int:
    """Delete the set-password links (used or not) that expired more than a week ago: for
    that week the "no longer valid" page of an expired link still offers a fresh one to
    its address, and a used one still says it was used. Run by the worker's periodic
    jobs; returns how many went."""
    cutoff = timezone.now() - PASSWORD_LINKS_KEPT
    deleted, _ = PasswordLink.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


# What a person may change about themselves on the profile page.
PROFILE_FIELDS = (
    "full_name",
    "office_phone",
    "time_zone",
    "signature",
    "default_expiry_days",
    "notify_by",
    "quiet_hours_start",
    "quiet_hours_end",
)


def update_profile(*, user: User, changes: dict[str, Any]) -> None:
    """The person edits their own profile (name, time zone, signature, defaults, how they
    hear of new messages): the validated values of PROFILE_FIELDS, nothing else.
    AccountError for a text option without a cell phone texts can go to (accounts.notify)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {sorted(unknown)}")
    refusal = text_choice_refusal(user, changes.get("notify_by", user.notify_by))
    if refusal:
        raise AccountError(refusal)
    with transaction.atomic():
        for name, value in changes.items():
            setattr(user, name, value)
        user.save(update_fields=list(changes))
        audit.record(Event.PROFILE_UPDATED, actor_id=user.pk, practice_id=user.practice_id)


# --- operators (the people running the service) ----------------------------------------


def create_operator(*, email: str, full_name: str) -> User:
    """A new operator account (`manage.py create_operator`, run by someone with a shell on
    the server: no acting user). It has no password until one is set through a set-password
    link or the command's prompt. AccountError when the address already has an account: an
    operator's account is never a practice user's, nor the other way round."""
    email = normalize_email(email)
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise AccountError(
                f"{email} already has an account. An operator needs an address of their own."
            )
        operator = User.objects.create_user(
            email,
            full_name=" ".join(full_name.split()),
            kind="",
            is_operator=True,
            status=User.Status.REGISTERED,
        )
        audit.record(Event.OPERATOR_CREATED, actor_id=None, target=f"user:{operator.pk}")
    return operator


def _require_operator(user: User) -> None:
    if not is_operator(user):
        raise NotAnOperator("Only an operator can do this.")


def unlock_as_operator(*, operator: User, user: User) -> bool:
    """An operator unlocks an account that wrong passwords locked (the console's Unlock):
    the wrong-password count starts again and the person logs in with their password.
    Returns False, and changes and audits nothing, when the account wasn't locked.
    NotAnOperator for anyone else."""
    _require_operator(operator)
    with transaction.atomic():
        locked = User.objects.filter(pk=user.pk, locked_at__isnull=False)
        if not locked.update(locked_at=None, failed_logins=0):
            return False
        audit.record(
            Event.OPERATOR_UNLOCKED_ACCOUNT,
            actor_id=operator.pk,
            practice_id=user.practice_id,
            target=f"user:{user.pk}",
        )
    user.refresh_from_db(fields=["locked_at", "failed_logins"])
    return True
