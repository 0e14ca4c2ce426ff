"""The limit on upcoming appointments a client may book online (issue 15 adds a value per
provider: `online_booking_limit` is where it will be read).

Only online bookings count (`appointment.booked_online`): visits staff booked, such as
standing weekly ones, never stop a client from booking.
"""

from __future__ import annotations

from datetime import datetime

from portal.practice.info import PracticeInfo
from portal.tables import Appointment
from portal.tables.scheduling import AppointmentStatus

# Appointments that still hold a place: what the limit counts.
HOLDING = [AppointmentStatus.scheduled, AppointmentStatus.confirmed]


def online_booking_limit(practice: PracticeInfo, provider: dict | None) -> int:
    """How many upcoming online bookings a client may hold: the practice's value.

    `provider` is the one being booked; a per-provider value would be read here.
    """
    return practice.max_upcoming_online_bookings


async def booking_limit_reason(
    client_id: int, provider: dict | None, practice: PracticeInfo, now: datetime
) -> str:
    """Why this client may book no more online now; empty if they may.

    The one rule for the limit: shown by the picker and the review page, and checked
    again by `book` inside its write transaction (the client's row locked), so bookings
    racing each other cannot pass it together.
    """
    limit = online_booking_limit(practice, provider)
    held = await Appointment.count().where(
        Appointment.client == client_id,
        Appointment.booked_online.eq(True),
        Appointment.status.is_in(HOLDING),
        Appointment.starts_at > now,
    )
    if held < limit:
        return ""
    call = "Please call the practice" + (f" at {practice.phone}" if practice.phone else "")
    if limit <= 0:
        return f"Appointments can't be booked online. {call} to book."
    noun = "appointment" if held == 1 else "appointments"
    return f"You already have {held} upcoming {noun} booked. {call} to book more."
