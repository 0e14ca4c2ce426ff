"""The client ledger: money is integer cents, always positive; `kind` gives the sign."""

from enum import Enum

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.people import Client
from portal.tables.scheduling import Appointment


class EntryKind(str, Enum):
    charge = "charge"
    payment = "payment"
    adjustment = "adjustment"
    refund = "refund"
    # Lowers the balance like an adjustment; for amounts the practice will not collect.
    write_off = "write_off"


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
    # How a payment was taken: "card" (through the portal), or at the desk: "cash",
    # "cheque", "card_desk" (a card taken outside the portal); empty for other kinds.
    method = Varchar(length=20, default="")
    # On a charge: the CPT code and ICD-10 diagnosis codes (comma-separated) it bills, as
    # a superbill prints them; defaulted from the appointment's service.
    cpt_code = Varchar(length=10, default="")
    diagnosis_codes = Varchar(length=200, default="")
    # On a refund: the card payment it gives back.
    refund_of = ForeignKey(
        LazyTableReference("LedgerEntry", module_path="portal.tables.ledger"),
        on_delete=OnDelete.restrict,
        null=True,
    )
    # The staff member who posted it (NULL: the portal itself, e.g. a card payment).
    posted_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    # Staff only, never shown to the client: why an adjustment, write-off or refund was
    # made. The client reads `description` (e.g. "Adjustment", "Card refund").
    note = Varchar(length=300, default="")
