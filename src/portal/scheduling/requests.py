"""Online bookings waiting for approval (Agenda › Requests): a provider whose bookings need
approval (`Provider.online_needs_approval`) gets each online booking as `requested`, holding
its slot, until staff approve it (scheduled) or decline it (cancelled, with an optional
reason). The client is mailed either way, in the same transaction as the change, which is
audited with its old and new status.

Owners, managers and schedulers handle every provider's; a provider their own (anyone
else's is NotFound). A request someone else handled meanwhile is a Conflict.
"""

from __future__ import annotations

from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Conflict, NotFound
from portal.scheduling.appointments import provider_name
from portal.scheduling.staff_booking import mail_client
from portal.staff.access import Staff
from portal.tables import Appointment
from portal.tables.accounts import Role
from portal.tables.scheduling import AppointmentStatus

MAX_REASON = 500
_COLUMNS = (
    Appointment.id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.telehealth,
    Appointment.created_at,
    Appointment.client,
    Appointment.client.first_name,
    Appointment.client.last_name,
    Appointment.client.preferred_name,
    Appointment.client.user.email.as_alias("client_email"),
    Appointment.provider,
    Appointment.provider.display_name,
    Appointment.provider.credentials,
    Appointment.service.name,
    Appointment.location.name,
)


def _scope(query, practice_id: int, staff: Staff):  # noqa: ANN001, ANN202
    query = query.where(Appointment.provider.practice == practice_id)
    if staff.role == Role.provider:
        query = query.where(Appointment.provider == (staff.provider_id or 0))
    return query


def _view(row: dict) -> dict:
    first = row["client.preferred_name"] or row["client.first_name"]
    return {
        **row,
        "client_name": f"{first} {row['client.last_name']}",
        "provider_name": provider_name(row["provider.display_name"], row["provider.credentials"]),
    }


async def waiting(practice_id: int, staff: Staff) -> list[dict]:
    """Every requested booking `staff` may handle, soonest first (one query)."""
    query = Appointment.select(*_COLUMNS).where(Appointment.status == AppointmentStatus.requested)
    rows = await _scope(query, practice_id, staff).order_by(Appointment.starts_at)
    return [_view(r) for r in rows]


async def _one(practice_id: int, appointment_id: int, staff: Staff) -> dict:
    query = Appointment.select(*_COLUMNS).where(Appointment.id == appointment_id)
    row = await _scope(query, practice_id, staff).first()
    if row is None:
        raise NotFound("There is no such booking.")
    return row


def _handled(status: str) -> Conflict:
    said = {
        AppointmentStatus.scheduled: "approved",
        AppointmentStatus.confirmed: "approved and confirmed",
        AppointmentStatus.cancelled: "declined or cancelled",
    }.get(status, status.replace("_", " "))
    return Conflict(f"This booking was already handled: it is {said}. Nothing was changed.")


async def decide(
    practice_id: int, appointment_id: int, staff: Staff, actor: Actor, *,
    approve: bool, reason: str = "",
) -> dict:  # fmt: skip
    """Approve (scheduled) or decline (cancelled) a requested booking; the booking as it was."""
    new = AppointmentStatus.scheduled if approve else AppointmentStatus.cancelled
    reason = reason.strip()[:MAX_REASON] if not approve else ""
    async with write_transaction():
        row = await _one(practice_id, appointment_id, staff)
        if row["status"] != AppointmentStatus.requested:
            raise _handled(row["status"])
        if approve and row["starts_at"] <= utcnow():
            raise Conflict("The time of this request has passed, so it can't be approved: "
                           "decline it, and the client can ask for another.")  # fmt: skip
        values = {Appointment.status: new}
        if not approve:
            values[Appointment.cancel_reason] = reason
            values[Appointment.declined_at] = utcnow()
        changed = (
            await Appointment.update(values)
            .where(
                Appointment.id == appointment_id,
                Appointment.status == AppointmentStatus.requested,
            )
            .returning(Appointment.id)
        )
        if not changed:  # handled by someone else since it was read
            fresh = await _one(practice_id, appointment_id, staff)
            raise _handled(fresh["status"])
        await audit.record(
            "appointment.request_approved" if approve else "appointment.request_declined",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"appointment:{appointment_id}",
            detail={
                "appointment": appointment_id,
                "old": {"status": AppointmentStatus.requested.value},
                "new": {"status": new.value},
                "reason_given": bool(reason),
            },
        )
        tz = actor.practice.time_zone
        when = row["starts_at"].astimezone(tz).strftime("%A %-d %B %Y at %-I:%M %p %Z")
        await mail_client(
            row["client"], row["client_email"] or "",
            "booking_approved" if approve else "booking_declined", actor,
            when=when, provider=provider_name(row["provider.display_name"], row["provider.credentials"]),
            service=row["service.name"], reason=reason,
        )  # fmt: skip
    return _view(row)
