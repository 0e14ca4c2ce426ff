"""Staff acting on the agenda: book for a client, move, cancel, mark what happened.

The times on offer come from the slot engine (portal.scheduling.slots) with the provider's
hours, online-bookable or not (staff book the hours clients cannot), and the provider's
notice and horizon, which staff may override. Double booking is never overridable: the
database guard (an exclusion constraint on PostgreSQL, triggers on SQLite) has the last
word, and its refusal is said as the clash it is.

A booking by staff is `scheduled` (never `requested`) and not counted as online
(`booked_online` false). Each action is one transaction: the row written, the audit event
(old and new values) and the client's mail (the outbox) commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.db import parse_id, write_transaction
from portal.core.errors import Conflict, Invalid
from portal.practice.info import PracticeInfo
from portal.scheduling import agenda
from portal.scheduling import slots as engine
from portal.scheduling.agenda import CLASH
from portal.scheduling.booking import parse_start
from portal.scheduling.slots import TELEHEALTH
from portal.staff.access import Staff, client_clause
from portal.staff.clients import search_clause
from portal.tables import (
    Appointment,
    Client,
    ClientEmail,
    Location,
    Service,
)
from portal.tables.scheduling import AppointmentStatus

REASON_MAX = 500
LISTED = 20  # clients a name search lists
FINISHED = (AppointmentStatus.completed, AppointmentStatus.no_show)
OUTCOMES = {"completed": "attended", "no_show": "a no-show", "late_cancel": "late-cancelled"}
WHEN = "%A %-d %B %Y at %-I:%M %p %Z"


def is_clash(exc: Exception) -> bool:
    return "no_double_booking" in str(exc) or type(exc).__name__ == "ExclusionViolationError"


# --- Booking for a client -----------------------------------------------------------------


@dataclass
class BookingForm:
    """The booking form as typed (strings) and what it resolves to."""

    typed: dict[str, str]
    clients: list[dict] = field(default_factory=list)  # the name search's matches
    client: dict | None = None
    providers: list[dict] = field(default_factory=list)
    provider: dict | None = None
    services: list[dict] = field(default_factory=list)
    service: dict | None = None
    places: list[tuple[str, str]] = field(default_factory=list)
    place: engine.Place | None = None
    day: date | None = None
    times: list[datetime] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""

    @property
    def override(self) -> bool:
        return self.typed.get("override") == "yes"

    @property
    def complete(self) -> bool:
        return bool(self.client and self.provider and self.service and self.place is not None
                    and self.day)  # fmt: skip


FIELDS = {"q": 100, "client": 12, "provider": 12, "service": 12, "place": 20, "date": 10,
          "start": 40, "override": 3}  # fmt: skip


_CLIENT_COLUMNS = (Client.id, Client.first_name, Client.last_name, Client.preferred_name,
                   Client.date_of_birth)  # fmt: skip


async def booking_form(
    staff: Staff, practice: PracticeInfo, typed: dict[str, str], now: datetime
) -> BookingForm:
    """What the booking form offers for what was typed: the clients a name search finds
    (those `staff` may reach), the providers, services and places, and once all is chosen
    the free times of the chosen day."""
    f = BookingForm(typed=typed)
    reach = [Client.practice == practice.id, client_clause(staff, "client.id"),
             Client.status != "inactive"]  # fmt: skip
    found = search_clause(typed.get("q", ""))
    if found is not None:
        f.clients = await (
            Client.select(*_CLIENT_COLUMNS)
            .where(*reach, found)
            .order_by(Client.last_name)
            .order_by(Client.id)
            .limit(LISTED)
        )
    client_id = parse_id(typed.get("client", ""))
    if client_id is not None:
        f.client = await (
            Client.select(*_CLIENT_COLUMNS).where(Client.id == client_id, *reach).first()
        )
    f.providers = [p for p in await agenda.visible_providers(staff, practice.id) if p["active"]]
    provider_id = parse_id(typed.get("provider", ""))
    if any(p["id"] == provider_id for p in f.providers):
        f.provider = await agenda.provider_rules(practice.id, provider_id)
    f.services = (
        await Service.select(
            Service.id, Service.name, Service.duration_minutes, Service.telehealth_allowed
        )
        .where(Service.practice == practice.id, Service.active.eq(True))
        .order_by(Service.name)
    )
    f.service = next((s for s in f.services if str(s["id"]) == typed.get("service")), None)
    locations = (
        await Location.select(Location.id, Location.name)
        .where(Location.practice == practice.id, Location.active.eq(True))
        .order_by(Location.name)
    )
    f.places = [(str(r["id"]), r["name"]) for r in locations]
    if f.service is None or f.service["telehealth_allowed"]:
        f.places.append((TELEHEALTH, "Telehealth (video)"))
    value = typed.get("place", "")
    if value in {v for v, _ in f.places}:
        f.place = TELEHEALTH if value == TELEHEALTH else int(value)
    f.day = agenda.parse_day(typed.get("date", ""), now.astimezone(practice.time_zone).date())
    if f.complete:
        minutes = f.service["duration_minutes"]
        f.times = await agenda.times(f.provider, minutes, f.place, f.day, practice, now,
                              override=f.override)  # fmt: skip
    return f


async def book(staff: Staff, f: BookingForm, *, now: datetime, actor: Actor) -> int:
    """Book the chosen time for the chosen client; the appointment's id. Invalid (by field)
    for anything missing or not on offer, and for a clash the database found."""
    errors = {}
    if f.client is None:
        errors["client"] = "Find the client and choose them."
    if f.service is None:
        errors["service"] = "Choose a service."
    if f.provider is None:
        errors["provider"] = "Choose a provider."
    if f.place is None:
        errors["place"] = "Choose where: an office or telehealth."
    if errors:
        raise Invalid(errors=errors)
    practice = actor.practice
    minutes = f.service["duration_minutes"]
    start = await agenda.check_time(f.provider, minutes, f.place, parse_start(f.typed.get("start", "")),
                             practice, now, override=f.override)  # fmt: skip
    telehealth = f.place == TELEHEALTH
    try:
        async with write_transaction():
            row = await Appointment.insert(
                Appointment(
                    client=f.client["id"],
                    provider=f.provider["id"],
                    service=f.service["id"],
                    location=None if telehealth else f.place,
                    telehealth=telehealth,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=minutes),
                    status=AppointmentStatus.scheduled,
                    created_at=now,
                    booked_online=False,
                )  # fmt: skip
            ).returning(Appointment.id)
            appointment_id = row[0]["id"]
            await audit.record(
                "appointment.booked_by_staff", actor_id=actor.user_id, ip=actor.ip,
                subject=f"appointment:{appointment_id}",
                detail={"client": f.client["id"], "new": {
                    "provider": f.provider["id"], "service": f.service["id"],
                    "place": str(f.place), "starts_at": start.isoformat(),
                    "status": AppointmentStatus.scheduled.value}, "override": f.override},
            )  # fmt: skip
            await mail_client(f.client["id"], "", "appointment_booked_by_staff", actor,
                        when=start.astimezone(practice.time_zone).strftime(WHEN))  # fmt: skip
    except Exception as exc:
        if is_clash(exc):
            raise Invalid(errors={"start": CLASH}) from exc
        raise
    return appointment_id


# --- Acting on one appointment ------------------------------------------------------------


async def mail_client(client_id: int, email: str, template: str, actor: Actor, **context) -> None:
    """The client's mail (staff booked, moved, cancelled, approved or declined it): to their
    portal account's address, else their primary email; nothing when they have neither."""
    if not email:
        account = (
            await Client.select(Client.user.email.as_alias("email"))
            .where(Client.id == client_id)
            .first()
        )
        email = (account or {}).get("email") or ""
    if not email:
        row = (
            await ClientEmail.select(ClientEmail.address)
            .where(ClientEmail.client == client_id, ClientEmail.is_primary.eq(True))
            .first()
        )
        email = row["address"].strip() if row else ""
    if email:
        await mail.queue(email, template, practice_name=actor.practice_name,
                         portal_url=actor.portal_url, **context)  # fmt: skip


