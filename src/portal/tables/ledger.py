"""The client ledger: money is integer cents, always positive; `kind` gives the sign."""

from enum import Enum

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.people import Client
from portal.tables.scheduling import Appointment


class EntryKind(str, Enum):
    charge = "charge"
    payment = "payment"
    adjustment = "adjustment"
    refund = "refund"


class LedgerEntry(Table):
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False, index=True)
    kind = Varchar(length=12, choices=EntryKind)
    amount_cents = Integer()
    entry_date = Date()
    description = Varchar(length=300, default="")
    appointment = ForeignKey(Appointment, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()
    # The processor's id for a card payment (a PaymentIntent): unique, so a
    # payment reported twice (browser return and webhook) is written once.
    # NULL (entries that are not card payments) may repeat.
    external_id = Varchar(length=100, null=True, default=None, unique=True)
