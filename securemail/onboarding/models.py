from django.conf import settings
from django.db import models


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


class Invitation(models.Model):
    """An invited address's way in: a single-use registration link (only its hash is kept)
    and the registration wizard's progress."""

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
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # What the wizard has collected so far (practice, person, specialty, verified phone).
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

    @property
    def role_enum(self) -> RecipientRole:
        return RecipientRole(self.role)

    @property
    def require_phone_verification(self) -> bool:
        # The inviting practice's current policy, so switching it off helps pending invitees.
        practice = self.invited_by.practice
        return practice.require_phone_verification if practice else True


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
