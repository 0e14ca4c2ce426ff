"""Self-scheduling: what a client may choose, the slots on offer, and booking one.

Every rule is checked again when booking, whatever the form said. The database
has the last word on double booking (an exclusion constraint on PostgreSQL,
triggers inside an immediate transaction on SQLite): of two clients racing for
one slot, exactly one insert succeeds and the other hears "just taken".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import Conflict, Invalid
from portal.practice.info import PracticeInfo
from portal.scheduling import slots as scheduling
from portal.scheduling.online_limit import approval_reason, booking_limit_reason
from portal.scheduling.places import parse_place, provider_places
from portal.scheduling.slots import TELEHEALTH, DateException, Place, Rules, WeeklyHours
from portal.tables import (
    Appointment,
    AvailabilityBlock,
    AvailabilityException,
    Provider,
    Service,
)
from portal.tables.people import ClientStatus
from portal.tables.scheduling import AppointmentStatus

TAKEN = "That time was just taken by someone else. Here are the times still free."
# Starts the picker sends lie within the booking horizon (at most a year ahead); far
# outside these bounds date arithmetic (a week's end, a visit's end) would overflow.
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9000, 1, 1, tzinfo=UTC)
# A week further ahead than this is bad input, like a week that is not a date.
WEEKS_AHEAD = timedelta(weeks=520)


@dataclass
class Choices:
    """What the client picked (any part may be missing) and what they may pick."""

    providers: list[dict]
    services: list[dict] = field(default_factory=list)
    places: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    provider: dict | None = None
    service: dict | None = None
    place: Place | None = None
    reason: str = ""  # why nothing can be offered, when nothing can

    @property
    def complete(self) -> bool:
        return bool(self.provider and self.service and self.place is not None and not self.reason)


def _statuses(provider: dict) -> list[str]:
    raw = provider["self_schedule_statuses"]
    return json.loads(raw) if isinstance(raw, str) else list(raw or [])


async def choices(
    client: dict,
    provider_id: int | None,
    service_id: int | None,
    place_value: str,
    *,
    practice: PracticeInfo | None = None,
    now: datetime | None = None,
) -> Choices:
    """What the client may choose. With `practice` and `now`, also the limit on online
    bookings (`booking_limit_reason`), said as the reason nothing is offered."""
    providers = await Provider.select(
        Provider.id, Provider.display_name, Provider.credentials, Provider.self_schedule_statuses,
        Provider.slot_minutes, Provider.min_notice_hours, Provider.horizon_days,
        Provider.online_booking_limit, Provider.online_needs_approval,
    ).where(Provider.active.eq(True), Provider.practice == client["practice"]).order_by(Provider.display_name)  # fmt: skip
    c = Choices(providers=providers)
    # Said up front, before any choice: a self-registered client waiting for approval.
    c.reason = await approval_reason(client, practice)
    if c.reason:
        return c
    c.provider = next((p for p in providers if p["id"] == provider_id), None)
    if c.provider is None:
        return c
    if client["status"] not in _statuses(c.provider):
        c.reason = (
            f"{c.provider['display_name']} does not take online bookings for clients whose "
            f"status is “{client['status']}”. Please call the practice to book."
        )
        return c
    if practice is not None and now is not None:
        c.reason = await booking_limit_reason(client["id"], c.provider, practice, now)
        if c.reason:
            return c
    c.services = await Service.select(
        Service.id, Service.name, Service.duration_minutes, Service.telehealth_allowed, Service.client_may_schedule,
        Service.new_clients_only,
    ).where(Service.active.eq(True), Service.practice == client["practice"]).order_by(Service.name)  # fmt: skip
    c.service = next((s for s in c.services if s["id"] == service_id), None)
    # A service for new clients only (an initial assessment) is offered to a new client only.
    is_new = client["status"] == ClientStatus.new
    c.services = [
        s for s in c.services
        if (s["client_may_schedule"] and (is_new or not s["new_clients_only"])) or s["id"] == service_id
    ]  # fmt: skip
    places = await provider_places(c.provider["id"])
    if not places:
        c.reason = f"{c.provider['display_name']} does not take online bookings. Please call the practice to book."
        return c
    if c.service is None:
        c.places = places
        return c
    if not c.service["client_may_schedule"]:
        c.reason = (
            f"“{c.service['name']}” can't be booked online. Please call the practice to book it."
        )
        return c
    if c.service["new_clients_only"] and not is_new:
        c.reason = (
            f"“{c.service['name']}” is booked online by new clients only. "
            "Please call the practice to book it."
        )
        return c
    c.places = [p for p in places if p[0] != TELEHEALTH or c.service["telehealth_allowed"]]
    if not c.places:
        c.reason = f"“{c.service['name']}” is not offered by telehealth, and {c.provider['display_name']} takes online bookings only for telehealth."
        return c
    place = parse_place(place_value)
    if place is not None:
        if str(place) not in {p[0] for p in c.places}:
            if place == TELEHEALTH and not c.service["telehealth_allowed"]:
                c.reason = f"“{c.service['name']}” is not offered by telehealth. Choose an office."
            else:
                c.reason = f"{c.provider['display_name']} does not take online bookings there. Choose another place."
            return c
        c.place = place
    return c


def rules_for(provider: dict, service: dict) -> Rules:
    return Rules(
        slot_minutes=provider["slot_minutes"],
        duration_minutes=service["duration_minutes"],
        notice=timedelta(hours=provider["min_notice_hours"]),
        horizon=timedelta(days=provider["horizon_days"]),
    )


async def _schedule_inputs(
    provider_id: int, first: date, last: date, tz
) -> tuple[list, list, list]:  # noqa: ANN001
    blocks = await AvailabilityBlock.select().where(AvailabilityBlock.provider == provider_id)
    weekly = [
        WeeklyHours(
            b["weekday"],
            b["start_minute"],
            b["end_minute"],
            TELEHEALTH if b["telehealth"] else b["location"],
            b["bookable_online"],
        )  # fmt: skip
        for b in blocks
    ]
    rows = await AvailabilityException.select().where(
        AvailabilityException.provider == provider_id,
        AvailabilityException.on_date >= first,
        AvailabilityException.on_date <= last,
    )
    exceptions = [
        DateException(
            r["on_date"],
            r["kind"],
            r["start_minute"],
            r["end_minute"],
            TELEHEALTH if r["telehealth"] else r["location"],
            r["bookable_online"],
        )  # fmt: skip
        for r in rows
    ]
    window_start = scheduling.local_instant(first, 0, tz)
    window_end = scheduling.local_instant(last, 1440, tz)
    booked = await Appointment.select(Appointment.starts_at, Appointment.ends_at).where(
        Appointment.provider == provider_id,
        Appointment.status != AppointmentStatus.cancelled,
        Appointment.starts_at < window_end,
        Appointment.ends_at > window_start,
    )
    return weekly, exceptions, [(a["starts_at"], a["ends_at"]) for a in booked]


async def slots(
    c: Choices, first: date, last: date, practice: PracticeInfo, now: datetime
) -> list[datetime]:
    assert c.complete
    tz = practice.time_zone
    weekly, exceptions, appointments = await _schedule_inputs(c.provider["id"], first, last, tz)
    return scheduling.slots_between(
        first, last, weekly=weekly, exceptions=exceptions, appointments=appointments,
        place=c.place, rules=rules_for(c.provider, c.service), tz=tz, now=now,
    )  # fmt: skip


async def next_free(
    c: Choices, after: date, practice: PracticeInfo, now: datetime
) -> datetime | None:
    """The first free slot from `after` to the end of the horizon, if any."""
    last = (now + timedelta(days=c.provider["horizon_days"])).astimezone(practice.time_zone).date()
    if after > last:
        return None
    found = await slots(c, after, last, practice, now)
    return found[0] if found else None


def parse_start(value: str) -> datetime | None:
    """A slot's start as the picker sends it (ISO 8601 with its offset); None if it is not
    one, or lies outside any booking horizon (year 9999, or 0001 in UTC+14)."""
    try:
        start = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if start.tzinfo is None or start.utcoffset() is None:
            return None
        utc = start.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return start if EARLIEST_START <= utc <= LATEST_START else None


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True)
class Week:
    """One week of the picker: its days with their free start times, and where to go next."""

    monday: date
    days: list[tuple[date, list[datetime]]]
    prev_week: date | None  # None in the current week: the past is not on offer
    next_week: date
    next_slot: datetime | None  # the first free time after an empty week, if any


async def week(c: Choices, week_text: str, practice: PracticeInfo, now: datetime) -> Week:
    """The week the client asked for (ISO date; this week if absent, bad or past).

    When the choices are complete but this week is empty, finds the next free time; when
    even the current week and the whole horizon are empty, sets `c.reason` to say so.
    """
    tz = practice.time_zone
    this_monday = monday_of(now.astimezone(tz).date())
    try:
        monday = monday_of(date.fromisoformat(week_text)) if week_text else this_monday
    except (ValueError, OverflowError):
        monday = this_monday
    if monday > this_monday + WEEKS_AHEAD:  # year 9999: its Sunday would not be a date
        monday = this_monday
    monday = max(monday, this_monday)
    days: list[tuple[date, list[datetime]]] = []
    next_slot = None
    if c.complete:
        sunday = monday + timedelta(days=6)
        found = scheduling.by_local_day(await slots(c, monday, sunday, practice, now), tz)
        days = [
            (monday + timedelta(days=i), found.get(monday + timedelta(days=i), []))
            for i in range(7)
        ]
        if not any(s for _, s in days):
            next_slot = await next_free(c, monday + timedelta(days=7), practice, now)
            if next_slot is None and monday == this_monday:
                c.reason = (
                    f"{c.provider['display_name']} has no free time for this in the next "
                    f"{c.provider['horizon_days']} days. Try another provider or place, or call the practice."
                )
    return Week(
        monday=monday,
        days=days,
        prev_week=monday - timedelta(days=7) if monday > this_monday else None,
        next_week=monday + timedelta(days=7),
        next_slot=next_slot,
    )


async def book(
    client: dict, c: Choices, start: datetime | None, *, now: datetime, actor: Actor
) -> int:
    """Book `start` if it is still on offer; the new appointment's id.

    Raises Invalid when the choice breaks a rule (the limit on online bookings too),
    Conflict when the time was taken.
    """
    practice = actor.practice
    if start is None:
        raise Invalid("Choose a time from the list.")
    if not c.complete:
        raise Invalid(c.reason or "Choose a provider, a service and a place first.")
    tz = practice.time_zone
    day = start.astimezone(tz).date()
    if start not in await slots(c, day, day, practice, now):
        rules = rules_for(c.provider, c.service)
        if start < now + rules.notice:
            hours = c.provider["min_notice_hours"]
            raise Invalid(
                f"Online bookings need at least {hours} hours' notice. Choose a later time."
            )
        if start > now + rules.horizon:
            raise Invalid(
                f"Online bookings open {c.provider['horizon_days']} days ahead. Choose an earlier time."
            )
        raise Conflict(TAKEN)
    end = start + timedelta(minutes=c.service["duration_minutes"])
    telehealth = c.place == TELEHEALTH
    try:
        # The client's row locked (PostgreSQL; SQLite has one writer): their bookings
        # pass the limit one at a time, each counting the ones committed before it.
        async with write_transaction(lock_client=client["id"]):
            reason = await booking_limit_reason(client["id"], c.provider, practice, now)
            if reason:
                raise Invalid(reason)
            row = await Appointment.insert(
                Appointment(
                    client=client["id"],
                    provider=c.provider["id"],
                    service=c.service["id"],
                    location=None if telehealth else c.place,
                    telehealth=telehealth,
                    starts_at=start,
                    ends_at=end,
                    # Waiting for staff (scheduling/requests.py) when the provider wants it.
                    status=AppointmentStatus.requested
                    if c.provider.get("online_needs_approval")
                    else AppointmentStatus.scheduled,
                    created_at=now,
                    booked_online=True,
                )  # fmt: skip
            ).returning(Appointment.id)
            appointment_id = row[0]["id"]
            await audit.record(
                "appointment.booked",
                actor_id=actor.user_id,
                ip=actor.ip,
                subject=f"appointment:{appointment_id}",
            )
            provider_email = (
                await Provider.select(Provider.user.email.as_alias("email"))
                .where(Provider.id == c.provider["id"])
                .first()
            )["email"]
            if provider_email:
                await mail.queue(
                    provider_email, "appointment_changed",
                    what="requested" if c.provider.get("online_needs_approval") else "booked",
                    when=start.astimezone(tz).strftime("%A %-d %B %Y at %-I:%M %p %Z"),
                    practice_name=practice.name, portal_url=actor.portal_url,
                )  # fmt: skip
    except Exception as exc:
        if "no_double_booking" in str(exc) or type(exc).__name__ == "ExclusionViolationError":
            raise Conflict(TAKEN) from exc
        raise
    return appointment_id
