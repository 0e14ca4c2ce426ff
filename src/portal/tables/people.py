"""Clients and providers: the people a practice serves and who serves them."""

from enum import Enum

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.practice import Practice


class ClientStatus(str, Enum):
    new = "new"
    active = "active"
    inactive = "inactive"


class Client(Table):
    practice = ForeignKey(Practice, on_delete=OnDelete.restrict, null=False)
    # The portal account; a client may exist before being invited to the portal.
    user = ForeignKey(User, on_delete=OnDelete.restrict, null=True, unique=True)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    preferred_name = Varchar(length=100, default="")
    # The "top" demographics: staff edit these, clients only read them.
    date_of_birth = Date(null=True, default=None)
    gender = Varchar(length=50, default="")
    marital_status = Varchar(length=50, default="")
    employment = Varchar(length=100, default="")
    # The postal address, printed on superbills (staff keep it, like the demographics).
    address_line1 = Varchar(length=200, default="")
    address_line2 = Varchar(length=200, default="")
    city = Varchar(length=100, default="")
    region = Varchar(length=100, default="")
    postal_code = Varchar(length=20, default="")
    status = Varchar(length=10, choices=ClientStatus, default=ClientStatus.new)
    # Came through /register: waits for staff approval (approved_at) before booking,
    # unless the practice lets new clients book at once. The message they left.
    self_registered = Boolean(default=False)
    approved_at = Timestamptz(null=True, default=None)
    registration_message = Varchar(length=2000, default="")
    created_at = Timestamptz()
    # My Insurance: "" (not answered yet), "none" (self or private pay) or "insured".
    insurance_choice = Varchar(length=10, default="")
    insurance_choice_at = Timestamptz(null=True, default=None)


class Provider(Table):
    practice = ForeignKey(Practice, on_delete=OnDelete.restrict, null=False)
    user = ForeignKey(User, on_delete=OnDelete.restrict, null=True, unique=True)
    display_name = Varchar(length=150)
    credentials = Varchar(length=50, default="")
    npi = Varchar(length=10, default="")
    # Portal settings: what clients may do with this provider's appointments.
    clients_may_confirm = Boolean(default=True)
    clients_may_cancel = Boolean(default=True)
    cancellation_window_hours = Integer(default=24)
    active = Boolean(default=True)
    # Self-scheduling rules.
    slot_minutes = Integer(default=30)  # 15, 30 or 60: the grid bookings start on
    # Client statuses that may book online, a JSON list of "new", "active", "inactive".
    self_schedule_statuses = JSON(default='["active"]')
    min_notice_hours = Integer(default=24)
    horizon_days = Integer(default=60)
    # Most upcoming online bookings one client may hold with this provider; NULL: the
    # practice's value (scheduling/online_limit.py).
    online_booking_limit = Integer(null=True, default=None)
    # Online bookings wait as "requested" until staff approve or decline them.
    online_needs_approval = Boolean(default=False)


class ClientProvider(Table):
    """A provider assigned to a client: with the providers the client has appointments with,
    whose clients they are (the access policy, staff/access.py). Unique per pair (a raw index
    in the migration: Piccolo's composite Unique fails on SQLite)."""

    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, index=True)
    provider = ForeignKey(Provider, on_delete=OnDelete.cascade, null=False, index=True)
