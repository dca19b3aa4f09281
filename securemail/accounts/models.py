from collections.abc import Iterator
from typing import override
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac

from securemail.core.sealing import SealedRow


class Practice(models.Model):
    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    phone = models.CharField(max_length=20)
    address_line1 = models.CharField("street address", max_length=200)
    address_line2 = models.CharField("suite, unit", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField("state / region", max_length=100)
    postal_code = models.CharField(max_length=20)
    # Set by the user manager: must people this practice invites verify their phone?
    require_phone_verification = models.BooleanField(default=True)
    # Set by the user manager: must the practice's doctors and staff use two-step login?
    require_two_step = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Procedure(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=160, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Specialty(models.Model):
    class Field(models.TextChoices):
        DENTAL = "dental", "Dental"
        MEDICAL = "medical", "Medical"

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=160, unique=True)
    field = models.CharField(max_length=10, choices=Field.choices)
    # The procedures pre-selected when a doctor picks this specialty.
    usual_procedures = models.ManyToManyField(Procedure, related_name="specialties")

    class Meta:
        ordering = ["field", "name"]
        verbose_name_plural = "specialties"

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        user = self.model(email=normalize_email(email), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


def longest_expiry_days() -> int:
    return int(settings.SECUREMAIL_MAX_EXPIRY_DAYS)


def normalize_email(email: str) -> str:
    # Addresses are compared case-insensitively everywhere: store them lower-cased.
    return email.strip().lower()


class User(AbstractBaseUser):
    class Kind(models.TextChoices):
        DOCTOR = "doctor", "Doctor"
        STAFF = "staff", "Staff"
        PATIENT = "patient", "Patient"

    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PAID = "paid", "Paid"

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        STARTED = "started", "Registration started"
        REGISTERED = "registered", "Registered (password not set yet)"
        ACTIVE = "active", "Active"

    class Notify(models.TextChoices):
        EMAIL_AND_SMS = "email_sms", "Email and text message"
        SMS = "sms", "Text message only"
        EMAIL = "email", "Email only"
        NONE = "none", "No notifications"

    class PhoneType(models.TextChoices):
        CELL = "cell", "Cell phone"
        LANDLINE = "landline", "Landline"

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    practice = models.ForeignKey(
        Practice, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    is_practice_manager = models.BooleanField(default=False)
    # People running the service: they reach the operators' console and nothing else (no
    # practice, no kind, no plan: an operator's account is never a practice user's).
    is_operator = models.BooleanField(default=False)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.FREE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INVITED)
    is_active = models.BooleanField(default=True)

    phone = models.CharField("cell phone", max_length=20, blank=True)
    phone_type = models.CharField(max_length=10, choices=PhoneType.choices, default=PhoneType.CELL)
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    office_phone = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    signature = models.TextField(blank=True)
    # New accounts start with the longest expiry (settings.SECUREMAIL_MAX_EXPIRY_DAYS).
    default_expiry_days = models.PositiveSmallIntegerField(default=longest_expiry_days)
    # How new-message notices reach them (accounts.notify holds the rule; every other email
    # goes whatever this says).
    notify_by = models.CharField(max_length=10, choices=Notify.choices, default=Notify.EMAIL)
    # No texts between these wall-clock times in `time_zone` (they wait until the end);
    # both or neither, and never the same time. Emails are never held.
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)

    specialty = models.ForeignKey(
        Specialty, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    procedures = models.ManyToManyField(Procedure, blank=True, related_name="+")
    npi = models.CharField("NPI", max_length=10, blank=True)

    invited_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(
                condition=~models.Q(kind="patient", plan="paid"),
                name="patients_are_always_free",
            ),
            models.CheckConstraint(
                condition=models.Q(is_operator=False)
                | models.Q(
                    kind="",
                    practice__isnull=True,
                    is_practice_manager=False,
                    plan="free",
                ),
                name="operators_are_not_practice_users",
            ),
            models.CheckConstraint(
                condition=models.Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | (
                    models.Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False)
                    & ~models.Q(quiet_hours_start=models.F("quiet_hours_end"))
                ),
                name="quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    # A session stays open while the hash it was opened with is the account's: Django's
    # (an HMAC of the password hash) while the account isn't locked, so a new password ends
    # every session. A lock changes it too: sessions open when wrong passwords lock the
    # account end; a browser that knew the account logs in again past the lock (its session
    # ends when the lock is lifted). Unlocked, the hash is Django's own, byte for byte.
    @override
    def get_session_auth_hash(self) -> str:
        return self._session_hash(secret=None)

    @override
    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=secret)

    def _session_hash(self, *, secret: str | bytes | None) -> str:
        value = self.password
        if self.locked_at is not None:
            value += f"|locked:{self.locked_at.isoformat()}"
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            value,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    # What Django's admin (the operators' console) asks of a user. SecureMail grants nothing
    # through Django's permissions: the console lets operators in by `is_operator`
    # (accounts.access.is_operator), and a practice user gets nothing from either.
    @property
    def is_staff(self) -> bool:
        return self.is_operator and self.is_active

    @property
    def is_superuser(self) -> bool:
        return False

    # Django's signatures (callers may pass them by name), answered the same for everyone.
    def has_perm(self, perm: str, obj: object = None) -> bool:  # noqa: ARG002
        return False

    def has_perms(self, perm_list: object, obj: object = None) -> bool:  # noqa: ARG002
        return False

    def has_module_perms(self, app_label: str) -> bool:  # noqa: ARG002
        return False

    @property
    def is_paid(self) -> bool:
        return self.plan == self.Plan.PAID

    @property
    def zone(self) -> ZoneInfo:
        """The person's time zone, used for every date shown to them (UTC if unknown)."""
        try:
            return ZoneInfo(self.time_zone)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    @property
    def display_name(self) -> str:
        """How the product names this person to others ("Dr. Jane Roe")."""
        return self.display_name_of(full_name=self.full_name, email=self.email, kind=self.kind)

    @staticmethod
    def display_name_of(*, full_name: str, email: str, kind: str) -> str:
        """display_name from those columns, for pages that read them without building the
        model (a mailbox line)."""
        if kind == User.Kind.DOCTOR and full_name:
            return f"Dr. {full_name}"
        return full_name or email


class PasswordLink(models.Model):
    """A link to set (or reset) a password: emailed, or printed by `create_operator`. Only
    the token's SHA-256 is kept. It works once (accounts.services.set_password_with_link
    spends it with one conditional UPDATE, so of any number of posts at once exactly one
    wins) and until `expires_at`; a newer link of the same purpose replaces it (the row is
    deleted), and setting the password ends every other link of the account."""

    class Purpose(models.TextChoices):
        SET = "set", "Set a first password"
        RESET = "reset", "Reset a password"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_links")
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Password link {self.pk} ({self.get_purpose_display()})"


# --- two-step login (accounts.twostep) ------------------------------------------------------


class TwoStepMethod(models.TextChoices):
    """The ways to prove the second thing at login, after the password."""

    APP = "app", "Authenticator app"
    TEXT = "text", "Text message"
    PASSKEY = "passkey", "Passkey"


class TwoStep(models.Model):
    """A person's two-step login: on while `method` is set (the way the second step asks
    first; the others they have set up are offered too, and a recovery code always)."""

    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="two_step"
    )
    method = models.CharField(max_length=10, choices=TwoStepMethod.choices, blank=True)
    # Codes by text message to the verified cell phone, once confirmed with a first code.
    text_enabled = models.BooleanField(default=False)
    # The WebAuthn user handle of this account's passkeys: random, never the user's id or
    # address (authenticators may show or sync it).
    passkey_user_handle = models.BinaryField(max_length=32)
    enabled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Two-step login of user {self.user_id}"

    @property
    def is_on(self) -> bool:
        return bool(self.method)


