"""Who may book online: the limit on upcoming appointments a client may book online, and a
self-registered client waiting for the practice's approval (`approval_reason`).

The limit is the provider's own (`Provider.online_booking_limit`, set in Settings ›
Providers), counting the client's bookings with that provider only; a provider without one
takes the practice's value, counting the client's online bookings with every provider.
Only online bookings count (`appointment.booked_online`): visits staff booked, such as
standing weekly ones, never stop a client from booking. A booking waiting for approval
(`requested`) holds its place, so it counts.
"""

from __future__ import annotations

from datetime import datetime

from portal.practice.info import PracticeInfo
from portal.tables import Appointment, Practice
from portal.tables.scheduling import AppointmentStatus

# Appointments that still hold a place: what the limit counts.
HOLDING = [AppointmentStatus.requested, AppointmentStatus.scheduled, AppointmentStatus.confirmed]


def own_limit(provider: dict | None) -> int | None:
    """The provider's own limit, when they have one (None: the practice's)."""
    return (provider or {}).get("online_booking_limit")


def online_booking_limit(practice: PracticeInfo, provider: dict | None) -> int:
    """How many upcoming online bookings a client may hold with `provider` (the one being
    booked): the provider's own value when set, else the practice's."""
    own = own_limit(provider)
    return practice.max_upcoming_online_bookings if own is None else own


async def booking_limit_reason(
    client_id: int, provider: dict | None, practice: PracticeInfo, now: datetime
) -> str:
    """Why this client may book no more online now; empty if they may.

    The one rule for the limit: shown by the picker and the review page, and checked
    again by `book` inside its write transaction (the client's row locked), so bookings
    racing each other cannot pass it together.
    """
    limit = online_booking_limit(practice, provider)
    query = Appointment.count().where(
        Appointment.client == client_id,
        Appointment.booked_online.eq(True),
        Appointment.status.is_in(HOLDING),
        Appointment.starts_at > now,
    )
    if own_limit(provider) is not None:
        query = query.where(Appointment.provider == provider["id"])
    held = await query
    if held < limit:
        return ""
    call = "Please call the practice" + (f" at {practice.phone}" if practice.phone else "")
    if limit <= 0:
        return f"Appointments can't be booked online. {call} to book."
    noun = "appointment" if held == 1 else "appointments"
    return f"You already have {held} upcoming {noun} booked. {call} to book more."


async def approval_reason(client: dict, practice: PracticeInfo | None) -> str:
    """Why a self-registered client may not book online yet (staff have not approved them and
    the practice does not let new clients book before approval); empty if they may.

    Reads the practice's choice only for a client who is waiting, so other clients' pages
    cost no query.
    """
    if not client.get("self_registered") or client.get("approved_at") is not None:
        return ""
    row = (
        await Practice.select(Practice.book_before_approval)
        .where(Practice.id == client["practice"])
        .first()
    )
    if row and row["book_before_approval"]:
        return ""
    phone = practice.phone if practice else ""
    call = f"Call {phone}" if phone else "Call the practice"
    return (
        "The practice will confirm your registration before you can book online. "
        f"{call} to book now."
    )
