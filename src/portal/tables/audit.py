"""Audit events: who did what, when, from where. Never secrets, codes or passwords."""

from piccolo.columns import JSON, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.accounts import User


class AuditEvent(Table):
    actor = ForeignKey(User, on_delete=OnDelete.set_null, null=True, index=True)
    action = Varchar(length=80, index=True)
    at = Timestamptz(index=True)
    ip = Varchar(length=45, default="")
    # What the action was about, e.g. "appointment:42".
    subject = Varchar(length=80, default="")
    detail = JSON(default="{}")
