"""Reads of what delivery learnt: bounced addresses (for the services that send), and how
each notification went (for the pages that show it: the delivery slip, the people page)."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import connection
from django.utils import timezone

from securemail.core.rows import Part, among, columns_of, fetch
from securemail.notifications.models import BouncedAddress, OutboxEmail, OutboxEntry, OutboxText


def bounced_addresses(emails: Iterable[str]) -> dict[str, BouncedAddress]:
    """The addresses among `emails` (already normalized) whose mail bounced, by address."""
    wanted = list(emails)
    if not wanted:
        return {}
    # Hand-written (core.rows): building the ORM's query cost more than running it.
    where, params = among(columns_of(BouncedAddress).column("email"), wanted)
    return {b.email: b for b in fetch(BouncedAddress, f"WHERE {where}", params)}


def bounced_part(emails: Iterable[str]) -> Part | None:
    """bounced_addresses as a part of a caller's core.rows.fetch_together (none for no
    addresses; a send reads it with the accounts); bounced_from turns its rows into the
    same answer."""
    wanted = list(emails)
    if not wanted:
        return None
    found = columns_of(BouncedAddress)
    where, params = among(found.column("email"), wanted)
    return Part([found], f"FROM {found.table} WHERE {where}", params, order=found.column("id"))


def bounced_from(rows: list[tuple[Any, ...]]) -> dict[str, BouncedAddress]:
    return {bounced.email: bounced for (bounced,) in rows}


class NoticeState(StrEnum):
    """What became of one notification, in the words a sender reads."""

    QUEUED = "queued"
    DELIVERED = "delivered to the mail server"
    RETRYING = "retrying"
    NOT_DELIVERED = "not delivered"
    BOUNCED = "bounced"


class TextNoticeState(StrEnum):
    """What became of one notice by text message, in the words a sender reads."""

    QUEUED = "text message queued"
    # Waiting for the recipient's quiet hours to end (not when: that is theirs).
    HELD = "text message held for their quiet hours"
    SENT = "text message sent"
    RETRYING = "text message retrying"
    NOT_DELIVERED = "text message not delivered"


# The states that mean it will not arrive: the sender has something to put right.
UNDELIVERED = frozenset(
    {NoticeState.NOT_DELIVERED, NoticeState.BOUNCED, TextNoticeState.NOT_DELIVERED}
)
GIVEN_UP = [OutboxEntry.Status.FAILED, OutboxEntry.Status.BOUNCED]


@dataclass(frozen=True)
class Notice:
    """How one outbox email (or text) went: its state, and when it got there (delivered to
    the mail server or the SMS provider, or given up), if it has."""

    state: NoticeState | TextNoticeState
    at: datetime | None = None

    @property
    def undelivered(self) -> bool:
        return self.state in UNDELIVERED


def notice_of(email: OutboxEmail) -> Notice:
    """The state of one outbox email, read from its row (never from timestamps elsewhere)."""
    status = email.status
    if status == OutboxEntry.Status.SENT:
        return Notice(NoticeState.DELIVERED, email.sent_at)
    if status == OutboxEntry.Status.BOUNCED:
        return Notice(NoticeState.BOUNCED, email.given_up_at)
    if status == OutboxEntry.Status.FAILED:
        return Notice(NoticeState.NOT_DELIVERED, email.given_up_at)
    # Being sent for the first time is still "queued"; any later try is a retry.
    if status == OutboxEntry.Status.RETRY or email.attempts > 1:
        return Notice(NoticeState.RETRYING)
    return Notice(NoticeState.QUEUED)


# What notice_of reads: never the sealed content or its key.
NOTICE_FIELDS = ("id", "status", "attempts", "sent_at", "given_up_at")


def notices(email_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Notice]:
    """The state of each of these outbox emails (one query), by id; unknown ids are left
    out (an email never queued, or its row gone)."""
    return {row.pk: notice_of(row) for row in _rows(OutboxEmail, email_ids, NOTICE_FIELDS)}


_TEXT_FIELDS = (*NOTICE_FIELDS, "next_attempt_at")


class NoticeReads:
    """notices() and text_notices() of these ids as parts of a caller's
    core.rows.fetch_together (read in the same round trip as its other reads): `parts`
    to read (none for no ids), then `emails` and `texts` of the rows read."""

    def __init__(
        self, email_ids: Iterable[uuid.UUID | None], text_ids: Iterable[uuid.UUID | None]
    ) -> None:
        self._email = _part(OutboxEmail, email_ids, NOTICE_FIELDS)
        self._text = _part(OutboxText, text_ids, _TEXT_FIELDS)
        self.parts = [p for p in (self._email, self._text) if p is not None]

    def states(
        self, found: list[list[tuple[Any, ...]]]
    ) -> tuple[dict[uuid.UUID, Notice], dict[uuid.UUID, Notice]]:
        """(email notices, text notices) by id, from what fetch_together read of `parts`
        (in their order)."""
        rows = iter(found)
        emails = next(rows) if self._email is not None else []
        texts = next(rows) if self._text is not None else []
        return (
            {email.pk: notice_of(email) for (email,) in emails},
            {text.pk: text_notice_of(text) for (text,) in texts},
        )


def _part(
    model: type[OutboxEmail | OutboxText], ids: Iterable[uuid.UUID | None], fields: tuple[str, ...]
) -> Part | None:
    wanted = sorted({pk for pk in ids if pk is not None})
    if not wanted:
        return None
    found = columns_of(model, fields)
    key = model._meta.pk
    return Part(
        [found],
        f"FROM {found.table} WHERE {found.column('id')} IN ({', '.join(['%s'] * len(wanted))})",
        [key.get_db_prep_value(pk, connection) for pk in wanted],
        order=found.column("id"),
    )


def text_notice_of(text: OutboxText) -> Notice:
    """The state of one outbox text, read from its row (as notice_of for an email)."""
    status = text.status
    if status == OutboxEntry.Status.SENT:
        return Notice(TextNoticeState.SENT, text.sent_at)
    if status in GIVEN_UP:
        return Notice(TextNoticeState.NOT_DELIVERED, text.given_up_at)
    if status == OutboxEntry.Status.RETRY or text.attempts > 1:
        return Notice(TextNoticeState.RETRYING)
    if text.attempts == 0 and text.next_attempt_at > timezone.now():
        return Notice(TextNoticeState.HELD)
    return Notice(TextNoticeState.QUEUED)


def text_notices(text_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Notice]:
    """The state of each of these outbox texts (one query, none for no ids), by id."""
    return {row.pk: text_notice_of(row) for row in _rows(OutboxText, text_ids, _TEXT_FIELDS)}


def _rows[Row: (OutboxEmail, OutboxText)](
    model: type[Row], ids: Iterable[uuid.UUID | None], fields: tuple[str, ...]
) -> list[Row]:
    """`fields` of the rows of `model` with these ids (a statement of constant shape,
    core.rows: the ORM's query cost a conversation page more than running it)."""
    wanted = sorted({pk for pk in ids if pk is not None})
    if not wanted:
        return []
    found = columns_of(model, fields)
    marks = ", ".join(["%s"] * len(wanted))
    key = model._meta.pk
    return fetch(
        model,
        f"WHERE {found.column('id')} IN ({marks})",
        [key.get_db_prep_value(pk, connection) for pk in wanted],
        only=fields,
    )
