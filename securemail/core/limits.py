"""The product's limits, read from settings in one place (SPEC's numbers: 30 days, 20
recipients, 10-minute codes with 5 tries...). Forms, services and every text that states a
limit read it from here, so a changed setting changes what the product does and says.

Read on each call, never copied at import: tests and deployments may change settings.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Limits:
    # A message is deleted for everyone at most this many days after it was sent.
    max_expiry_days: int
    # Both sides of a conversation are warned this many days before it is deleted.
    expiry_warning_days: int
    # People on one message (To and Cc together), and addresses looked up at once.
    max_recipients: int
    # A verification code works for this many minutes, and for this many wrong tries.
    code_minutes: int
    code_max_tries: int
    # A registration link works for this many days.
    invitation_days: int
    # A set-password link works for this many hours.
    password_link_hours: int
    # Wrong passwords in a row that lock an account.
    max_failed_logins: int
    # A browser that logged in to an account is known to it (past the lock) this many days.
    known_browser_days: int
    # Two-step login: minutes to finish the second step after the password; minutes a
    # login or re-authentication counts as recent for sensitive actions; recovery codes.
    second_step_minutes: int
    fresh_login_minutes: int
    recovery_codes: int
    # An operator's password has at least this many characters (everyone's: 8).
    operator_password_length: int
    # Sessions end after this many idle minutes.
    idle_minutes: int
    # Attachments: per file and per message (MB), and files per message.
    max_attachment_mb: int
    max_message_attachments_mb: int
    max_attachments: int
    # Bytes of attachments a free account may keep (each paid plan's: its configuration).
    free_storage_bytes: int
    # The outbox: a worker's claim on the email or text it is sending lapses after this
    # many seconds unless renewed (a worker that dies mid-send holds it no longer), and
    # while emails wait for an unreachable mail relay, it is tried this often.
    outbox_lease_seconds: int
    relay_probe_seconds: int
    # Contacts one person keeps (besides those they exchanged messages with), and the days
    # a deleted contact can still be restored.
    max_contacts: int
    contact_restore_days: int


def limits() -> Limits:
    return Limits(
        max_expiry_days=settings.SECUREMAIL_MAX_EXPIRY_DAYS,
        expiry_warning_days=settings.SECUREMAIL_EXPIRY_WARNING_DAYS,
        max_recipients=settings.SECUREMAIL_MAX_RECIPIENTS,
        code_minutes=settings.SECUREMAIL_CODE_MINUTES,
        code_max_tries=settings.SECUREMAIL_CODE_MAX_TRIES,
        invitation_days=settings.SECUREMAIL_INVITATION_DAYS,
        password_link_hours=settings.SECUREMAIL_PASSWORD_LINK_HOURS,
        max_failed_logins=settings.SECUREMAIL_MAX_FAILED_LOGINS,
        known_browser_days=settings.SECUREMAIL_KNOWN_BROWSER_DAYS,
        second_step_minutes=settings.SECUREMAIL_SECOND_STEP_MINUTES,
        fresh_login_minutes=settings.SECUREMAIL_FRESH_LOGIN_MINUTES,
        recovery_codes=settings.SECUREMAIL_RECOVERY_CODES,
        operator_password_length=settings.SECUREMAIL_OPERATOR_PASSWORD_LENGTH,
        idle_minutes=settings.SESSION_COOKIE_AGE // 60,
        max_attachment_mb=settings.SECUREMAIL_MAX_ATTACHMENT_BYTES // (1024 * 1024),
        max_message_attachments_mb=settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES
        // (1024 * 1024),
        max_attachments=settings.SECUREMAIL_MAX_ATTACHMENTS,
        free_storage_bytes=settings.SECUREMAIL_FREE_STORAGE_BYTES,
        outbox_lease_seconds=settings.SECUREMAIL_OUTBOX_LEASE_SECONDS,
        relay_probe_seconds=settings.SECUREMAIL_RELAY_PROBE_SECONDS,
        max_contacts=settings.SECUREMAIL_MAX_CONTACTS,
        contact_restore_days=settings.SECUREMAIL_CONTACT_RESTORE_DAYS,
    )


def days(count: int) -> str:
    """ "1 day", "30 days"."""
    return f"{count} day{'s' if count != 1 else ''}"
