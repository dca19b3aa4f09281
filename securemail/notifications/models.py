import uuid

from django.db import models

from securemail.core.sealing import SealedRow


class NotificationKind(models.TextChoices):
    """Every kind of email, text and call the product sends: one function queues each
    (named beside it), and none carries a subject, a body or a file name."""

    # onboarding.emails.queue_welcome_email
    WELCOME = "welcome", "Welcome email with a registration link"
    WELCOME_AGAIN = "welcome_again", "Fresh registration link"
    # onboarding.emails.queue_code (email, text message or voice call)
    VERIFICATION_CODE = "verification_code", "Verification code"
    # accounts.emails.queue_set_password_email
    SET_PASSWORD = "set_password", "Set-password link"
    # messaging.emails.queue_new_message_notices (by email, and by text message for those
    # who chose texts: no names, only a link)
    NEW_MESSAGE = "new_message", "New secure message notice"
    NEW_MESSAGE_TEXT = "new_message_text", "New secure message notice by text message"
    # billing.emails: a receipt per paid invoice, the failed renewal, the card about to
    # expire, the invoice list on request
    RECEIPT = "receipt", "Receipt"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    CARD_EXPIRING = "card_expiring", "Card about to expire"
    INVOICE_LIST = "invoice_list", "Invoice list"
    # accounts.emails: what changed about an account's security (no codes in it); the link
    # confirming a new address; the second step's code by text message
    SECURITY_NOTICE = "security_notice", "Account security notice"
    EMAIL_CHANGE = "email_change", "Link confirming a new email address"
    SIGN_IN_CODE = "sign_in_code", "Code by text message"


class OutboxEntry(SealedRow, models.Model):
    """What every outgoing item shares: a status machine (queued → sending → sent, or
    retry → … → failed; bounced when the receiving server refuses the address for good),
    its attempts, and its content sealed until sent, then wiped."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRY = "retry", "Waiting to retry"
        FAILED = "failed", "Not delivered (given up)"
        BOUNCED = "bounced", "Bounced (address refused)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One of NotificationKind (typed at every call; no `choices`, so a new kind needs no
    # migration).
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    # When it is due; while a worker holds it (sending), when that worker's claim lapses.
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # When delivery was given up (failed or bounced).
    given_up_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    # Lets the product show a recipient's notification without reading its content.
    recipient_user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    wrapped_key = models.BinaryField(null=True, blank=True)
    key_version = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    sealed_payload = models.BinaryField(null=True, blank=True)

    sealed_parts = ("payload",)
    # The row kind that starts its contexts ("outbox:<id>").
    context_name = ""

    class Meta:
        abstract = True

    def key_context(self) -> str:
        return f"{self.context_name}:{self.pk}"

    def context_prefix(self) -> str:
        return f"{self.context_name}:{self.pk}"


class OutboxEmail(OutboxEntry):
    """One outgoing email, written in the transaction that caused it.

    The rendered email is stored sealed (it holds single-use links) and wiped once sent.
    """

    to_email = models.EmailField()
    # Waiting to retry because the mail relay could not be reached (not because of this
    # email): it goes out as soon as the relay answers again, not at its next backoff step.
    waiting_for_relay = models.BooleanField(default=False)
    context_name = "outbox"

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.status})"


class OutboxText(OutboxEntry):
    """One outgoing text message or voice call (codes, new-message notices), handed to the
    SMS provider after commit. The text holds a code or a link: stored sealed, and wiped
    once sent. A notice held for the recipient's quiet hours is due (`next_attempt_at`)
    when they end."""

    class Channel(models.TextChoices):
        SMS = "sms", "Text message"
        VOICE = "voice", "Voice call"

    # E.164, e.g. +12025550177.
    to_phone = models.CharField(max_length=20)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    context_name = "outbox_text"

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_text_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} ({self.status})"


class BouncedAddress(models.Model):
    """An address the receiving mail server refused for good (a 5xx answer to RCPT TO).

    New conversations to it are refused with a clear message until mail to it gets through
    again (a later delivery clears it) or the address is corrected.
    """

    email = models.EmailField(unique=True)
    bounced_at = models.DateTimeField()
    # The SMTP reply code (e.g. 550): what an operator needs, not the server's wording.
    smtp_code = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name_plural = "bounced addresses"

    def __str__(self) -> str:
        return f"Bounced {self.email} ({self.smtp_code})"
