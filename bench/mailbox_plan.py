"""The data both sides of bench/mailbox.py load: who sent what to whom, when, read or not.

Plain Python, no Django: bench/mailbox.py (SecureMail) and bench/postman_side.py
(django-postman, in its own virtualenv) import it, so both databases hold the same people
and the same messages, row for row. Users are numbered from 0 (database id = number + 1).
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

SEED = 20260601
PAGE_SIZE = 50  # SecureMail's inbox page; django-postman is set to the same
THREAD_LENGTH = 20
BLOCK = 20  # users per practice block: 2 doctors, 8 staff, then 10 patients (no practice)
HOT_USER = 0  # a paid doctor, manager of practice 0: the big mailbox
PARTNER = 10  # a patient: the 20-message conversation is between HOT_USER and PARTNER
SEND_TO = (1, 11, 20)  # a colleague, a patient, a doctor of another practice
WINDOW = timedelta(days=29)  # every message is younger than its 30-day expiry
UNREAD_HOT = 0.10
UNREAD_OTHERS = 0.30
CORRESPONDENTS = 500


@dataclass(frozen=True)
class Sizes:
    practices: int
    users: int
    messages: int
    hot: int  # messages in HOT_USER's inbox

    @property
    def stages(self) -> list[int]:
        """Total messages after each build stage: 1k, 10k, 100k, 1M (capped)."""
        totals = [t for t in (1_000, 10_000, 100_000, 1_000_000) if t < self.messages]
        return [*totals, self.messages]

    def hot_at(self, total: int) -> int:
        """Messages in the big mailbox when the database holds `total`: the same share of
        the database at every stage, but never fewer than two pages."""
        if total >= self.messages:
            return self.hot
        return min(self.hot, max(2 * PAGE_SIZE, round(total * self.hot / self.messages)))


FULL = Sizes(practices=1_000, users=20_000, messages=1_000_000, hot=20_000)
QUICK = Sizes(practices=50, users=1_000, messages=50_000, hot=1_000)


def user_kind(n: int) -> tuple[str, int | None, bool]:
    """(kind, practice number or None, paid) of user `n`."""
    position = n % BLOCK
    practice = n // BLOCK
    if position < 2:
        return "doctor", practice, True
    if position < BLOCK // 2:
        return "staff", practice, True
    return "patient", None, False


class Row(NamedTuple):
    n: int  # message number, from 0 (postman's id = n + 1)
    sender: int
    recipient: int
    sent_us: int  # microseconds since the epoch (see at())
    read: bool
    real: bool  # opened by the benchmark: SecureMail seals it for real
    thread_pos: int | None = None  # position in the conversation (0 = its first message)


def rows_for_stage(sizes: Sizes, stage: int, now: datetime) -> list[Row]:
    """The messages stage `stage` adds (stage 0 holds the conversation)."""
    totals = sizes.stages
    start = totals[stage - 1] if stage else 0
    end = totals[stage]
    rng = random.Random(SEED + stage)
    now_us = micros(now)
    base = now_us - (WINDOW + timedelta(hours=1)) // timedelta(microseconds=1)
    window_us = WINDOW // timedelta(microseconds=1)
    users = min(sizes.users, sizes.practices * BLOCK)
    rows: list[Row] = []
    n = start
    if stage == 0:
        for pos in range(THREAD_LENGTH):
            sender, recipient = (PARTNER, HOT_USER) if pos % 2 == 0 else (HOT_USER, PARTNER)
            sent_at = now_us - (3 * 86_400 - 3 * 3_600 * pos) * 1_000_000
            last = pos == THREAD_LENGTH - 1
            rows.append(Row(n, sender, recipient, sent_at, not last, True, pos))
            n += 1
    hot_before = sizes.hot_at(start) if stage else THREAD_LENGTH // 2
    new_hot = sizes.hot_at(end) - hot_before
    correspondents = [u for u in range(1, min(users, CORRESPONDENTS + 1)) if u != PARTNER]
    for _ in range(new_hot):
        sent_at = base + int(rng.random() * window_us)
        sender = rng.choice(correspondents)
        rows.append(Row(n, sender, HOT_USER, sent_at, rng.random() >= UNREAD_HOT, True))
        n += 1
    rand = rng.random
    randrange = rng.randrange
    while n < end:
        sender = randrange(1, users)
        recipient = randrange(1, users - 1)
        if recipient >= sender:
            recipient += 1
        sent_at = base + int(rand() * window_us)
        rows.append(Row(n, sender, recipient, sent_at, rand() >= UNREAD_OTHERS, False))
        n += 1
    return rows


def thread_rows(rows: list[Row]) -> list[Row]:
    return sorted((r for r in rows if r.thread_pos is not None), key=lambda r: r.thread_pos or 0)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def at(us: int) -> datetime:
    """The aware UTC datetime of a Row's sent_us."""
    return EPOCH + timedelta(microseconds=us)


SUBJECTS = [
    "Referral: implant consult",
    "Post-op instructions",
    "Lab results for review",
    "X-rays attached",
    "Insurance pre-authorization",
    "Question about medication",
    "Appointment follow-up",
    "Treatment plan update",
]
BODY = (
    "Hello, following up on the visit last week. The periapical film shows the lesion "
    "has not grown; we would like to re-evaluate in six weeks. Please continue the "
    "chlorhexidine rinse twice daily and avoid hard foods on that side. If the swelling "
    "returns, or you notice fever or difficulty swallowing, call the office right away. "
    "We sent the referral to the oral surgeon with the latest images and the medication "
    "list you gave us; their office will contact you to schedule. Let me know if you "
    "have any questions before then. Kind regards."
)
