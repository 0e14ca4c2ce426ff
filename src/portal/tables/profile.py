"""What clients keep up to date in My Profile."""

from enum import Enum

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.files import StoredFile
from portal.tables.people import Client
from portal.tables.practice import Practice


class PhoneKind(str, Enum):
    mobile = "mobile"
    home = "home"
    work = "work"


class ClientPhone(Table):
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, index=True)
    kind = Varchar(length=10, choices=PhoneKind)
    number = Varchar(length=20)  # E.164, e.g. +16175550142
    created_at = Timestamptz()


class ClientEmail(Table):
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, index=True)
    address = Varchar(length=254)
    is_primary = Boolean(default=False)
    created_at = Timestamptz()


class ReminderSettings(Table):
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, unique=True)
    channel = Varchar(length=10, default="email")  # email, text, both, none
    days_before = Integer(default=1)  # 1 to 5
    # Extra recipients (couples, families, minors): [{"name", "email", "phone"}].
    extra_recipients = JSON(default="[]")
    updated_at = Timestamptz()


class ClientContact(Table):
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=150)
    relationship = Varchar(length=60, default="")
    phone = Varchar(length=20, default="")  # E.164
    email = Varchar(length=254, default="")
    is_responsible_party = Boolean(default=False)
    responsible_for_payment = Boolean(default=False)
    created_at = Timestamptz()


class PhotoId(Table):
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, unique=True)
    front = ForeignKey(StoredFile, on_delete=OnDelete.restrict, null=True)
    back = ForeignKey(StoredFile, on_delete=OnDelete.restrict, null=True)
    updated_at = Timestamptz()


class CustomField(Table):
    """A practice's own client demographic: seen and edited by staff only."""

    practice = ForeignKey(Practice, on_delete=OnDelete.cascade, null=False)
    label = Varchar(length=100)
    # text, choice, date or yesno; a choice field's options one per line.
    kind = Varchar(length=10, default="text")
    choices = Varchar(length=2000, default="")
    position = Integer(default=0)


class CustomFieldValue(Table):
    field = ForeignKey(CustomField, on_delete=OnDelete.cascade, null=False)
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, index=True)
    value = Varchar(length=500, default="")
