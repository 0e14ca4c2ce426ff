"""Appointments as the client sees them, and the rules for confirming and cancelling.

Every rule is decided here from stored UTC times; handlers only translate the
outcome into HTTP. One query loads a client's upcoming visits with provider,
service and location joined in, so the widget costs the same for 1 or 50.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.db import Prepared, write_transaction
from portal.core.errors import Conflict, Invalid, NotFound
from portal.dashboard.tasks import Task, TaskContext
from portal.practice.info import PracticeInfo, format_address
from portal.tables import Appointment
from portal.tables.scheduling import AppointmentStatus

HORIZON = timedelta(days=365)
ON_DASHBOARD = 5  # visits the dashboard shows; the appointment list shows them all
# A booking waiting for the practice's approval (`requested`) is upcoming too: the client
# sees it, as requested, and may withdraw it (cancel), but not confirm it.
UPCOMING = (AppointmentStatus.requested, AppointmentStatus.scheduled, AppointmentStatus.confirmed)

_PRACTICE_DAY_COLUMNS = (
    Appointment.id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.telehealth,
    Appointment.client,
    Appointment.client.first_name,
    Appointment.client.last_name,
    Appointment.client.preferred_name,
    Appointment.provider.display_name,
    Appointment.service.name,
    Appointment.location.name,
)

_VISIT_COLUMNS = (
    Appointment.id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.telehealth,
    Appointment.telehealth_url,
    Appointment.provider.display_name,
    Appointment.provider.credentials,
    Appointment.provider.clients_may_confirm,
    Appointment.provider.clients_may_cancel,
    Appointment.provider.cancellation_window_hours,
    Appointment.service.name,
    Appointment.location.name,
    Appointment.location.address_line1,
    Appointment.location.address_line2,
    Appointment.location.city,
    Appointment.location.region,
    Appointment.location.postal_code,
)


@dataclass(frozen=True)
class Visit:
    id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    provider: str
    service: str
    telehealth: bool
    telehealth_url: str
    location_name: str
    address: str
    may_confirm: bool
    may_cancel: bool
    # Why "Cancel" is not offered, when it is not (inside the window, or not allowed).
    cancel_note: str
    join_visible: bool
    join_from: datetime

    @property
    def confirmed(self) -> bool:
        return self.status == AppointmentStatus.confirmed

    @property
    def requested(self) -> bool:
        """Booked online, waiting for the practice to approve it."""
        return self.status == AppointmentStatus.requested

    @property
    def google_maps(self) -> str:
        return "https://www.google.com/maps/search/?api=1&query=" + quote(self.address, safe="")

    @property
    def apple_maps(self) -> str:
        return "https://maps.apple.com/?q=" + quote(self.address, safe="")


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local calendar day starts and ends (DST days are 23 or 25 hours)."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


async def practice_days(
    first: date, days: int, tz: ZoneInfo, *, provider_id: int | None = None
) -> list[dict]:
    """Every non-cancelled appointment on `days` local days from `first`, in start order
    (the staff home); one provider's only when `provider_id` is given."""
    start, _ = day_bounds(first, tz)
    _, end = day_bounds(first + timedelta(days=days - 1), tz)
    query = Appointment.select(*_PRACTICE_DAY_COLUMNS).where(
        Appointment.starts_at >= start,
        Appointment.starts_at < end,
        Appointment.status != AppointmentStatus.cancelled,
    )
    if provider_id is not None:
        query = query.where(Appointment.provider == provider_id)
    return await query.order_by(Appointment.starts_at)


def provider_name(name: str, credentials: str) -> str:
    """ "Dr. Elena Ruiz, PsyD" (credentials added once, when there are any)."""
    return f"{name}, {credentials}" if credentials and credentials not in name else name


def cancel_refusal(row: dict, now: datetime, practice: PracticeInfo) -> str:
    """Why this client may not cancel online now ("" when they may)."""
    phone = (
        f" Call the practice at {practice.phone} to cancel."
        if practice.phone
        else " Contact the practice to cancel."
    )
    if not row["provider.clients_may_cancel"]:
        return "This appointment can't be cancelled online." + phone
    hours = row["provider.cancellation_window_hours"]
    if row["starts_at"] - now < timedelta(hours=hours):
        return f"Appointments less than {hours} hours away can't be cancelled online." + phone
    return ""