def _refuse_closed(row: dict, action: str) -> None:
    if row["status"] == AppointmentStatus.cancelled:
        raise Conflict(f"This appointment was cancelled, so it can't be {action}.")
    if row["status"] in FINISHED:
        raise Conflict(f"This appointment was marked {row['label'].lower()}, so it can't be {action}.")  # fmt: skip


async def move(
    staff: Staff, appointment_id: int, start_text: str, *, override: bool, now: datetime,
    actor: Actor,
) -> dict:  # fmt: skip
    """Move the appointment to a new start (one UPDATE): its old time is free at once."""
    practice = actor.practice
    row = await agenda.one(staff, practice.id, appointment_id)
    _refuse_closed(row, "moved")
    start = parse_start(start_text)
    if start is not None and start == row["starts_at"]:
        raise Invalid(errors={"start": "That is its time already. Choose another time."})
    provider = await agenda.provider_rules(practice.id, row["provider"])
    minutes = int((row["ends_at"] - row["starts_at"]).total_seconds() // 60)
    place = TELEHEALTH if row["telehealth"] else row["location"]
    start = await agenda.check_time(provider, minutes, place, start, practice, now,
                             override=override, ignore=appointment_id)  # fmt: skip
    end = start + timedelta(minutes=minutes)
    tz = practice.time_zone
    try:
        async with write_transaction():
            changed = await Appointment.update(
                {Appointment.starts_at: start, Appointment.ends_at: end}
            ).where(
                Appointment.id == appointment_id, Appointment.status == row["status"],
                Appointment.starts_at == row["starts_at"],
            ).returning(Appointment.id)  # fmt: skip
            if not changed:
                raise Conflict("This appointment changed meanwhile; here is how it stands now.")
            await audit.record(
                "appointment.moved", actor_id=actor.user_id, ip=actor.ip,
                subject=f"appointment:{appointment_id}",
                detail={"client": row["client"], "override": override,
                        "old": {"starts_at": row["starts_at"].isoformat(), "ends_at": row["ends_at"].isoformat()},
                        "new": {"starts_at": start.isoformat(), "ends_at": end.isoformat()}},
            )  # fmt: skip
            await mail_client(row["client"], row["client_email"], "appointment_moved", actor,
                        old_when=row["starts_at"].astimezone(tz).strftime(WHEN),
                        new_when=start.astimezone(tz).strftime(WHEN))  # fmt: skip
    except Exception as exc:
        if is_clash(exc):
            raise Invalid(errors={"start": CLASH}) from exc
        raise
    return {**row, "starts_at": start, "ends_at": end}


async def cancel(
    staff: Staff, appointment_id: int, reason: str, *, now: datetime, actor: Actor
) -> dict:
    """Cancel with a reason (required); the client is mailed (without the reason)."""
    practice = actor.practice
    row = await agenda.one(staff, practice.id, appointment_id)
    _refuse_closed(row, "cancelled")
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid(errors={"reason": "Say why it is cancelled (the client's record keeps it)."})
    if len(reason) > REASON_MAX:
        raise Invalid(errors={"reason": f"Keep the reason to {REASON_MAX} characters."})
    if row["starts_at"] <= now:
        raise Conflict("This appointment has already started: mark it attended, no-show or "
                       "late-cancelled instead.")  # fmt: skip
    async with write_transaction():
        changed = (
            await Appointment.update(
                {Appointment.status: AppointmentStatus.cancelled, Appointment.cancel_reason: reason}
            )
            .where(Appointment.id == appointment_id, Appointment.status == row["status"])
            .returning(Appointment.id)
        )
        if not changed:
            raise Conflict("This appointment changed meanwhile; here is how it stands now.")
        await audit.record(
            "appointment.cancelled_by_staff", actor_id=actor.user_id, ip=actor.ip,
            subject=f"appointment:{appointment_id}",
            detail={"client": row["client"], "old": {"status": row["status"]},
                    "new": {"status": AppointmentStatus.cancelled.value, "cancel_reason": reason}},
        )  # fmt: skip
        await mail_client(row["client"], row["client_email"], "appointment_cancelled_by_staff", actor,
                    when=row["starts_at"].astimezone(practice.time_zone).strftime(WHEN))  # fmt: skip
    return {**row, "status": AppointmentStatus.cancelled, "cancel_reason": reason}


async def confirm(staff: Staff, appointment_id: int, *, now: datetime, actor: Actor) -> dict:
    """Record that the client confirmed (on the phone, at the desk): scheduled to confirmed,
    whatever the provider lets clients do online."""
    row = await agenda.one(staff, actor.practice.id, appointment_id)
    _refuse_closed(row, "confirmed")
    if row["status"] == AppointmentStatus.requested:
        raise Conflict("This is a booking request: approve or decline it first.")
    if row["status"] == AppointmentStatus.confirmed:
        raise Conflict("This appointment is already confirmed.")
    if row["starts_at"] <= now:
        raise Conflict("This appointment has already started, so it can't be confirmed.")
    async with write_transaction():
        changed = await (
            Appointment.update({Appointment.status: AppointmentStatus.confirmed})
            .where(
                Appointment.id == appointment_id, Appointment.status == AppointmentStatus.scheduled
            )  # fmt: skip
            .returning(Appointment.id)
        )
        if not changed:
            raise Conflict("This appointment changed meanwhile; here is how it stands now.")
        await audit.record(
            "appointment.confirmed_by_staff", actor_id=actor.user_id, ip=actor.ip,
            subject=f"appointment:{appointment_id}",
            detail={"client": row["client"], "old": {"status": row["status"]},
                    "new": {"status": AppointmentStatus.confirmed.value}},
        )  # fmt: skip
    return {**row, "status": AppointmentStatus.confirmed}


async def mark(
    staff: Staff, appointment_id: int, outcome: str, *, now: datetime, actor: Actor
) -> dict:
    """Mark what happened: attended (completed), a no-show, or late-cancelled (cancelled
    with `late_cancel`); only once the appointment has started."""
    row = await agenda.one(staff, actor.practice.id, appointment_id)
    if outcome not in OUTCOMES:
        raise Invalid(errors={"outcome": "Choose attended, no-show or late-cancelled."})
    if row["status"] == AppointmentStatus.requested:
        raise Conflict("This is a booking request: approve or decline it first.")
    if row["declined_at"] is not None:
        raise Conflict("This booking request was declined: there is nothing to mark.")
    if row["starts_at"] > now:
        raise Conflict("This appointment has not started yet: it can be marked "
                       f"{OUTCOMES[outcome]} once it has.")  # fmt: skip
    late = outcome == "late_cancel"
    status = AppointmentStatus.cancelled if late else AppointmentStatus(outcome)
    if row["status"] == status and row["late_cancel"] == late:
        raise Conflict(f"This appointment is already marked {OUTCOMES[outcome]}.")
    if row["status"] == AppointmentStatus.cancelled and not row["late_cancel"] and not late:
        raise Conflict(f"This appointment was cancelled, so it can't be marked {OUTCOMES[outcome]}.")  # fmt: skip
    try:
        return await _set_outcome(row, appointment_id, status, late, actor)
    except Exception as exc:
        if is_clash(exc):  # its time was booked again after the late cancel
            raise Conflict("Another appointment now holds this time, so this one can only "
                           "stay cancelled.") from exc  # fmt: skip
        raise


async def _set_outcome(row: dict, appointment_id: int, status, late: bool, actor: Actor) -> dict:  # noqa: ANN001
    async with write_transaction():
        changed = await Appointment.update(
            {Appointment.status: status, Appointment.late_cancel: late}
        ).where(
            Appointment.id == appointment_id, Appointment.status == row["status"],
            Appointment.late_cancel.eq(bool(row["late_cancel"])),
        ).returning(Appointment.id)  # fmt: skip
        if not changed:
            raise Conflict("This appointment changed meanwhile; here is how it stands now.")
        await audit.record(
            "appointment.marked", actor_id=actor.user_id, ip=actor.ip,
            subject=f"appointment:{appointment_id}",
            detail={"client": row["client"],
                    "old": {"status": row["status"], "late_cancel": bool(row["late_cancel"])},
                    "new": {"status": status.value, "late_cancel": late}},
        )  # fmt: skip
    return {**row, "status": status, "late_cancel": late}