class AuthenticatorApp(SealedRow, models.Model):
    """The authenticator app's TOTP secret, sealed under a data key of its own (a database
    dump alone can't make codes). Unconfirmed until the person types a first code."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="authenticator_app")
    wrapped_key = models.BinaryField()
    key_version = models.PositiveIntegerField(db_index=True)
    secret_sealed = models.BinaryField()
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step whose code was accepted: a code is good once, and never an
    # older one after it.
    last_step = models.BigIntegerField(null=True, blank=True)

    sealed_parts = ("secret",)
    key_context_fields = ("user",)

    def __str__(self) -> str:
        return f"Authenticator app of user {self.user_id}"

    def key_context(self) -> str:
        # Bound to its row and its person: a secret copied to another account won't open.
        return f"totp:{self.pk}:user:{self.user_id}"

    def context_prefix(self) -> str:
        return f"totp:{self.pk}"


class RecoveryCode(models.Model):
    """One of the ten one-time recovery codes, stored as a keyed hash only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Recovery code {self.pk} of user {self.user_id}"


class Passkey(models.Model):
    """A WebAuthn credential (a device's fingerprint, face or PIN, or a security key)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=60)
    credential_id = models.BinaryField(max_length=1023)
    # SHA-256 of credential_id: the unique, indexed way to find a passkey from a login.
    credential_key = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Passkey {self.pk} of user {self.user_id}"


class AccountCode(models.Model):
    """A 6-digit code sent by text message: for the second step at login, for turning on
    text-message codes, or to verify a new cell phone. Only its keyed hash is stored."""

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", "Second step"
        TURN_ON_TEXT = "turn_on_text", "Turning on text-message codes"
        NEW_PHONE = "new_phone", "Verifying a new cell phone"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # The number it was sent to (E.164): a code only verifies the number it went to.
    destination = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "-created_at"], name="account_code")]

    def __str__(self) -> str:
        return f"Code {self.pk} ({self.purpose})"


class EmailChange(models.Model):
    """A new login address waiting for its confirmation link (sent to the new address).
    Only the link token's hash is stored; the link works once, for 24 hours."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    new_email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Email change {self.pk} of user {self.user_id}"
