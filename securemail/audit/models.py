from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One append-only, hash-chained entry. Holds ids and event names, never PHI."""

    created_at = models.DateTimeField(db_index=True)
    # One of securemail.audit.events.Event ("area:object:action", e.g. "messaging:message:send").
    # No `choices` here: audit.record accepts only the vocabulary's names, and a new name
    # needs no migration.
    event = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    practice_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    target = models.CharField(max_length=80, blank=True)
    # Where the request came from (core.http.client_ip), for actions people take.
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # A practice's log for a date range (the user manager's export), in order.
            models.Index(fields=["practice_id", "created_at", "id"], name="audit_practice_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.event} {self.target}"


class AuditRecipient(models.Model):
    """An index over the log: one row per person an entry names in `data["recipients"]`
    (whom a message went to), written with the entry. "Every message that went to this
    patient" is then an index lookup on both databases (SQLite can't search inside a JSON
    list). Derived from `data`, which the chain covers; never changed after it is written."""

    entry = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="recipients")
    user_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "user_id"], name="audit_recipient_once")
        ]
        indexes = [models.Index(fields=["user_id", "entry"], name="audit_recipient_user")]

    def __str__(self) -> str:
        return f"Audit entry {self.entry_id} names user {self.user_id}"


class AuditHead(models.Model):
    """The newest entry's hash, in one row that every append locks first: appends queue on
    it, so each one chains to the entry before it whatever the concurrency (locking "the
    newest entry" instead hands a waiting writer a row that is no longer the newest). It
    also lets verification notice entries removed from the end."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_entry_id = models.BigIntegerField(null=True)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"Audit head at {self.last_entry_id}"
