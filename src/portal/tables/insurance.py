"""My Insurance: the client's primary insurance, with earlier versions kept."""

from piccolo.columns import Date, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.files import StoredFile
from portal.tables.people import Client


class InsurancePolicy(Table):
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False, index=True)
    payer = Varchar(length=150)
    member_id = Varchar(length=60)
    group_number = Varchar(length=60, default="")
    plan = Varchar(length=150, default="")
    subscriber_name = Varchar(length=150)
    subscriber_date_of_birth = Date(null=True, default=None)
    subscriber_relationship = Varchar(length=20)  # self, spouse, parent, other
    card_front = ForeignKey(StoredFile, on_delete=OnDelete.restrict, null=True)
    card_back = ForeignKey(StoredFile, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()
    # Set when re-entered details replace this policy (history).
    replaced_at = Timestamptz(null=True, default=None)