def _visit(row: dict, now: datetime, practice: PracticeInfo) -> Visit:
    join_from = row["starts_at"] - timedelta(minutes=practice.telehealth_link_minutes)
    refusal = cancel_refusal(row, now, practice)
    return Visit(
        id=row["id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        status=row["status"],
        provider=provider_name(row["provider.display_name"], row["provider.credentials"]),
        service=row["service.name"],
        telehealth=row["telehealth"],
        telehealth_url=row["telehealth_url"],
        location_name=row["location.name"] or "",
        address=format_address(row, "location.") if not row["telehealth"] else "",
        may_confirm=row["provider.clients_may_confirm"]
        and row["status"] == AppointmentStatus.scheduled,
        may_cancel=not refusal,
        cancel_note=refusal,
        join_visible=row["telehealth"] and join_from <= now < row["ends_at"],
        join_from=join_from,
    )


def _upcoming_query(client, after, before):  # noqa: ANN001, ANN202
    return (
        Appointment.select(*_VISIT_COLUMNS)
        .where(
            Appointment.client == client,
            Appointment.ends_at > after,
            Appointment.starts_at < before,
            Appointment.status.is_in(list(UPCOMING)),
        )
        .order_by(Appointment.starts_at)
    )


# The dashboard's hottest reads: their SQL is built once (core.db.Prepared).
_UPCOMING = Prepared(Appointment, _upcoming_query)
_NEXT = Prepared(
    Appointment,
    lambda client, after, before: _upcoming_query(client, after, before).limit(ON_DASHBOARD + 1),
)


def dashboard_view(visits: list[Visit]) -> dict:
    """The appointments widget's context from `next_visits`: the next ones, and whether the
    appointment list has more."""
    return {"visits": visits[:ON_DASHBOARD], "more_visits": len(visits) > ON_DASHBOARD}


async def next_visits(client_id: int, now: datetime, practice: PracticeInfo) -> list[Visit]:
    """The dashboard's visits: the next `ON_DASHBOARD`, and one more if there are more."""
    rows = await _NEXT.run(client_id, now, now + HORIZON)
    return [_visit(r, now, practice) for r in rows]


async def upcoming(client_id: int, now: datetime, practice: PracticeInfo) -> list[Visit]:
    """The client's scheduled and confirmed visits from now to a year out (one query)."""
    rows = await _UPCOMING.run(client_id, now, now + HORIZON)
    return [_visit(r, now, practice) for r in rows]


async def _own(client_id: int, appointment_id: int) -> dict:
    """The client's own appointment; anyone else's is indistinguishable from none (404)."""
    row = (
        await Appointment.select(
            *_VISIT_COLUMNS, Appointment.provider.user.email.as_alias("provider_email")
        )
        .where(Appointment.id == appointment_id, Appointment.client == client_id)
        .first()
    )
    if row is None:
        raise NotFound("That appointment was not found.")
    return row


def _state_conflict(row: dict, now: datetime, action: str) -> None:
    status = row["status"]
    if status == AppointmentStatus.cancelled:
        raise Conflict(f"This appointment was cancelled, so it can't be {action}.")
    if (
        status in (AppointmentStatus.completed, AppointmentStatus.no_show)
        or row["starts_at"] <= now
    ):
        raise Conflict(
            f"This appointment has already started or taken place, so it can't be {action}."
        )


async def _notify_provider(row: dict, practice: PracticeInfo, what: str, portal_url: str) -> None:
    if row.get("provider_email"):
        local = row["starts_at"].astimezone(practice.time_zone)
        await mail.queue(
            row["provider_email"],
            "appointment_changed",
            what=what,
            when=local.strftime("%A %-d %B %Y at %-I:%M %p %Z"),
            practice_name=practice.name,
            portal_url=portal_url,
        )


async def confirm(client_id: int, appointment_id: int, *, now: datetime, actor: Actor) -> Visit:
    practice = actor.practice
    row = await _own(client_id, appointment_id)
    _state_conflict(row, now, "confirmed")
    if row["status"] == AppointmentStatus.confirmed:
        raise Conflict("This appointment is already confirmed.")
    if row["status"] == AppointmentStatus.requested:
        raise Conflict(
            "This booking is waiting for the practice to approve it; confirm it once approved."
        )
    if not row["provider.clients_may_confirm"]:
        raise Invalid("Your provider confirms appointments with you directly.")
    async with write_transaction():
        changed = (
            await Appointment.update({Appointment.status: AppointmentStatus.confirmed})
            .where(
                Appointment.id == appointment_id,
                Appointment.status == AppointmentStatus.scheduled,
            )
            .returning(Appointment.id)
        )
        if not changed:  # changed by someone else since we read it
            raise Conflict("This appointment changed meanwhile; here is how it stands now.")
        await audit.record(
            "appointment.confirmed",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"appointment:{appointment_id}",
        )
        await _notify_provider(row, practice, "confirmed", actor.portal_url)
    return _visit({**row, "status": AppointmentStatus.confirmed}, now, practice)


async def cancel(
    client_id: int, appointment_id: int, *, reason: str = "", now: datetime, actor: Actor
) -> Visit:
    practice = actor.practice
    row = await _own(client_id, appointment_id)
    _state_conflict(row, now, "cancelled")
    if refusal := cancel_refusal(row, now, practice):
        raise Invalid(refusal)
    async with write_transaction():
        changed = (
            await Appointment.update(
                {Appointment.status: AppointmentStatus.cancelled, Appointment.cancel_reason: reason}
            )
            .where(
                Appointment.id == appointment_id,
                Appointment.status.is_in(list(UPCOMING)),
            )
            .returning(Appointment.id)
        )
        if not changed:
            raise Conflict("This appointment was cancelled, so it can't be cancelled.")
        await audit.record(
            "appointment.cancelled",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"appointment:{appointment_id}",
            detail={"reason_given": bool(reason)},
        )
        await _notify_provider(row, practice, "cancelled", actor.portal_url)
    return _visit({**row, "status": AppointmentStatus.cancelled}, now, practice)


async def one(client_id: int, appointment_id: int, now: datetime, practice: PracticeInfo) -> Visit:
    return _visit(await _own(client_id, appointment_id), now, practice)


async def awaiting_confirmation(ctx: TaskContext) -> list[Task]:
    """A task for each visit on the dashboard the client may confirm: its row's button
    confirms it (the same POST as the appointments widget's Confirm)."""
    tz = ctx.practice.time_zone
    tasks = []
    for v in ctx.upcoming[:ON_DASHBOARD]:
        if v.may_confirm and v.starts_at > ctx.now:
            when = v.starts_at.astimezone(tz).strftime("%a %-d %b at %-I:%M %p")
            tasks.append(
                Task(
                    key=f"confirm-{v.id}",
                    text=f"Confirm your appointment on {when}",
                    href=f"/#appointment-{v.id}",
                    action="Confirm",
                    post=f"/appointments/{v.id}/confirm",
                    detail=when,
                )
            )
    return tasks
