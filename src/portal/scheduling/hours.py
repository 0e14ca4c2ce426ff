"""Editing a provider's hours (Staff › Availability), and why a day offers no times.

The checks the TOML loader (portal.scheduling.availability) and the editor share live
here: times of day on the minute, `to` after `from`, places that exist and are active.
The editor adds its own: no two weekly blocks of a provider overlap on a weekday, no
exception on a past date. Each change is one write transaction and one audit event with
the old and new values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import parse_id, write_transaction
from portal.core.errors import Invalid, NotFound
from portal.scheduling import slots as engine
from portal.scheduling.slots import TELEHEALTH, DateException, Rules, WeeklyHours
from portal.tables import AvailabilityBlock, AvailabilityException, Location, Provider

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TEXT_FIELDS = {"weekday": 1, "start": 5, "end": 5, "place": 20, "online": 3}
EXCEPTION_FIELDS = {"on_date": 10, "kind": 5, "start": 5, "end": 5, "place": 20, "online": 3,
                    "note": 200}  # fmt: skip
BLOCK_FACTS = ("weekday", "start_minute", "end_minute", "location", "telehealth",
               "bookable_online")  # fmt: skip


class AvailabilityError(ValueError):
    """A line of availability that cannot be taken (the loader's and the editor's)."""


def minute(value: Any, where: str) -> int:
    """The minute of the day of a time like 09:30 (24:00 is midnight at the end)."""
    try:
        hours, minutes = str(value).split(":")
        m = int(hours) * 60 + int(minutes)
    except ValueError as exc:
        raise AvailabilityError(f"{where}: {value!r} is not a time like 09:30") from exc
    if not 0 <= m <= 1440 or not 0 <= int(minutes) < 60:
        raise AvailabilityError(f"{where}: {value!r} is not a time of day")
    return m


def check_range(start: int, end: int, where: str) -> None:
    if end <= start:
        raise AvailabilityError(f"{where}: 'to' must be after 'from'")


async def active_locations(practice_id: int | None = None) -> dict[str, int]:
    """The active locations by name (a retired location takes no new hours)."""
    q = Location.select(Location.id, Location.name).where(Location.active.eq(True))
    if practice_id is not None:
        q = q.where(Location.practice == practice_id)
    return {r["name"]: r["id"] for r in await q}


def place_of(value: Any, locations: dict[str, int], where: str) -> tuple[int | None, bool]:
    """(location id, telehealth) of a place named in a file: a location's name or telehealth."""
    if str(value).lower() == TELEHEALTH:
        return None, True
    if value not in locations:
        known = ", ".join(sorted(locations)) or "none"
        raise AvailabilityError(
            f"{where}: unknown place {value!r} (locations: {known}, or telehealth)"
        )
    return locations[value], False


def hhmm(m: int | None) -> str:
    return "" if m is None else f"{m // 60:02d}:{m % 60:02d}"


# --- The editor's checks ---------------------------------------------------------------


def _time(typed: dict, key: str, errors: dict, label: str) -> int | None:
    if not typed.get(key):
        errors[key] = f"Enter the {label} time, like 09:00."
        return None
    try:
        return minute(typed[key], label)
    except AvailabilityError:
        errors[key] = f"Enter the {label} time as hours and minutes, like 09:00 or 13:30."
        return None


async def _place(practice_id: int, value: str, errors: dict) -> tuple[int | None, bool]:
    if value == TELEHEALTH:
        return None, True
    ids = {v: k for k, v in (await active_locations(practice_id)).items()}
    location = parse_id(value) if value else None
    if location not in ids:
        errors["place"] = "Choose an active location, or telehealth."
        return None, False
    return location, False


async def check_block(practice_id: int, provider_id: int, typed: dict,
                      block_id: int | None = None) -> dict:  # fmt: skip
    """The columns of a weekly block from the form, or Invalid with a message per field."""
    errors: dict[str, str] = {}
    weekday = parse_id(typed.get("weekday", "")) if typed.get("weekday", "") != "0" else 0
    if weekday is None or not 0 <= weekday <= 6:
        errors["weekday"] = "Choose a day of the week."
    start = _time(typed, "start", errors, "start")
    end = _time(typed, "end", errors, "end")
    if start is not None and end is not None and end <= start:
        errors["end"] = "The end time must be after the start time."
    location, telehealth = await _place(practice_id, typed.get("place", ""), errors)
    if not errors:
        q = AvailabilityBlock.select(
            AvailabilityBlock.start_minute, AvailabilityBlock.end_minute
        ).where(AvailabilityBlock.provider == provider_id, AvailabilityBlock.weekday == weekday)
        if block_id is not None:
            q = q.where(AvailabilityBlock.id != block_id)
        for b in await q:
            if start < b["end_minute"] and b["start_minute"] < end:
                errors["start"] = (
                    f"These hours overlap the {WEEKDAYS[weekday]} hours "
                    f"{hhmm(b['start_minute'])}–{hhmm(b['end_minute'])}."
                )
                break
    if errors:
        raise Invalid(errors=errors)
    return {"weekday": weekday, "start_minute": start, "end_minute": end, "location": location,
            "telehealth": telehealth, "bookable_online": typed.get("online") != "no"}  # fmt: skip


