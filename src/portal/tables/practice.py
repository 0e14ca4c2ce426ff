"""The practice and its locations."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Varchar
from piccolo.table import Table

from portal.tables.accounts import User


class Practice(Table):
    name = Varchar(length=200)
    time_zone = Varchar(length=64, default="America/New_York")
    address_line1 = Varchar(length=200, default="")
    address_line2 = Varchar(length=200, default="")
    city = Varchar(length=100, default="")
    region = Varchar(length=100, default="")
    postal_code = Varchar(length=20, default="")
    phone = Varchar(length=40, default="")
    email = Varchar(length=254, default="")
    # Who must use two-factor sign-in: "nobody", "staff" or "everyone".
    two_factor_policy = Varchar(length=10, default="staff")
    # Minutes before a telehealth visit that its join link is shown.
    telehealth_link_minutes = Integer(default=15)
    # Upcoming online bookings a client may hold before booking more online is refused
    # (scheduling/booking.py; staff bookings do not count; 0: no online booking).
    max_upcoming_online_bookings = Integer(default=3)
    # Staff clients may write to from My Messages, besides their providers.
    designated_scheduler = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    designated_biller = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    # Identifiers printed on superbills.
    npi = Varchar(length=10, default="")
    tax_id = Varchar(length=20, default="")
    # Self-registration at /register (off until an owner or manager turns it on), and whether
    # a self-registered client may book before staff approve them.
    self_registration = Boolean(default=False)
    book_before_approval = Boolean(default=False)
    # Hours an invitation link to the portal stays valid.
    invitation_hours = Integer(default=48)
    # Settings later features add without a schema change (a JSON object).
    settings = JSON(default="{}")


class Location(Table):
    practice = ForeignKey(Practice, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=200)
    address_line1 = Varchar(length=200)
    address_line2 = Varchar(length=200, default="")
    city = Varchar(length=100)
    region = Varchar(length=100)
    postal_code = Varchar(length=20)
    phone = Varchar(length=40, default="")
    active = Boolean(default=True)
