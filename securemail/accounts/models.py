from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower


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
    notify_by = models.CharField(max_length=10, choices=Notify.choices, default=Notify.EMAIL)

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
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

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
