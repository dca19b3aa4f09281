"""The only writer of the audit log."""

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from securemail.audit.events import Event
from securemail.audit.models import AuditEvent

GENESIS = "0" * 64


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{payload}".encode()).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "created_at": event.created_at.isoformat(),
        "event": event.event,
        "actor": event.actor_id,
        "practice": event.practice_id,
        "target": event.target,
        "data": event.data,
    }


def record(
    event: Event,
    *,
    actor_id: int | None,
    practice_id: int | None = None,
    target: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event (any service may call it, inside its own transaction).

    `data` must hold identifiers and states only, never message content.
    """
    return record_many(
        event, actor_id=actor_id, practice_id=practice_id, targets=[target], data=data
    )[0]


def record_many(
    event: Event,
    *,
    actor_id: int | None,
    practice_id: int | None = None,
    targets: list[str],
    data: dict[str, Any] | None = None,
) -> list[AuditEvent]:
    """Append one event per target, chained in order, under one lock and in one insert
    (opening a 20-message conversation audits 20 views for the cost of one).

    `data` must hold identifiers and states only, never message content.
    """
    # Only the vocabulary's names (ValueError for any other string).
    name = Event(event).value
    # No savepoint of its own inside the caller's transaction: an error here fails the
    # caller's whole transaction anyway (nothing may commit unaudited), and it saves two
    # round trips on every audited action.
    with transaction.atomic(savepoint=False):
        last = AuditEvent.objects.select_for_update().order_by("-id").only("entry_hash").first()
        prev_hash = last.entry_hash if last else GENESIS
        now = timezone.now()
        entries = []
        for target in targets:
            entry = AuditEvent(
                created_at=now,
                event=name,
                actor_id=actor_id,
                practice_id=practice_id,
                target=target,
                data=data or {},
                prev_hash=prev_hash,
            )
            entry.entry_hash = _digest(prev_hash, _fields(entry))
            prev_hash = entry.entry_hash
            entries.append(entry)
        if len(entries) == 1:
            entries[0].save()
        else:
            AuditEvent.objects.bulk_create(entries)
    return entries


def verify_chain() -> int | None:
    """Return the id of the first entry that breaks the chain, or None if it is intact."""
    prev_hash = GENESIS
    for entry in AuditEvent.objects.order_by("id").iterator():
        if entry.prev_hash != prev_hash or entry.entry_hash != _digest(prev_hash, _fields(entry)):
            return entry.id
        prev_hash = entry.entry_hash
    return None
