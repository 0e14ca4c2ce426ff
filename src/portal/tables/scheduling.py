"""Services a practice offers and the appointments booked for them."""

from enum import Enum

from piccolo.columns import (
    Boolean,
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


class AppointmentStatus(str, Enum):
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
    created_at = Timestamptz()