async def check_exception(practice_id: int, typed: dict, today: date) -> dict:
    errors: dict[str, str] = {}
    try:
        on = date.fromisoformat(typed.get("on_date", ""))
    except ValueError:
        on = None
        errors["on_date"] = "Enter the date, like 2026-12-24."
    if on is not None and on < today:
        errors["on_date"] = "That date is in the past: choose today or a later date."
    kind = typed.get("kind")
    if kind not in ("off", "extra"):
        errors["kind"] = "Choose a day off or extra hours."
    start = end = None
    if kind == "extra" or typed.get("start") or typed.get("end"):
        start = _time(typed, "start", errors, "start")
        end = _time(typed, "end", errors, "end")
        if start is not None and end is not None and end <= start:
            errors["end"] = "The end time must be after the start time."
    location, telehealth = None, False
    if kind == "extra":
        location, telehealth = await _place(practice_id, typed.get("place", ""), errors)
    if errors:
        raise Invalid(errors=errors)
    return {"on_date": on, "kind": kind, "start_minute": start, "end_minute": end,
            "location": location, "telehealth": telehealth,
            "bookable_online": typed.get("online") != "no", "note": typed.get("note", "")}  # fmt: skip


def _plain(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()
            if k not in ("id", "provider")}  # fmt: skip


async def _record(action: str, provider_id: int, actor: Actor, **detail: Any) -> None:
    await audit.record(action, actor_id=actor.user_id, ip=actor.ip,
                       subject=f"provider:{provider_id}", detail={"provider": provider_id, **detail})  # fmt: skip


async def block_of(provider_id: int, block_id: int) -> dict:
    row = (
        await AvailabilityBlock.select()
        .where(AvailabilityBlock.id == block_id, AvailabilityBlock.provider == provider_id)
        .first()
    )
    if row is None:
        raise NotFound("No such hours for this provider.")
    return row


async def exception_of(provider_id: int, exception_id: int) -> dict:
    row = (
        await AvailabilityException.select()
        .where(
            AvailabilityException.id == exception_id, AvailabilityException.provider == provider_id
        )
        .first()
    )
    if row is None:
        raise NotFound("No such date for this provider.")
    return row


async def _one_editor(provider_id: int) -> None:
    """Two staff saving overlapping hours at the same moment: the second waits for the first
    and then sees its hours (PostgreSQL: the provider's row locked until commit; SQLite's
    IMMEDIATE transaction already admits one writer at a time)."""
    if Provider._meta.db.engine_type != "sqlite":
        await Provider.select(Provider.id).where(Provider.id == provider_id).lock_rows()


async def add_block(practice_id: int, provider_id: int, typed: dict, actor: Actor) -> int:
    async with write_transaction():
        await _one_editor(provider_id)
        clean = await check_block(practice_id, provider_id, typed)
        rows = await AvailabilityBlock.insert(
            AvailabilityBlock(provider=provider_id, **clean)
        ).returning(AvailabilityBlock.id)
        await _record(
            "availability.block_added", provider_id, actor, block=rows[0]["id"], old=None, new=clean
        )
    return rows[0]["id"]


async def change_block(practice_id: int, provider_id: int, block_id: int, typed: dict,
                       actor: Actor) -> None:  # fmt: skip
    async with write_transaction():
        await _one_editor(provider_id)
        old = await block_of(provider_id, block_id)
        clean = await check_block(practice_id, provider_id, typed, block_id)
        changed = [k for k in BLOCK_FACTS if old[k] != clean[k]]
        if not changed:
            return
        await AvailabilityBlock.update({getattr(AvailabilityBlock, k): clean[k] for k in changed}).where(
            AvailabilityBlock.id == block_id
        )  # fmt: skip
        await _record("availability.block_changed", provider_id, actor, block=block_id,
                      old={k: old[k] for k in changed}, new={k: clean[k] for k in changed})  # fmt: skip


