from dataclasses import asdict, dataclass, field
from typing import Any, Self

from django.conf import settings
from django.db import models

from securemail.accounts.models import User
from securemail.core.sealing import SealedRow
from securemail.notifications.models import OutboxEmail


class RecipientRole(models.TextChoices):
    """The role a sender picks for an address SecureMail has never seen."""

    DOCTOR_IN_MY_PRACTICE = "doctor_my_practice", "Doctor in my practice"
    STAFF_IN_MY_PRACTICE = "staff_my_practice", "Staff in my practice"
    DOCTOR_IN_ANOTHER_PRACTICE = "doctor_other_practice", "Doctor in another practice"
    STAFF_IN_ANOTHER_PRACTICE = "staff_other_practice", "Staff in another practice"
    PATIENT = "patient", "Patient"


IN_MY_PRACTICE = {RecipientRole.DOCTOR_IN_MY_PRACTICE, RecipientRole.STAFF_IN_MY_PRACTICE}
ANOTHER_PRACTICE = {
    RecipientRole.DOCTOR_IN_ANOTHER_PRACTICE,
    RecipientRole.STAFF_IN_ANOTHER_PRACTICE,
}
DOCTOR_ROLES = {RecipientRole.DOCTOR_IN_MY_PRACTICE, RecipientRole.DOCTOR_IN_ANOTHER_PRACTICE}


# The days after the invitation on which an invitee who hasn't registered is reminded
# (onboarding.services.reminders).
REMINDER_DAYS = (3, 15, 29)


class Invitation(SealedRow, models.Model):
    """An invited address's way in: a single-use registration link (looked up by its hash;
    the link itself is kept only sealed, for the reminders, until the registration ends),
    the registration wizard's progress and the onboarding timeline's moments."""

    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=32, choices=RecipientRole.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    link_sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # First time the link's page was shown (the timeline's "opened the link"; a mail
    # scanner following links counts too: it only GETs).
    link_shown_at = models.DateTimeField(null=True, blank=True)
    # "Start registration" pressed (the timeline's "started").
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # The latest of REMINDER_DAYS whose reminder went (0: none yet): claimed by a
    # conditional UPDATE, so each goes once whatever the number of workers.
    reminded_day = models.PositiveSmallIntegerField(default=0)
    # The sender stopped the reminders.
    reminders_stopped_at = models.DateTimeField(null=True, blank=True)
    # The link that works now, sealed under the row's own data key (onboarding.links): a
    # reminder sends the same link again. Wiped when the registration ends.
    wrapped_key = models.BinaryField(null=True, blank=True)
    key_version = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    link_sealed = models.BinaryField(null=True, blank=True)
    # The welcome email with the link that works now (a fresh link replaces it): how its
    # delivery went is what the inviter's pages show.
    welcome_email = models.ForeignKey(
        OutboxEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the wizard has collected so far (practice, person, specialty, verified phone):
    # read and written only through WizardState, below.
    wizard_data = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invitee"],
                condition=models.Q(used_at__isnull=True),
                name="one_open_invitation_per_invitee",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} ({self.get_role_display()})"

    sealed_parts = ("link",)
    key_context_fields = ("invitee",)

    def key_context(self) -> str:
        # Bound to its row and its invitee: a key moved to another invitation won't open.
        return f"invitation:{self.pk}:invitee:{self.invitee_id}"

    def context_prefix(self) -> str:
        return f"invitation:{self.pk}"

    @property
    def role_enum(self) -> RecipientRole:
        return RecipientRole(self.role)

    @property
    def require_phone_verification(self) -> bool:
        # The inviting practice's current policy, so switching it off helps pending invitees.
        practice = self.invited_by.practice
        return practice.require_phone_verification if practice else True


class InvitationReminder(models.Model):
    """One reminder sent to an invitee who hasn't registered (the timeline's "reminder
    sent day 3"): at most one per invitation and day."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="reminders")
    day = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    # The link it carried was a fresh one (the old link had stopped working).
    fresh_link = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invitation", "day"], name="one_reminder_a_day")
        ]

    def __str__(self) -> str:
        return f"Reminder of invitation {self.invitation_id}, day {self.day}"


class PhoneVerification(models.Model):
    """One code sent during registration. Only the code's keyed hash is stored."""

    class Channel(models.TextChoices):
        SMS = "sms", "Text message"
        VOICE = "voice", "Voice call"
        EMAIL = "email", "Email"

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="codes")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    destination = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Code {self.pk} by {self.channel}"


class Step(models.TextChoices):
    """The registration wizard's steps in their order, titled; a role has some of them
    (onboarding.access.steps_for)."""

    PRACTICE = "practice", "Your practice"
    YOU = "you", "About you"
    SPECIALTY = "specialty", "Specialty and procedures"
    VERIFY = "verify", "Verify your phone"
    TERMS = "terms", "Terms of use"


@dataclass(frozen=True)
class PracticeDetails:
    """The practice step's answers (the another-practice roles): the new practice's row."""

    name: str
    website: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class VerifiedPhone:
    """What a verification code proved: the channel it came by and the number it was for."""

    channel: str
    phone: str

    @property
    def proves_phone(self) -> bool:
        # An emailed code proves the address, not the phone.
        return self.channel != PhoneVerification.Channel.EMAIL


@dataclass
class WizardState:
    """What the wizard has collected so far, typed: the only reader and writer of
    `Invitation.wizard_data`. None is "not given yet"; the JSON has only the keys given,
    flat, as it always had: done, practice, full_name, phone, phone_type, specialty,
    procedures, npi, verified."""

    done: list[Step] = field(default_factory=list)
    practice: PracticeDetails | None = None
    full_name: str | None = None
    phone: str | None = None
    phone_type: str | None = None
    specialty: str | None = None
    procedures: list[str] | None = None
    npi: str | None = None
    verified: VerifiedPhone | None = None

    @classmethod
    def load(cls, invitation: Invitation) -> Self:
        data = invitation.wizard_data
        practice = data.get("practice")
        verified = data.get("verified")
        return cls(
            done=[Step(step) for step in data.get("done", [])],
            practice=PracticeDetails(**practice) if practice is not None else None,
            full_name=data.get("full_name"),
            phone=data.get("phone"),
            phone_type=data.get("phone_type"),
            specialty=data.get("specialty"),
            procedures=data.get("procedures"),
            npi=data.get("npi"),
            verified=VerifiedPhone(**verified) if verified is not None else None,
        )

    def save(self, invitation: Invitation) -> None:
        """Store this state as `invitation`'s progress (the caller holds the transaction)."""
        data: dict[str, Any] = {
            "done": [step.value for step in self.done] or None,
            "practice": asdict(self.practice) if self.practice is not None else None,
            "full_name": self.full_name,
            "phone": self.phone,
            "phone_type": self.phone_type,
            "specialty": self.specialty,
            "procedures": self.procedures,
            "npi": self.npi,
            "verified": asdict(self.verified) if self.verified is not None else None,
        }
        invitation.wizard_data = {key: value for key, value in data.items() if value is not None}
        invitation.save(update_fields=["wizard_data"])

    def is_done(self, step: Step) -> bool:
        return step in self.done

    def mark_done(self, step: Step) -> None:
        self.done = [s for s in self.done if s != step] + [step]

    def forget_verification(self) -> None:
        """The phone changed: what verified the old one doesn't count for the new one."""
        self.verified = None
        self.done = [s for s in self.done if s != Step.VERIFY]

    @property
    def is_landline(self) -> bool:
        return self.phone_type == User.PhoneType.LANDLINE
