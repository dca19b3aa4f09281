import uuid

from django.conf import settings
from django.db import models

from securemail.core.sealing import SealedRow


class Contact(SealedRow, models.Model):
    """Someone in a person's contacts: everyone they exchanged a message with (`person`, the
    account, with `last_exchanged_at`), and anyone they added by hand.

    The address is kept in clear, as every account's is (compose looks contacts up by it).
    What the owner types about them (name, practice, phone, note: for a patient, PHI) exists
    only sealed under the row's own data key, wrapped by the keyring (contacts don't expire:
    no day key); a contact nobody typed anything about has no key at all. A deleted contact
    stays restorable for `limits().contact_restore_days`, then goes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts"
    )
    # Normalized (accounts.models.normalize_email).
    email = models.EmailField(max_length=254)
    # The account behind the address, once the owner exchanged a message with it.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_exchanged_at = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    wrapped_key = models.BinaryField(null=True, blank=True)
    key_version = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    details_sealed = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "email"], name="one_contact_per_address")
        ]
        indexes = [models.Index(fields=["owner", "deleted_at"], name="contact_book")]

    def __str__(self) -> str:
        # Never the name: this string can reach logs.
        return f"Contact {self.pk}"

    sealed_parts = ("details",)
    key_context_fields = ("owner",)

    def key_context(self) -> str:
        # Bound to its row and its owner: a key moved to another row or another person's
        # contacts won't open.
        return f"contact:{self.pk}:owner:{self.owner_id}"

    def context_prefix(self) -> str:
        return f"contact:{self.pk}"
