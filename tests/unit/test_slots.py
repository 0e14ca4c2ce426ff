"""The slot engine, by example and by property (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.scheduling.slots import (
    TELEHEALTH,
    DateException,
    Rules,
    WeeklyHours,
    bookable_hours,
    slots_between,
)

NY = ZoneInfo("America/New_York")
OFFICE = 7


def rules(slot=30, duration=30, notice_h=0, horizon_d=400) -> Rules:
    return Rules(slot, duration, timedelta(hours=notice_h), timedelta(days=horizon_d))


def day_slots(day, weekly, *, appointments=(), exceptions=(), place=OFFICE, r=None, now=None):
    return slots_between(
        day, day, weekly=weekly, exceptions=exceptions, appointments=appointments, place=place,
        rules=r or rules(), tz=NY, now=now or local(day, 0) - timedelta(days=30),
    )  # fmt: skip


def local(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=NY).astimezone(UTC)


MONDAY = date(2027, 1, 4)


def test_a_plain_day_on_the_grid():
    weekly = [WeeklyHours(0, 9 * 60, 12 * 60, OFFICE)]
    slots = day_slots(MONDAY, weekly)
    assert [s.astimezone(NY).strftime("%H:%M") for s in slots] == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


def test_other_places_and_offline_hours_are_not_offered():
    weekly = [
        WeeklyHours(0, 9 * 60, 10 * 60, TELEHEALTH),
        WeeklyHours(0, 10 * 60, 11 * 60, OFFICE, bookable_online=False),
    ]
    assert day_slots(MONDAY, weekly) == []
    assert len(day_slots(MONDAY, weekly, place=TELEHEALTH)) == 2


def test_appointments_anywhere_block_the_provider():
    weekly = [WeeklyHours(0, 9 * 60, 12 * 60, OFFICE)]
    booked = [(local(MONDAY, 10), local(MONDAY, 10, 50))]
    slots = [
        s.astimezone(NY).strftime("%H:%M") for s in day_slots(MONDAY, weekly, appointments=booked)
    ]
    assert slots == ["09:00", "09:30", "11:00", "11:30"]


def test_a_long_service_needs_consecutive_free_time_across_adjacent_blocks():
    weekly = [WeeklyHours(0, 9 * 60, 10 * 60, OFFICE), WeeklyHours(0, 10 * 60, 11 * 60, OFFICE)]
    r = rules(slot=30, duration=90)
    assert [s.astimezone(NY).strftime("%H:%M") for s in day_slots(MONDAY, weekly, r=r)] == [
        "09:00",
        "09:30",
    ]
    booked = [(local(MONDAY, 10, 15), local(MONDAY, 10, 30))]
    assert day_slots(MONDAY, weekly, r=r, appointments=booked) == []


def test_time_off_and_extra_hours():
    weekly = [WeeklyHours(0, 9 * 60, 12 * 60, OFFICE)]
    off_morning = [DateException(MONDAY, "off", 9 * 60, 11 * 60)]
    assert len(day_slots(MONDAY, weekly, exceptions=off_morning)) == 2
    assert day_slots(MONDAY, weekly, exceptions=[DateException(MONDAY, "off")]) == []
    extra = [DateException(MONDAY + timedelta(days=1), "extra", 18 * 60, 19 * 60, OFFICE)]
    tuesday = day_slots(MONDAY + timedelta(days=1), weekly, exceptions=extra)
    assert [s.astimezone(NY).strftime("%H:%M") for s in tuesday] == ["18:00", "18:30"]


def test_notice_and_horizon():
    weekly = [WeeklyHours(0, 9 * 60, 12 * 60, OFFICE)]
    now = local(MONDAY, 8)
    slots = day_slots(MONDAY, weekly, now=now, r=rules(notice_h=2))
    assert slots[0] == local(MONDAY, 10)
    assert day_slots(MONDAY + timedelta(days=7), weekly, now=now, r=rules(horizon_d=6)) == []


def test_dst_days_have_the_right_number_of_slots():
    spring, autumn = date(2026, 3, 8), date(2026, 11, 1)  # Sundays in New York
    working = [WeeklyHours(6, 9 * 60, 17 * 60, OFFICE)]
    assert len(day_slots(spring, working)) == 16 == len(day_slots(autumn, working))
    night = [WeeklyHours(6, 0, 4 * 60, OFFICE)]
    assert len(day_slots(spring, night)) == 6  # 00:00-04:00 lasts 3 hours that night
    assert len(day_slots(autumn, night)) == 10  # and 5 hours this one
    # Wall-clock times stay on the grid on either side of the change.
    assert [s.astimezone(NY).strftime("%H:%M") for s in day_slots(spring, working)][:2] == [
        "09:00",
        "09:30",
    ]


# --- Properties ---------------------------------------------------------------------------

quarter = st.integers(min_value=6 * 4, max_value=22 * 4).map(lambda q: q * 15)


@st.composite
def weeks(draw):
    blocks = []
    for weekday in range(7):
        for _ in range(draw(st.integers(0, 2))):
            a, b = sorted(draw(st.lists(quarter, min_size=2, max_size=2, unique=True)))
            place = draw(st.sampled_from([OFFICE, OFFICE, TELEHEALTH]))
            blocks.append(WeeklyHours(weekday, a, b, place, draw(st.booleans()) or True))
    return blocks


first_days = st.sampled_from(
    [date(2026, 3, 5), date(2026, 10, 29), date(2027, 1, 4), date(2026, 6, 15)]
)


@st.composite
def appointments(draw, first):
    out = []
    for _ in range(draw(st.integers(0, 25))):
        day = first + timedelta(days=draw(st.integers(0, 6)))
        start = local(day, 0) + timedelta(minutes=15 * draw(st.integers(20, 90)))
        out.append(
            (start, start + timedelta(minutes=draw(st.sampled_from([15, 30, 45, 50, 60, 90]))))
        )
    return out


@settings(max_examples=150, deadline=None)
@given(data=st.data(), weekly=weeks(), first=first_days, slot=st.sampled_from([15, 30, 60]),
       duration=st.sampled_from([15, 30, 45, 50, 60, 90, 120]), notice_h=st.integers(0, 72),
       now_offset=st.integers(-48, 120))  # fmt: skip
def test_offered_slots_are_free_inside_hours_after_notice_and_complete(
    data, weekly, first, slot, duration, notice_h, now_offset
):
    last = first + timedelta(days=6)
    booked = data.draw(appointments(first))
    now = local(first, 0) + timedelta(hours=now_offset)
    r = Rules(slot, duration, timedelta(hours=notice_h), timedelta(days=5))
    offered = slots_between(first, last, weekly=weekly, exceptions=[], appointments=booked,
                            place=OFFICE, rules=r, tz=NY, now=now)  # fmt: skip
    hours = bookable_hours(first, last, weekly, [], OFFICE, NY)
    length = timedelta(minutes=duration)

    def free(s):
        return all(not (s < b_end and b_start < s + length) for b_start, b_end in booked)

    def inside(s):
        return any(h_start <= s and s + length <= h_end for h_start, h_end in hours)

    assert offered == sorted(set(offered))
    for s in offered:
        assert free(s), f"{s} overlaps an appointment"
        assert inside(s), f"{s} leaves the bookable hours"
        assert s >= now + r.notice, f"{s} is inside the notice period"
        assert s <= now + r.horizon
    # Nothing on the grid that qualifies is left out (checked by brute force).
    expected = []
    for h_start, h_end in hours:
        t = h_start
        while t + length <= h_end:
            if free(t) and now + r.notice <= t <= now + r.horizon:
                expected.append(t)
            t += timedelta(minutes=slot)
    assert offered == expected
