"""The only writer of the audit log: append-only, each entry chained to the one before it
with HMAC-SHA256 under a key kept outside the database (securemail.audit.chain)."""

import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from securemail.audit.chain import chain_key
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent, AuditHead, AuditRecipient
from securemail.core.http import current_client_ip
from securemail.core.rows import columns_of, insert, inserter, kept_prepared

GENESIS = "0" * 64


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(chain_key(), f"{prev_hash}|{payload}".encode(), hashlib.sha256).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "created_at": event.created_at.isoformat(),
        "event": event.event,
        "actor": event.actor_id,
        "practice": event.practice_id,
        "target": event.target,
        "data": event.data,
        "client": event.client_ip,
    }


def record(
    event: Event,
    *,
    actor_id: int | None,
    practice_id: int | None = None,
    target: str = "",
    data: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> AuditEvent:
    """Append one event (any service may call it, inside its own transaction).

    `data` must hold identifiers and states only, never message content.
    """
    return record_many(
        event,
        actor_id=actor_id,
        practice_id=practice_id,
        targets=[target],
        data=data,
        client_ip=client_ip,
    )[0]


def record_many(
    event: Event,
    *,
    actor_id: int | None,
    practice_id: int | None = None,
    targets: list[str],
    data: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> list[AuditEvent]:
    """Append one event per target, chained in order, under one lock and in one insert
    (opening a 20-message conversation audits 20 views for the cost of one).

    `data` must hold identifiers and states only, never message content. `client_ip`
    defaults to the address of the request being handled (core.http).
    """
    return record_each(
        event,
        actor_id=actor_id,
        entries=[(practice_id, target) for target in targets],
        data=data,
        client_ip=client_ip,
    )


def record_each(
    event: Event,
    *,
    actor_id: int | None,
    entries: list[tuple[int | None, str]],
    data: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> list[AuditEvent]:
    """Like record_many, with each entry's own practice: `entries` are (practice id,
    target) pairs (the expiry job deletes many practices' messages at once)."""
    # Only the vocabulary's names (ValueError for any other string).
    name = Event(event).value
    if not entries:
        return []
    data = data or {}
    # No savepoint of its own inside the caller's transaction: an error here fails the
    # caller's whole transaction anyway (nothing may commit unaudited), and it saves two
    # round trips on every audited action.
    with transaction.atomic(savepoint=False):
        head = _locked_head()
        prev_hash = head.last_hash
        now = timezone.now()
        # As the column stores it (an IPv6 address in its shortest form): the chain covers
        # the stored value, which verification reads back.
        ip = _stored_ip(client_ip or current_client_ip())
        # What the chain covers of each entry (_fields, of the entry as read back).
        common = {
            "created_at": now.isoformat(),
            "event": name,
            "actor": actor_id,
            "data": data,
            "client": ip,
        }
        chained = []
        for practice_id, target in entries:
            entry_hash = _digest(prev_hash, {**common, "practice": practice_id, "target": target})
            chained.append((practice_id, target, prev_hash, entry_hash))
            prev_hash = entry_hash
        shared = {
            "created_at": now,
            "event": name,
            "actor_id": actor_id,
            "client_ip": ip,
            "data": data,
        }
        recipients = _recipients(data)
        if connection.vendor == "postgresql":
            ids = _append_in_one(head.pk, shared, chained, recipients)
        else:
            # One statement of constant text each (core.rows): building the ORM's insert
            # cost more than running it, on every audited action. The keys ascend in
            # chain order.
            ids = insert(AuditEvent, shared=shared, each=_EACH, rows=chained)
            if recipients:
                insert(
                    AuditRecipient,
                    shared={},
                    each=("entry_id", "user_id"),
                    rows=[(entry_id, user_id) for entry_id in ids for user_id in recipients],
                )
            with connection.cursor() as cursor, kept_prepared():
                cursor.execute(_head_sql()["move"], [ids[-1], prev_hash, head.pk])
        # As a read of these rows would build them (positionally, in _ORDER).
        alias = connection.alias
        written = [
            AuditEvent.from_db(
                alias,
                _ORDER,
                (pk, now, name, actor_id, practice_id, target, ip, data, prev, entry_hash),
            )
            for pk, (practice_id, target, prev, entry_hash) in zip(ids, chained, strict=True)
        ]
    return written


# The columns that differ from entry to entry (the rest are the same for all of one call).
_EACH = ("practice_id", "target", "prev_hash", "entry_hash")
# AuditEvent's concrete fields, in order: record_each builds its entries positionally
# (test_stored_entries holds it to the model).
_ORDER = (
    "id",
    "created_at",
    "event",
    "actor",
    "practice_id",
    "target",
    "client_ip",
    "data",
    "prev_hash",
    "entry_hash",
)


def _stored_ip(ip: str | None) -> str | None:
    if not ip:
        return ip or None
    return AuditEvent._meta.get_field("client_ip").get_prep_value(ip)


def _recipients(data: dict[str, Any]) -> list[int]:
    """The users `data["recipients"]` names, once each: an AuditRecipient row each, for
    every entry."""
    recipients = data.get("recipients")
    if not isinstance(recipients, list):
        return []
    return [int(user_id) for user_id in dict.fromkeys(recipients)]


def _append_in_one(
    head_id: int,
    shared: dict[str, Any],
    chained: list[tuple[int | None, str, str, str]],
    recipients: list[int],
) -> list[int]:
    """PostgreSQL: the entries, their recipient index and the head's move in one statement
    (one round trip, not three, on every audited action, under the chain's lock): the
    entries' insert (core.rows, keys in chain order) in a WITH, the recipients' insert and
    the head's update reading its RETURNING. Returns the keys, ascending (chain order)."""
    entries, params = inserter(
        AuditEvent, tuple(shared), _EACH, _vendor=connection.vendor
    ).statement(list(shared.values()), chained)
    sql = _append_sql(entries)
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(sql, [*params, recipients, chained[-1][3], head_id])
        return [row[0] for row in cursor.fetchall()]


@functools.cache
def _append_sql(entries: str) -> str:
    event_key = columns_of(AuditEvent).bare("id")
    named, head = columns_of(AuditRecipient), columns_of(AuditHead)
    # Names of this project's tables and columns only, quoted; every value a parameter.
    return (
        f"WITH entries AS ({entries}), "  # noqa: S608
        f"named AS (INSERT INTO {named.table} ({named.bare('entry')}, {named.bare('user_id')}) "
        f"SELECT entries.{event_key}, u FROM entries CROSS JOIN unnest(%s::bigint[]) AS u), "
        f"moved AS (UPDATE {head.table} SET {head.bare('last_entry_id')} = "
        f"(SELECT max({event_key}) FROM entries), {head.bare('last_hash')} = %s"
        f" WHERE {head.bare('id')} = %s) "
        f"SELECT {event_key} FROM entries ORDER BY {event_key}"
    )


def _locked_head() -> AuditHead:
    """The head row, locked for this transaction (created on the first append, from the
    newest entry if there are entries already). One query once the head exists: every
    audited action pays for this lock."""
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(_head_sql()["lock"], [1])
        row = cursor.fetchone()
    if row is not None:
        return AuditHead(id=row[0], last_entry_id=row[1], last_hash=row[2])
    newest = AuditEvent.objects.order_by("-id").only("id", "entry_hash").first()
    AuditHead.objects.bulk_create(
        [
            AuditHead(
                pk=1,
                last_entry_id=newest.pk if newest else None,
                last_hash=newest.entry_hash if newest else GENESIS,
            )
        ],
        ignore_conflicts=True,
    )
    return AuditHead.objects.select_for_update().get(pk=1)


@functools.cache
def _head_sql() -> dict[str, str]:
    """The head's two statements, written once: every audited action runs both (building
    them with the ORM cost more than running them)."""
    head = columns_of(AuditHead)
    key, last_id, last_hash = (head.bare(n) for n in ("id", "last_entry_id", "last_hash"))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return {
        "lock": f"SELECT {key}, {last_id}, {last_hash} FROM {head.table} WHERE {key} = %s{lock}",  # noqa: S608
        "move": f"UPDATE {head.table} SET {last_id} = %s, {last_hash} = %s WHERE {key} = %s",  # noqa: S608
    }


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain stops verifying: the first entry that doesn't (None when entries
    were removed from the end), and what is wrong there."""

    entry_id: int | None
    reason: str


def find_break() -> ChainBreak | None:
    """The first place the log fails verification, or None when it is intact: an entry
    edited (its HMAC no longer matches), removed (the next one no longer links), or removed
    from the end (the head no longer matches the newest entry)."""
    prev_hash = GENESIS
    last_id: int | None = None
    for entry in AuditEvent.objects.order_by("id").iterator():
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.id, "does not link to the entry before it")
        if not hmac.compare_digest(entry.entry_hash, _digest(prev_hash, _fields(entry))):
            return ChainBreak(entry.id, "was changed after it was written")
        prev_hash, last_id = entry.entry_hash, entry.id
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash, head.last_entry_id) != (prev_hash, last_id):
        return ChainBreak(None, "entries were removed from the end of the log")
    return None


def verify_chain() -> int | None:
    """The id of the first entry that breaks the chain (0 when entries were removed from
    the end), or None if it is intact."""
    found = find_break()
    if found is None:
        return None
    return found.entry_id if found.entry_id is not None else 0
