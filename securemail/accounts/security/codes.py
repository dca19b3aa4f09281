"""Recovery codes and codes by text message: making, storing (hashes only) and checking.

Called inside the flows' transactions (`setup`, `signin`, `changes`); nothing here audits or
decides who may: the callers do.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from securemail.accounts.models import AccountCode, RecoveryCode, User
from securemail.core import ratelimit, tokens
from securemail.core.limits import limits
from securemail.notifications.models import NotificationKind
from securemail.notifications.services import queue_text

# No 0/o, 1/l/i: a code is read off paper.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_RECOVERY_LENGTH = 12


class CodeSendLimited(Exception):
    """Too many texts sent to this account or number lately."""


def _recovery_hash(user_id: int, code: str) -> str:
    # About 59 random bits per code: a plain salted SHA-256 is enough (no password to guess).
    return hashlib.sha256(f"securemail-recovery|{user_id}|{code}".encode()).hexdigest()


def normalize_recovery_code(typed: str) -> str:
    return "".join(ch for ch in typed.lower() if ch.isalnum())


def looks_like_recovery_code(typed: str) -> bool:
    code = normalize_recovery_code(typed)
    return len(code) == _RECOVERY_LENGTH and all(ch in _ALPHABET for ch in code)


def shown_recovery_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def replace_recovery_codes(user: User) -> list[str]:
    """New recovery codes for `user` (the old ones stop working). Returns them, formatted,
    to be shown once; only their hashes are stored."""
    codes = [
        "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(limits().recovery_codes)
    ]
    now = timezone.now()
    RecoveryCode.objects.filter(user_id=user.pk).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user_id=user.pk, code_hash=_recovery_hash(user.pk, code), created_at=now)
        for code in codes
    )
    return [shown_recovery_code(code) for code in codes]


def use_recovery_code(user: User, typed: str) -> bool:
    """Spend one of the person's recovery codes: True if `typed` was one not used yet (now
    used: it never works again). Locks the row, so two tries at once can't both win."""
    if not looks_like_recovery_code(typed):
        return False
    digest = _recovery_hash(user.pk, normalize_recovery_code(typed))
    with transaction.atomic():
        row = (
            RecoveryCode.objects.select_for_update()
            .filter(user_id=user.pk, used_at__isnull=True, code_hash=digest)
            .first()
        )
        if row is None:
            return False
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
    return True


# --- codes by text message ------------------------------------------------------------------


def send_text_code(*, user: User, purpose: str, destination: str) -> None:
    """Text a new 6-digit code to `destination` (earlier codes of this purpose stop
    working), through the outbox. Rate limited per account and per number (CodeSendLimited).
    Call inside the caller's transaction."""
    try:
        ratelimit.spend("text_code_send", f"user:{user.pk}", f"to:{destination}")
    except ratelimit.RateLimited:
        raise CodeSendLimited(
            "Too many codes were sent. Wait an hour, or use another way."
        ) from None
    code = tokens.new_code()
    now = timezone.now()
    AccountCode.objects.filter(
        user_id=user.pk, purpose=purpose, used_at__isnull=True, invalidated_at__isnull=True
    ).update(invalidated_at=now)
    row = AccountCode.objects.create(
        user_id=user.pk,
        purpose=purpose,
        destination=destination,
        code_hash="",
        created_at=now,
        expires_at=now + timedelta(minutes=limits().code_minutes),
    )
    row.code_hash = tokens.hash_code(code, salt=f"account.{row.pk}")
    row.save(update_fields=["code_hash"])
    queue_text(
        to=destination,
        channel="sms",
        text=(
            f"Your SecureMail code is {code}. It expires in {limits().code_minutes} minutes. "
            "Never give it to anyone."
        ),
        kind=NotificationKind.SIGN_IN_CODE,
        recipient_user_id=user.pk,
    )


def check_text_code(*, user: User, purpose: str, typed: str, destination: str) -> bool:
    """Whether `typed` is the newest code of `purpose` sent to `destination`, unused, in
    time and within its tries (then spent: it never works again). A wrong code spends one
    of its tries."""
    code = "".join(typed.split())
    if len(code) != 6 or not code.isdigit():
        return False
    with transaction.atomic():
        row = (
            AccountCode.objects.select_for_update()
            .filter(
                user_id=user.pk,
                purpose=purpose,
                used_at__isnull=True,
                invalidated_at__isnull=True,
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None or row.destination != destination:
            return False
        if row.expires_at <= timezone.now() or row.attempts >= limits().code_max_tries:
            return False
        if hmac.compare_digest(tokens.hash_code(code, salt=f"account.{row.pk}"), row.code_hash):
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            return True
        row.attempts += 1
        row.save(update_fields=["attempts"])
    return False
