"""Reading appointments for display: one query, provider/service/location joined in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.tables import Appointment
from portal.tables.scheduling import AppointmentStatus

_COLUMNS = (
    Appointment.id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.telehealth,
    Appointment.client.first_name,
    Appointment.client.last_name,
    Appointment.provider.display_name,
    Appointment.service.name,
    Appointment.location.name,
)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local calendar day starts and ends (DST days are 23 or 25 hours)."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


async def practice_day(day: date, tz: ZoneInfo) -> list[dict]:
    """Every non-cancelled appointment on a local day, in start order (staff home)."""
    start, end = day_bounds(day, tz)
    return (
        await Appointment.select(*_COLUMNS)
        .where(
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Appointment.status != AppointmentStatus.cancelled,
        )
        .order_by(Appointment.starts_at)
    )
