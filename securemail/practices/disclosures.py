"""The accounting of disclosures for one patient: which messages about them went to whom,
and when each recipient opened them and downloaded their files. For the practice's user
manager (practices.views shows it as a page and a CSV).

What "about a patient" means here. SecureMail holds no patient records, only messages, and
no message names the patient it concerns in a form the server can read (subjects and bodies
are sealed). So a message is about a patient when the practice exchanged it with them:

1. **exchanged**: one of the practice's people sent it with the patient among its
   recipients, or the patient sent it to one of the practice's people;
2. **followed up**: a reply to a message of this list, or a forward of one, when one of the
   practice's people sent it or received it (a doctor forwarding the patient's message to
   a colleague discloses it; a colleague's reply carries it on). Repeated until nothing new.

Messages of the practice that never went to or came from the patient are not listed, even if
their text mentions the patient: the server cannot read it, by design.

Everything comes from the audit log, which outlives the messages (they are deleted at expiry,
at most 30 days after sending; their entries stay): who sent each message and to whom (the
send entry), each first open (`messaging:message:view`), each download
(`messaging:attachment:download`), and how it ended (deleted for everyone, or expired).
Ids and names only, never subjects, bodies or file names. A recipient outside the practice is
listed with the times the practice is entitled to see: those of a message the practice sent
(its delivery slip shows them too) or received by the practice's people.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from securemail.accounts.models import User
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent, AuditRecipient
from securemail.practices.access import managed_practice
from securemail.practices.audit_export import utc_iso

SENDS = [Event.MESSAGE_SENT.value, Event.MESSAGE_REPLIED.value, Event.MESSAGE_FORWARDED.value]
ENDINGS = {
    Event.MESSAGE_DELETED.value: "deleted for everyone",
    Event.REPLY_DELETED_WITH_CONVERSATION.value: "deleted for everyone",
    Event.MESSAGE_EXPIRED.value: "expired",
}
HOW = {
    Event.MESSAGE_SENT.value: "new message",
    Event.MESSAGE_REPLIED.value: "reply",
    Event.MESSAGE_FORWARDED.value: "forward",
}


@dataclass
class Receipt:
    """One recipient of a disclosed message, and what they did with it. `shown` is False
    when the times are not the practice's to see (they stay empty)."""

    recipient: User | None
    recipient_id: int
    shown: bool
    opened_at: datetime | None = None
    downloads: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass
class Disclosure:
    message_id: str
    how: str
    sent_at: datetime
    sender: User | None
    sender_id: int | None
    receipts: list[Receipt]
    # How and when it ended, once deleted or expired ("" while it is still kept).
    ended: str = ""
    ended_at: datetime | None = None
    # The message it answers or forwards (for a reply or a forward).
    follows: str = ""


@dataclass
class Accounting:
    patient: User
    disclosures: list[Disclosure]


def _members(practice_id: int) -> set[int]:
    return set(User.objects.filter(practice_id=practice_id).values_list("pk", flat=True))


def _exchanged(practice_id: int, members: set[int], patient_id: int) -> QuerySet[AuditEvent]:
    """The send entries of messages the practice's people and the patient exchanged."""
    to_patient = Q(practice_id=practice_id, recipients__user_id=patient_id)
    from_patient = Q(actor_id=patient_id, recipients__user_id__in=members)
    return AuditEvent.objects.filter(event__in=SENDS).filter(to_patient | from_patient)


def patients_of(*, manager: User) -> list[User]:
    """The patients the manager's practice exchanged messages with (for choosing whose
    accounting to produce), by name. NotPracticeManager for anyone else."""
    practice = managed_practice(manager)
    members = _members(practice.pk)
    sent_to = AuditRecipient.objects.filter(
        entry__event__in=SENDS, entry__practice_id=practice.pk
    ).values("user_id")
    sent_by = AuditEvent.objects.filter(event__in=SENDS, recipients__user_id__in=members).values(
        "actor_id"
    )
    return list(
        User.objects.filter(kind=User.Kind.PATIENT)
        .filter(Q(pk__in=sent_to) | Q(pk__in=sent_by))
        .order_by("full_name", "email")
    )


