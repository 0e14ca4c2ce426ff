"""The slot engine: which start times a provider really has free. No HTTP, no database.

    free slots = bookable hours (weekly blocks + extra hours - time off, at one place)
                 within notice and horizon
                 - the provider's appointments (at any place: one person, one room at a time)

Hours are local wall-clock times in the practice's zone; every interval is
turned into UTC instants before any arithmetic, and slots are stepped in real
(UTC) time from the start of each block, so a DST change inside a block gives
the real number of slots and a normal working day always gets the same grid.
A service longer than the slot length needs all of its time free and inside
bookable hours (adjacent blocks count as one stretch).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TELEHEALTH = "telehealth"
Place = int | str  # a location id, or TELEHEALTH


@dataclass(frozen=True)
class WeeklyHours:
    weekday: int  # 0 = Monday
    start_minute: int
    end_minute: int  # up to 1440 (midnight)
    place: Place
    bookable_online: bool = True


@dataclass(frozen=True)
class DateException:
    on: date
    kind: str  # "off" or "extra"
    start_minute: int | None = None  # None on "off": the whole day
    end_minute: int | None = None
    place: Place | None = None
    bookable_online: bool = True


@dataclass(frozen=True)
class Rules:
    slot_minutes: int
    duration_minutes: int
    notice: timedelta
    horizon: timedelta


Interval = tuple[datetime, datetime]


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock minute of `day` (1440 = the next midnight)."""
    day = day + timedelta(days=minute // 1440)
    minute %= 1440
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz).astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(intervals: Sequence[Interval], holes: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in intervals:
        pieces = [(start, end)]
        for h_start, h_end in holes:
            pieces = [
                piece
                for s, e in pieces
                for piece in ((s, min(e, h_start)), (max(s, h_end), e))
                if piece[0] < piece[1]
            ]
        out.extend(pieces)
    return out


def bookable_hours(
    first: date,
    last: date,
    weekly: Iterable[WeeklyHours],
    exceptions: Iterable[DateException],
    place: Place,
    tz: ZoneInfo,
) -> list[Interval]:
    """Online-bookable UTC intervals at `place` on local dates first..last."""
    weekly = [w for w in weekly if w.bookable_online and w.place == place]
    by_weekday: dict[int, list[WeeklyHours]] = {}
    for w in weekly:
        by_weekday.setdefault(w.weekday, []).append(w)
    exceptions = list(exceptions)
    hours: list[Interval] = []
    off: list[Interval] = []
    day = first
    while day <= last:
        for w in by_weekday.get(day.weekday(), ()):
            hours.append(
                (local_instant(day, w.start_minute, tz), local_instant(day, w.end_minute, tz))
            )
        day += timedelta(days=1)
    for x in exceptions:
        if not first <= x.on <= last:
            continue
        if x.kind == "off":
            start = 0 if x.start_minute is None else x.start_minute
            end = 1440 if x.end_minute is None else x.end_minute
            off.append((local_instant(x.on, start, tz), local_instant(x.on, end, tz)))
        elif (
            x.place == place
            and x.bookable_online
            and x.start_minute is not None
            and x.end_minute is not None
        ):
            hours.append(
                (local_instant(x.on, x.start_minute, tz), local_instant(x.on, x.end_minute, tz))
            )
    return merge(subtract(merge(hours), merge(off)))


class Busy:
    """A provider's booked time, merged, for overlap checks by bisection."""

    def __init__(self, appointments: Iterable[Interval]) -> None:
        self.intervals = merge(appointments)
        self.starts = [s for s, _ in self.intervals]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        i = bisect_left(self.starts, end)  # intervals starting before `end`
        return i > 0 and self.intervals[i - 1][1] > start


def free_slots(
    hours: Sequence[Interval], busy: Busy, rules: Rules, now: datetime
) -> Iterator[datetime]:
    """Start times on each block's grid where the whole service fits, free, in time."""
    step = timedelta(minutes=rules.slot_minutes)
    length = timedelta(minutes=rules.duration_minutes)
    earliest = now + rules.notice
    latest = now + rules.horizon
    for block_start, block_end in hours:
        t = block_start
        while t + length <= block_end and t <= latest:
            if t >= earliest and not busy.overlaps(t, t + length):
                yield t
            t += step


def slots_between(
    first: date,
    last: date,
    *,
    weekly: Iterable[WeeklyHours],
    exceptions: Iterable[DateException],
    appointments: Iterable[Interval],
    place: Place,
    rules: Rules,
    tz: ZoneInfo,
    now: datetime,
) -> list[datetime]:
    hours = bookable_hours(first, last, weekly, exceptions, place, tz)
    return list(free_slots(hours, Busy(appointments), rules, now))


def by_local_day(slots: Iterable[datetime], tz: ZoneInfo) -> dict[date, list[datetime]]:
    days: dict[date, list[datetime]] = {}
    for s in slots:
        days.setdefault(s.astimezone(tz).date(), []).append(s)
    return days
