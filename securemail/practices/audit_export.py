"""The practice's audit log as CSV rows, for its user manager (practices.views streams them).

"The practice's log" is every entry recorded for the practice (`AuditEvent.practice_id`):
what its people did, and what was done to them or to its invitations, plans and settings by
anyone (the expiry job, an operator, a stranger guessing a password). Rows hold ids, the
actor's address, the event's name and its words, and the entry's ids and states; never
content (the log holds none).
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from securemail.accounts.models import User
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.practices.access import managed_practice

LOG_HEADER = [
    "time_utc",
    "actor_id",
    "actor_email",
    "action",
    "action_label",
    "object",
    "client_address",
    "details",
]


def day_range(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """From the start of `first_day` to the end of `last_day`, in UTC."""
    start = datetime.combine(first_day, time.min, tzinfo=UTC)
    return start, datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=UTC)


def label_of(name: str) -> str:
    """The words an export shows for an event name ("" for a name no longer in use)."""
    try:
        return str(Event(name).label)
    except ValueError:
        return ""


def details_of(data: dict[str, object]) -> str:
    """An entry's data as `key=value` pairs (ids and states only: the log holds no more)."""
    parts = []
    for key, value in sorted(data.items()):
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return "; ".join(parts)


def utc_iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat() if moment else ""


def practice_log_rows(
    *, manager: User, first_day: date, last_day: date, chunk_size: int = 2000
) -> Iterator[list[str]]:
    """The header, then one row per entry of the manager's practice between the two days
    (UTC, both included), oldest first, read in chunks so a year costs no more memory than
    a day. NotPracticeManager for anyone but the practice's user manager."""
    practice = managed_practice(manager)
    start, end = day_range(first_day, last_day)
    entries = (
        AuditEvent.objects.filter(
            practice_id=practice.pk, created_at__gte=start, created_at__lt=end
        )
        .select_related("actor")
        .only("created_at", "event", "target", "client_ip", "data", "actor__id", "actor__email")
        .order_by("created_at", "id")
    )
    yield LOG_HEADER
    for entry in entries.iterator(chunk_size=chunk_size):
        yield [
            utc_iso(entry.created_at),
            str(entry.actor_id or ""),
            entry.actor.email if entry.actor else "",
            entry.event,
            label_of(entry.event),
            entry.target,
            entry.client_ip or "",
            details_of(entry.data),
        ]
