"""The staff agenda: a day or a week of appointments, one provider's or the whole practice's.

Who sees what (the access policy, portal.staff.access): owner, manager and scheduler every
provider; a provider their own agenda only (another provider's is "not found"); the biller
none (the handler's guard). A view costs a fixed number of queries whatever the number of
providers and appointments: the practice's providers (one) and the appointments of the
period with client, provider, service and location joined in (one).

Times are stored UTC and the period's days are the practice's local days (DST-correct).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from portal.core.errors import Invalid, NotFound
from portal.practice.info import PracticeInfo
from portal.scheduling import slots as engine
from portal.scheduling.appointments import day_bounds
from portal.scheduling.slots import TELEHEALTH, DateException, Rules, WeeklyHours
from portal.staff.access import Staff
from portal.tables import Appointment, AvailabilityBlock, AvailabilityException, Provider
from portal.tables.accounts import Role
from portal.tables.scheduling import AppointmentStatus

# The roles that see the whole practice's agenda; a provider sees their own.
WHOLE_PRACTICE = frozenset({Role.owner, Role.manager, Role.scheduler})
ALL = "all"
CLASH = "That time clashes with another of the provider's appointments. Choose another time."
OVERRIDE_HINT = " Tick “Override notice and horizon” to book it anyway."
FAR = timedelta(days=3650)

STATUS_LABELS = {
    AppointmentStatus.requested: "Requested",
    AppointmentStatus.scheduled: "Scheduled",
    AppointmentStatus.confirmed: "Confirmed",
    AppointmentStatus.cancelled: "Cancelled",
    AppointmentStatus.completed: "Attended",
    AppointmentStatus.no_show: "No-show",
}

COLUMNS = (
    Appointment.id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.late_cancel,
    Appointment.cancel_reason,
    Appointment.telehealth,
    Appointment.client,
    Appointment.provider,
    Appointment.service,
    Appointment.location,
    Appointment.client.first_name,
    Appointment.client.last_name,
    Appointment.client.preferred_name,
    Appointment.provider.display_name,
    Appointment.service.name,
    Appointment.service.duration_minutes,
    Appointment.location.name,
    Appointment.diagnosis_codes,
    Appointment.declined_at,
)


def status_label(row: dict) -> str:
    if row["status"] == AppointmentStatus.cancelled and row.get("late_cancel"):
        return "Late-cancelled"
    if row["status"] == AppointmentStatus.cancelled and row.get("declined_at"):
        return "Request declined"
    return STATUS_LABELS.get(row["status"], row["status"])


def client_name(row: dict, prefix: str = "client.") -> str:
    first = row[f"{prefix}preferred_name"] or row[f"{prefix}first_name"]
    return f"{first} {row[f'{prefix}last_name']}".strip()


def sees_practice(staff: Staff) -> bool:
    return staff.role in WHOLE_PRACTICE


async def visible_providers(staff: Staff, practice_id: int) -> list[dict]:
    """The providers whose agenda `staff` may open (active ones first, then by name)."""
    query = Provider.select(Provider.id, Provider.display_name, Provider.active).where(
        Provider.practice == practice_id
    )
    if not sees_practice(staff):
        query = query.where(Provider.id == (staff.provider_id or -1))
    rows = await query.order_by(Provider.display_name).order_by(Provider.id)
    return sorted(rows, key=lambda r: not r["active"])


def chosen_provider(staff: Staff, providers: list[dict], value: str) -> int | None:
    """The provider `value` names (None: the whole practice). A provider always gets their
    own agenda; a provider id out of reach (another provider's, another practice's, not an
    id) is NotFound."""
    if not sees_practice(staff):
        if value in ("", ALL) or value == str(staff.provider_id):
            if staff.provider_id is None or not providers:
                raise NotFound("No agenda here.")
            return staff.provider_id
        raise NotFound("No such provider.")
    if value in ("", ALL):
        return None
    match = next((p["id"] for p in providers if str(p["id"]) == value), None)
    if match is None:
        raise NotFound("No such provider.")
    return match


def parse_day(value: str, today: date) -> date:
    """The day asked for (YYYY-MM-DD); today when absent or not a date in range."""
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        return today
    return day if date(2000, 1, 1) <= day <= date(9000, 1, 1) else today


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class View:
    """A period of the agenda: its days, each with its appointments in start order."""

    first: date
    days: list[tuple[date, list[dict]]]
    providers: list[dict]
    provider_id: int | None  # None: the whole practice
    week: bool
    today: date
    requested: int = 0  # requested bookings in the period (approved at /staff/agenda/requests)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def provider_value(self) -> str:
        return ALL if self.provider_id is None else str(self.provider_id)

    @property
    def provider_name(self) -> str:
        if self.provider_id is None:
            return "Whole practice"
        return next(p["display_name"] for p in self.providers if p["id"] == self.provider_id)

    @property
    def previous(self) -> date:
        return self.first - timedelta(days=7 if self.week else 1)

    @property
    def next(self) -> date:
        return self.first + timedelta(days=7 if self.week else 1)

    @property
    def last(self) -> date:
        return self.days[-1][0]


async def appointments_between(
    practice_id: int, first: date, days: int, practice: PracticeInfo, provider_id: int | None
) -> list[dict]:
    """Every appointment starting on the local days first..first+days-1 (one query)."""
    tz = practice.time_zone
    start, _ = day_bounds(first, tz)
    _, end = day_bounds(first + timedelta(days=days - 1), tz)
    query = Appointment.select(*COLUMNS).where(
        Appointment.starts_at >= start,
        Appointment.starts_at < end,
        Appointment.provider.practice == practice_id,
    )
    if provider_id is not None:
        query = query.where(Appointment.provider == provider_id)
    return await query.order_by(Appointment.starts_at).order_by(Appointment.provider.display_name)


async def view(
    staff: Staff, practice: PracticeInfo, now: datetime, *, day_text: str = "",
    provider_text: str = "", week: bool = False,
) -> View:  # fmt: skip
    """The agenda `staff` asked for: a day, or the week (Monday to Sunday) of that day."""
    tz = practice.time_zone
    today = now.astimezone(tz).date()
    providers = await visible_providers(staff, practice.id)
    provider_id = chosen_provider(staff, providers, provider_text)
    day = parse_day(day_text, today)
    first = monday_of(day) if week else day
    length = 7 if week else 1
    rows = await appointments_between(practice.id, first, length, practice, provider_id)
    by_day: dict[date, list[dict]] = {}
    counts: dict[str, int] = {}
    for r in rows:
        r["label"] = status_label(r)
        r["name"] = client_name(r)
        by_day.setdefault(r["starts_at"].astimezone(tz).date(), []).append(r)
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    days = [
        (first + timedelta(days=i), by_day.get(first + timedelta(days=i), []))
        for i in range(length)
    ]
    return View(
        first=first, days=days, providers=providers, provider_id=provider_id, week=week,
        today=today, requested=counts.get(AppointmentStatus.requested, 0), counts=counts,
    )  # fmt: skip


async def one(staff: Staff, practice_id: int, appointment_id: int) -> dict:
    """One appointment `staff` may act on (with the client's email for mails); NotFound for
    one out of reach (another practice's, another provider's for a provider)."""
    query = Appointment.select(
        *COLUMNS,
        Appointment.provider.slot_minutes,
        Appointment.client.user.email.as_alias("client_email"),
    ).where(Appointment.id == appointment_id, Appointment.provider.practice == practice_id)
    if not sees_practice(staff):
        query = query.where(Appointment.provider == (staff.provider_id or -1))
    row = await query.first()
    if row is None:
        raise NotFound("That appointment was not found.")
    row["label"] = status_label(row)
    row["name"] = client_name(row)
    return row


# --- The times on offer -------------------------------------------------------------------


async def provider_rules(practice_id: int, provider_id: int | None) -> dict | None:
    if provider_id is None:
        return None
    return await Provider.select(
        Provider.id, Provider.display_name, Provider.slot_minutes, Provider.min_notice_hours,
        Provider.horizon_days, Provider.active,
    ).where(Provider.id == provider_id, Provider.practice == practice_id).first()  # fmt: skip


async def times(
    provider: dict, minutes: int, place: engine.Place, day: date, practice: PracticeInfo,
    now: datetime, *, override: bool, ignore: int | None = None, busy: bool = True,
) -> list[datetime]:  # fmt: skip
    """The provider's free start times on local `day` at `place` for a `minutes`-long visit
    (three queries). `override`: no notice or horizon; `ignore`: an appointment whose time
    counts as free (the one being moved); `busy=False`: as if nothing were booked."""
    tz = practice.time_zone
    blocks = await AvailabilityBlock.select().where(AvailabilityBlock.provider == provider["id"])
    weekly = [
        WeeklyHours(
            b["weekday"],
            b["start_minute"],
            b["end_minute"],
            TELEHEALTH if b["telehealth"] else b["location"],
            True,
        )  # fmt: skip
        for b in blocks
    ]
    rows = await AvailabilityException.select().where(
        AvailabilityException.provider == provider["id"], AvailabilityException.on_date == day
    )
    exceptions = [
        DateException(
            r["on_date"],
            r["kind"],
            r["start_minute"],
            r["end_minute"],
            TELEHEALTH if r["telehealth"] else r["location"],
            True,
        )  # fmt: skip
        for r in rows
    ]
    booked: list = []
    if busy:
        start, end = engine.local_instant(day, 0, tz), engine.local_instant(day, 1440, tz)
        query = Appointment.select(Appointment.starts_at, Appointment.ends_at).where(
            Appointment.provider == provider["id"],
            Appointment.status != AppointmentStatus.cancelled,
            Appointment.starts_at < end + timedelta(minutes=minutes),
            Appointment.ends_at > start,
        )
        if ignore is not None:
            query = query.where(Appointment.id != ignore)
        booked = [(a["starts_at"], a["ends_at"]) for a in await query]
    rules = Rules(
        slot_minutes=provider["slot_minutes"],
        duration_minutes=minutes,
        # Overriding waives the provider's notice, never the clock: no booking in the past.
        notice=timedelta(0) if override else timedelta(hours=provider["min_notice_hours"]),
        horizon=FAR if override else timedelta(days=provider["horizon_days"]),
    )
    return engine.slots_between(
        day, day, weekly=weekly, exceptions=exceptions, appointments=booked,
        place=place, rules=rules, tz=tz, now=now,
    )  # fmt: skip


async def check_time(
    provider: dict, minutes: int, place: engine.Place, start: datetime | None,
    practice: PracticeInfo, now: datetime, *, override: bool, ignore: int | None = None,
) -> datetime:  # fmt: skip
    """`start` if it is free and on offer; else Invalid saying why (on the `start` field)."""
    if start is None:
        raise Invalid(errors={"start": "Choose a time from the list."})
    if start <= now:
        raise Invalid(errors={"start": "That time has passed. Choose one still to come."})
    day = start.astimezone(practice.time_zone).date()
    args = (provider, minutes, place, day, practice, now)
    if start in await times(*args, override=override, ignore=ignore):
        return start
    if start in await times(*args, override=True, ignore=ignore):
        if start < now + timedelta(hours=provider["min_notice_hours"]):
            raise Invalid(errors={"start": f"{provider['display_name']} asks for "
                                  f"{provider['min_notice_hours']} hours' notice." + OVERRIDE_HINT})  # fmt: skip
        raise Invalid(errors={"start": f"{provider['display_name']} books {provider['horizon_days']} "
                              "days ahead at most." + OVERRIDE_HINT})  # fmt: skip
    if start in await times(*args, override=True, busy=False):
        raise Invalid(errors={"start": CLASH})
    raise Invalid(errors={"start": "That is not one of the provider's times there. Choose one from the list."})  # fmt: skip
