"""Issue 11: quiet hours hold texts (never emails) until they end, read as wall-clock times in
the person's own time zone: a window may cross midnight, and a DST change moves the end
with the clock, not with UTC. (accounts.notify.text_due_at; the outbox and the slip are in
messaging's test_notify_by.py.)"""

from datetime import UTC, datetime, time

import pytest

from securemail.accounts.models import User
from securemail.accounts.notify import quiet_until, text_due_at


def person(start: str | None, end: str | None, zone: str = "America/New_York") -> User:
    return User(
        email="quiet@example.test",
        time_zone=zone,
        quiet_hours_start=time.fromisoformat(start) if start else None,
        quiet_hours_end=time.fromisoformat(end) if end else None,
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# January in New York is EST, UTC-5: 21:00 there is 02:00 UTC the next day.
NIGHT = person("21:00", "07:00")


def test_without_quiet_hours_a_text_goes_at_once() -> None:
    now = utc(2031, 1, 15, 4, 0)  # 11 PM in New York
    assert text_due_at(person(None, None), now) == now


@pytest.mark.parametrize(
    ("now", "due"),
    [
        # 11:30 PM: held until 7:00 the next morning (12:00 UTC), across midnight.
        (utc(2031, 1, 15, 4, 30), utc(2031, 1, 15, 12, 0)),
        # 6:59 AM: held one more minute.
        (utc(2031, 1, 15, 11, 59), utc(2031, 1, 15, 12, 0)),
        # 9:00 PM sharp: quiet hours have begun.
        (utc(2031, 1, 15, 2, 0), utc(2031, 1, 15, 12, 0)),
        # 1:00 AM, after midnight: the same morning.
        (utc(2031, 1, 15, 6, 0), utc(2031, 1, 15, 12, 0)),
    ],
    ids=["late evening", "a minute before the end", "at the start", "after midnight"],
)
def test_inside_quiet_hours_crossing_midnight_a_text_waits_for_their_end(
    now: datetime, due: datetime
) -> None:
    assert text_due_at(NIGHT, now) == due
    assert quiet_until(NIGHT, now) == due


@pytest.mark.parametrize(
    "now",
    [
        utc(2031, 1, 15, 12, 0),  # 7:00 AM sharp: they have ended
        utc(2031, 1, 15, 17, 0),  # noon
        utc(2031, 1, 16, 1, 59),  # 8:59 PM
    ],
    ids=["at the end", "midday", "a minute before the start"],
)
def test_outside_quiet_hours_a_text_goes_at_once(now: datetime) -> None:
    assert text_due_at(NIGHT, now) == now
    assert quiet_until(NIGHT, now) is None


def test_quiet_hours_within_one_day_hold_only_between_their_times() -> None:
    lunch = person("12:00", "13:30")
    assert text_due_at(lunch, utc(2031, 1, 15, 17, 15)) == utc(2031, 1, 15, 18, 30)
    assert text_due_at(lunch, utc(2031, 1, 15, 16, 59)) == utc(2031, 1, 15, 16, 59)
    assert text_due_at(lunch, utc(2031, 1, 15, 18, 30)) == utc(2031, 1, 15, 18, 30)


def test_quiet_hours_are_read_in_the_persons_own_time_zone() -> None:
    # 13:00 UTC is 10 PM in Tokyo (held until 7:00 there, 22:00 UTC) and 8 AM in New York.
    now = utc(2031, 1, 15, 13, 0)
    tokyo = person("21:00", "07:00", zone="Asia/Tokyo")
    assert text_due_at(tokyo, now) == utc(2031, 1, 15, 22, 0)
    assert text_due_at(NIGHT, now) == now
    # Someone in Honolulu (UTC-10), where it is 3 AM: held until 7:00 there, 17:00 UTC.
    honolulu = person("21:00", "07:00", zone="Pacific/Honolulu")
    assert text_due_at(honolulu, now) == utc(2031, 1, 15, 17, 0)


def test_on_the_night_clocks_spring_forward_the_end_is_seven_by_the_clock() -> None:
    # March 9, 2031, 2 AM: New York moves from EST (UTC-5) to EDT (UTC-4). Queued at 11 PM
    # EST on the 8th: 7:00 EDT is 11:00 UTC, not the 12:00 a fixed offset would give.
    assert text_due_at(NIGHT, utc(2031, 3, 9, 4, 0)) == utc(2031, 3, 9, 11, 0)


def test_on_the_night_clocks_fall_back_the_end_is_seven_by_the_clock() -> None:
    # November 2, 2031, 2 AM: back from EDT to EST. 11 PM EDT on the 1st is 03:00 UTC;
    # 7:00 EST is 12:00 UTC.
    assert text_due_at(NIGHT, utc(2031, 11, 2, 3, 0)) == utc(2031, 11, 2, 12, 0)


def test_an_end_the_clocks_skip_is_read_just_after_the_gap() -> None:
    # Quiet until 2:30 AM on March 9, 2031, a time New York skips: held until the gap is
    # over (3:30 EDT, 07:30 UTC), never to a moment already past.
    short = person("22:00", "02:30")
    assert text_due_at(short, utc(2031, 3, 9, 6, 30)) == utc(2031, 3, 9, 7, 30)


def test_an_end_that_comes_twice_is_the_next_one() -> None:
    # Quiet until 1:30 AM on November 2, 2031, which New York lives twice (EDT, then EST).
    short = person("22:00", "01:30")
    # At 1:10 EDT (05:10 UTC): the first 1:30 (05:30 UTC).
    assert text_due_at(short, utc(2031, 11, 2, 5, 10)) == utc(2031, 11, 2, 5, 30)
    # At 1:10 EST, the second time round (06:10 UTC): the second 1:30 (06:30 UTC).
    assert text_due_at(short, utc(2031, 11, 2, 6, 10)) == utc(2031, 11, 2, 6, 30)


def test_a_time_zone_that_is_not_known_counts_as_utc() -> None:
    stray = person("21:00", "07:00", zone="Mars/Olympus_Mons")
    assert text_due_at(stray, utc(2031, 1, 15, 22, 0)) == utc(2031, 1, 16, 7, 0)
