"""Services a practice offers and the appointments booked for them."""

from enum import Enum

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.people import Client, Provider
from portal.tables.practice import Location, Practice


class Service(Table):
    practice = ForeignKey(Practice, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=150)
    cpt_code = Varchar(length=10, default="")
    duration_minutes = Integer(default=50)
    price_cents = Integer(default=0)
    client_may_schedule = Boolean(default=True)
    telehealth_allowed = Boolean(default=True)
    active = Boolean(default=True)
    # Offered to clients booking online only while they are new (an initial assessment).
    new_clients_only = Boolean(default=False)


class AppointmentStatus(str, Enum):
    # Booked online with a provider whose bookings need staff approval: holds the slot
    # (the double-booking guard counts every status but cancelled) until approved
    # (scheduled) or declined (cancelled).
    requested = "requested"
    scheduled = "scheduled"
    confirmed = "confirmed"
    cancelled = "cancelled"
    completed = "completed"
    no_show = "no_show"


class Appointment(Table):
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False, index=True)
    provider = ForeignKey(Provider, on_delete=OnDelete.restrict, null=False, index=True)
    service = ForeignKey(Service, on_delete=OnDelete.restrict, null=False)
    # In person at a location, or telehealth (location empty).
    location = ForeignKey(Location, on_delete=OnDelete.restrict, null=True)
    telehealth = Boolean(default=False)
    telehealth_url = Varchar(length=500, default="")
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    status = Varchar(length=12, choices=AppointmentStatus, default=AppointmentStatus.scheduled)
    cancel_reason = Text(default="")
    # Cancelled too late under the provider's cancellation window (marked by staff).
    late_cancel = Boolean(default=False)
    created_at = Timestamptz()
    # Booked by the client through self-scheduling (not by staff): what the practice's
    # limit on upcoming online bookings counts.
    booked_online = Boolean(default=False)
    # ICD-10 codes for superbills, comma-separated (entered by staff).
    diagnosis_codes = Varchar(length=200, default="")
    # A booking request staff declined (its status is cancelled): never marked afterwards.
    declined_at = Timestamptz(null=True, default=None)


class AvailabilityBlock(Table):
    """A provider's weekly hours: weekday (0 = Monday), local start and end in minutes."""

    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False, index=True)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()
    # In person at a location, or telehealth (location empty).
    location = ForeignKey(Location, on_delete=OnDelete.restrict, null=True)
    telehealth = Boolean(default=False)
    bookable_online = Boolean(default=True)


class ExceptionKind(str, Enum):
    off = "off"
    extra = "extra"


class AvailabilityException(Table):
    """One date: time off (`off`), or extra hours (`extra`) with a place like a block."""

    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False, index=True)
    on_date = Date()
    kind = Varchar(length=5, choices=ExceptionKind)
    # Empty start/end on time off: the whole day.
    start_minute = Integer(null=True, default=None)
    end_minute = Integer(null=True, default=None)
    location = ForeignKey(Location, on_delete=OnDelete.restrict, null=True)
    telehealth = Boolean(default=False)
    bookable_online = Boolean(default=True)
    note = Varchar(length=200, default="")
