import uuid

from django.conf import settings
from django.db import models

from securemail.core.sealing import SealedRow
from securemail.notifications.models import OutboxEmail, OutboxText


class Message(SealedRow, models.Model):
    """One secure message or reply. Subject and body exist only sealed with the message's
    own data key, which is stored wrapped by the keyring (see securemail.messaging.content)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_messages"
    )
    # The first message of the conversation; null on that first message itself.
    thread_root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="thread_replies"
    )
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    wrapped_key = models.BinaryField()
    # Which keyring version wraps the data key (rotation re-wraps the rows still on an old one).
    key_version = models.PositiveIntegerField(default=1, db_index=True)
    subject_sealed = models.BinaryField()
    body_sealed = models.BinaryField()
    # Sent with the compose form, so a double-clicked Send makes one message, not two.
    client_token = models.UUIDField(null=True, blank=True)
    # On a conversation's first message: the deletion time its people were warned of
    # (services.expiry_warnings claims it with one conditional UPDATE; a changed expiry
    # differs from it, so the new date is warned of in its turn).
    expiry_warned_for = models.DateTimeField(null=True, blank=True)

    # Set by access.thread_messages: plain lists (a prefetch into the related managers costs
    # a queryset per message). Read them through access.deliveries_of / attachments_of.
    thread_deliveries: list["Delivery"]
    thread_attachments: list["Attachment"]

    class Meta:
        indexes = [models.Index(fields=["sender", "-sent_at", "-id"], name="message_sent_folder")]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_token"], name="message_unique_client_token"
            )
        ]

    def __str__(self) -> str:
        # Never the subject: this string can reach logs.
        return f"Message {self.pk}"

    sealed_parts = ("subject", "body")
    key_context_fields = ("sender",)

    def key_context(self) -> str:
        return self.key_context_of(self.pk, self.sender_id)

    def context_prefix(self) -> str:
        return f"message:{self.pk}"

    @staticmethod
    def key_context_of(message_id: uuid.UUID, sender_id: int) -> str:
        """key_context() of the row with these ids, for pages that read a message's columns
        without building the model (a mailbox line)."""
        # Bound to its row and its sender: a key (with its ciphertexts) moved to another
        # row, or a row given another sender, won't open.
        return f"message:{message_id}:from:{sender_id}"

    @staticmethod
    def subject_context_of(message_id: uuid.UUID) -> str:
        """sealed_context("subject") of the row with this id (see key_context_of)."""
        return f"message:{message_id}:subject"

    @property
    def root_id(self) -> uuid.UUID:
        return self.thread_root_id or self.pk


class Delivery(models.Model):
    """A message in one recipient's mailbox, with what that recipient did with it."""

    class Kind(models.TextChoices):
        TO = "to", "To"
        CC = "cc", "Cc"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=2, choices=Kind.choices, default=Kind.TO)
    # Copied from the message so a mailbox page is one index range scan, no join.
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # When the notification was queued (the message's sending time); none when the
    # recipient chose no notices (User.notify_by "none").
    notified_at = models.DateTimeField(null=True, blank=True)
    # The new-message email to this recipient, whose state the delivery slip shows; none
    # for someone this message invited (their invitation's welcome email stands for it),
    # or who chose texts only or nothing.
    notification = models.ForeignKey(
        OutboxEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The new-message text, for a recipient who chose texts (shown on the slip too).
    text_notification = models.ForeignKey(
        OutboxText, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # First time the recipient opened it (the delivery slip's "opened").
    read_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # The recipient deleted it from their own mailbox (others keep it).
    hidden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "recipient"], name="one_delivery_each")
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-sent_at", "-id"],
                name="delivery_inbox",
                condition=models.Q(hidden_at__isnull=True, archived_at__isnull=True),
            ),
            models.Index(
                fields=["recipient", "-sent_at", "-id"],
                name="delivery_archive",
                condition=models.Q(hidden_at__isnull=True, archived_at__isnull=False),
            ),
            models.Index(
                fields=["recipient", "expires_at"],
                name="delivery_unread",
                condition=models.Q(hidden_at__isnull=True, read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk}"


class Attachment(SealedRow, models.Model):
    """A file sent with a message. Its name and contents exist only encrypted: the name
    sealed here, the contents as chunked ciphertext in the blob store."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    # Copied from the message (its sender and expiry; the expiry moves with it): the storage
    # quota's sum (securemail.messaging.quota) reads only this table's index, on every page.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    expires_at = models.DateTimeField()
    blob_name = models.CharField(max_length=32, unique=True)
    wrapped_key = models.BinaryField()
    key_version = models.PositiveIntegerField(default=1, db_index=True)
    name_sealed = models.BinaryField()
    # Decided from the first bytes of the content, never from the uploader's claim; anything
    # a browser could run or render is application/octet-stream (uploads.served_content_type).
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        indexes = [
            # The quota's sum is an index-only range scan of one sender's live files.
            models.Index(fields=["sender", "expires_at", "size"], name="attachment_storage")
        ]

    def __str__(self) -> str:
        return f"Attachment {self.pk}"

    sealed_parts = ("name",)
    key_context_fields = ("message",)

    def key_context(self) -> str:
        # Bound to its row and its message: a file row moved into another conversation
        # won't open there.
        return f"attachment:{self.pk}:message:{self.message_id}"

    def context_prefix(self) -> str:
        return f"attachment:{self.pk}"

    @staticmethod
    def blob_context(blob_name: str) -> str:
        """The contents' context: the blob is encrypted as it uploads, before the row
        exists, so it is bound to the blob's own name."""
        return f"blob:{blob_name}"


class AttachmentDownload(models.Model):
    """First download of an attachment by one person (the delivery slip shows it)."""

    attachment = models.ForeignKey(Attachment, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attachment", "user"], name="one_download_record")
        ]

    def __str__(self) -> str:
        return f"Download {self.pk}"


class Draft(SealedRow, models.Model):
    """An unsent message, saved as the author types. Everything typed is sealed (recipients,
    subject, body); a draft untouched for as long as the message could live is deleted and its
    day key shredded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts"
    )
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    wrapped_key = models.BinaryField()
    key_version = models.PositiveIntegerField(default=1, db_index=True)
    payload_sealed = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["owner", "-updated_at"], name="draft_folder")]

    def __str__(self) -> str:
        return f"Draft {self.pk}"

    sealed_parts = ("payload",)

    def key_context(self) -> str:
        return f"draft:{self.pk}"

    def context_prefix(self) -> str:
        return f"draft:{self.pk}"


class SearchEntry(models.Model):
    """One term (a word, or the start of one) of a message in one person's search index.

    Only a keyed hash of the term is stored (`token`, see securemail.messaging.index), under
    a key of the owner and of the message's expiry day (`day`) derived from the keyring
    (`key_version`) and the shredding ratchet: a dump shows which of one person's messages
    share a term and how many terms each has, never a term. The rows of a message go with
    it (delete, expiry) or with one person's copy of it (hide)."""

    # The primary key is the search's own index: a lookup of (owner, version, day, token)
    # reads the matching messages in sent order, with no other table and no second index;
    # (owner, version) alone says whether a person has entries under a version.
    pk = models.CompositePrimaryKey("owner", "key_version", "day", "token", "sent_at", "message")
    # Not enforced by the database (db_constraint): its check of each inserted row's owner
    # and message was a sixth of a send's time. Rows are written only with their message,
    # in its transaction (services.indexing), and go with it through Django's cascade.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    day = models.DateField()
    key_version = models.PositiveSmallIntegerField()
    token = models.BigIntegerField()
    # Copied from the message: results come newest first, and pages by keyset, in the index.
    sent_at = models.DateTimeField()
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    def __str__(self) -> str:
        return f"Search entry of {self.message_id} for {self.owner_id}"