def accounting_for(*, manager: User, patient_id: int) -> Accounting:
    """The accounting of disclosures for one patient of the manager's practice.
    NotPracticeManager for anyone but the practice's user manager; Http404 for someone who
    is not a patient, or a patient the practice never exchanged a message with."""
    practice = managed_practice(manager)
    patient = User.objects.filter(pk=patient_id, kind=User.Kind.PATIENT).first()
    if patient is None:
        raise Http404
    members = _members(practice.pk)
    sends = {e.target: e for e in _exchanged(practice.pk, members, patient.pk).distinct()}
    if not sends:
        raise Http404
    new = set(sends)
    while new:
        ids = [target.removeprefix("message:") for target in new]
        new = set()
        later = AuditEvent.objects.filter(event__in=SENDS[1:]).filter(
            Q(data__in_reply_to__in=ids) | Q(data__original__in=ids)
        )
        for entry in later:
            party = {entry.actor_id, *entry.data.get("recipients", [])}
            if entry.target in sends or not party & members:
                continue
            sends[entry.target] = entry
            new.add(entry.target)
    return Accounting(
        patient=patient,
        disclosures=_disclosures(sends, members, patient.pk),
    )


def _disclosures(
    sends: dict[str, AuditEvent], members: set[int], patient_id: int
) -> list[Disclosure]:
    targets = list(sends)
    message_ids = [t.removeprefix("message:") for t in targets]
    opened: dict[tuple[str, int], datetime] = {}
    for target, actor_id, at in (
        AuditEvent.objects.filter(event=Event.MESSAGE_VIEWED.value, target__in=targets)
        .order_by("id")
        .values_list("target", "actor_id", "created_at")
    ):
        opened.setdefault((target, actor_id), at)
    downloads: dict[tuple[str, int], dict[str, datetime]] = {}
    for data, actor_id, attachment, at in (
        AuditEvent.objects.filter(
            event=Event.ATTACHMENT_DOWNLOADED.value, data__message__in=message_ids
        )
        .order_by("id")
        .values_list("data", "actor_id", "target", "created_at")
    ):
        firsts = downloads.setdefault((f"message:{data['message']}", actor_id), {})
        firsts.setdefault(attachment, at)
    endings = {
        target: (ENDINGS[event], at)
        for target, event, at in AuditEvent.objects.filter(
            event__in=list(ENDINGS), target__in=targets
        )
        .order_by("-id")
        .values_list("target", "event", "created_at")
    }
    people_ids = {e.actor_id for e in sends.values()} | {
        r for e in sends.values() for r in e.data.get("recipients", [])
    }
    people = User.objects.in_bulk([p for p in people_ids if p is not None])
    result = []
    for target, entry in sorted(sends.items(), key=lambda item: (item[1].created_at, item[1].id)):
        by_practice = entry.actor_id in members
        receipts = []
        for recipient_id in entry.data.get("recipients", []):
            shown = by_practice or recipient_id in members or recipient_id == patient_id
            receipts.append(
                Receipt(
                    recipient=people.get(recipient_id),
                    recipient_id=recipient_id,
                    shown=shown,
                    opened_at=opened.get((target, recipient_id)) if shown else None,
                    downloads=sorted(
                        downloads.get((target, recipient_id), {}).items(), key=lambda d: d[1]
                    )
                    if shown
                    else [],
                )
            )
        ended, ended_at = endings.get(target, ("", None))
        result.append(
            Disclosure(
                message_id=target.removeprefix("message:"),
                how=HOW[entry.event],
                sent_at=entry.created_at,
                sender=people.get(entry.actor_id) if entry.actor_id else None,
                sender_id=entry.actor_id,
                receipts=receipts,
                ended=ended,
                ended_at=ended_at,
                follows=entry.data.get("in_reply_to") or entry.data.get("original") or "",
            )
        )
    return result


CSV_HEADER = [
    "message_id",
    "kind",
    "follows_message",
    "sent_utc",
    "sender_id",
    "sender_name",
    "sender_email",
    "recipient_id",
    "recipient_name",
    "recipient_email",
    "opened_utc",
    "downloads",
    "ended",
    "ended_utc",
]


def _person(user: User | None) -> list[str]:
    return [user.full_name, user.email] if user else ["", ""]


def csv_rows(accounting: Accounting) -> Iterator[list[Any]]:
    """The header, then one row per message and recipient."""
    yield CSV_HEADER
    for d in accounting.disclosures:
        for r in d.receipts:
            yield [
                d.message_id,
                d.how,
                d.follows,
                utc_iso(d.sent_at),
                d.sender_id or "",
                *_person(d.sender),
                r.recipient_id,
                *_person(r.recipient),
                utc_iso(r.opened_at) if r.shown else "not the practice's to see",
                " ".join(f"{a}@{utc_iso(at)}" for a, at in r.downloads),
                d.ended,
                utc_iso(d.ended_at),
            ]