async def delete_block(provider_id: int, block_id: int, actor: Actor) -> None:
    async with write_transaction():
        old = await block_of(provider_id, block_id)
        await AvailabilityBlock.delete().where(AvailabilityBlock.id == block_id)
        await _record("availability.block_deleted", provider_id, actor, block=block_id,
                      old=_plain(old), new=None)  # fmt: skip


async def add_exception(practice_id: int, provider_id: int, typed: dict, today: date,
                        actor: Actor) -> int:  # fmt: skip
    async with write_transaction():
        clean = await check_exception(practice_id, typed, today)
        rows = await AvailabilityException.insert(
            AvailabilityException(provider=provider_id, **clean)
        ).returning(AvailabilityException.id)
        await _record("availability.exception_added", provider_id, actor,
                      exception=rows[0]["id"], old=None, new=_plain(clean))  # fmt: skip
    return rows[0]["id"]


async def delete_exception(provider_id: int, exception_id: int, actor: Actor) -> None:
    async with write_transaction():
        old = await exception_of(provider_id, exception_id)
        await AvailabilityException.delete().where(AvailabilityException.id == exception_id)
        await _record("availability.exception_deleted", provider_id, actor,
                      exception=exception_id, old=_plain(old), new=None)  # fmt: skip


# --- Preview: the times clients are offered, or why none --------------------------------


@dataclass(frozen=True)
class PreviewDay:
    day: date
    slots: list[datetime]
    reason: str  # "" when there are slots


def day_reason(day: date, weekly: list[WeeklyHours], exceptions: list[DateException],
               busy: engine.Busy, rules: Rules, tz: ZoneInfo, now: datetime) -> str:  # fmt: skip
    """Why `day` offers no time (the same engine as /schedule), or "" when it offers some."""
    places = {w.place for w in weekly} | {x.place for x in exceptions if x.kind == "extra"}
    todays = [x for x in exceptions if x.on == day]
    if not any(w.weekday == day.weekday() for w in weekly) and not any(
        x.kind == "extra" for x in todays
    ):
        return f"No weekly hours on {WEEKDAYS[day.weekday()]}"
    if engine.local_instant(day, 0, tz) > now + rules.horizon:
        return "Beyond the booking horizon"
    everything = [WeeklyHours(w.weekday, w.start_minute, w.end_minute, "any") for w in weekly]
    extra = [DateException(x.on, x.kind, x.start_minute, x.end_minute, "any") for x in todays]
    if not engine.bookable_hours(day, day, everything, extra, "any", tz):
        return "Day off"
    online = [h for p in places for h in engine.bookable_hours(day, day, weekly, todays, p, tz)]
    if not online:
        return "Hours not bookable online"
    # The day's start times with no notice, horizon or bookings in the way.
    open_rules = Rules(rules.slot_minutes, rules.duration_minutes, timedelta(0), timedelta(days=2))
    midnight = engine.local_instant(day, 0, tz)
    candidates = list(engine.free_slots(sorted(online), engine.Busy([]), open_rules, midnight))
    if candidates and all(t < now + rules.notice for t in candidates):
        return "Inside the minimum notice"
    if candidates and all(t > now + rules.horizon for t in candidates):
        return "Beyond the booking horizon"
    for p in places:
        hours = engine.bookable_hours(day, day, weekly, todays, p, tz)
        if any(True for _ in engine.free_slots(hours, busy, rules, now)):
            return ""
    return "Fully booked"


def preview(first: date, days: int, weekly: list[WeeklyHours], exceptions: list[DateException],
            appointments: list, rules: Rules, tz: ZoneInfo, now: datetime) -> list[PreviewDay]:  # fmt: skip
    """Each day from `first`: the start times offered at any place, or the reason for none."""
    busy = engine.Busy(appointments)
    places = {w.place for w in weekly} | {x.place for x in exceptions if x.kind == "extra"}
    last = first + timedelta(days=days - 1)
    found: set[datetime] = set()
    for p in places:
        hours = engine.bookable_hours(first, last, weekly, exceptions, p, tz)
        found.update(engine.free_slots(hours, busy, rules, now))
    by_day = engine.by_local_day(sorted(found), tz)
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        got = by_day.get(day, [])
        reason = "" if got else day_reason(day, weekly, exceptions, busy, rules, tz, now)
        out.append(PreviewDay(day, got, reason or ("Fully booked" if not got else "")))
    return out
