"""Piccolo tables, one module per area. `ALL_TABLES` is the registry's order."""

from portal.tables.accounts import (
    Device,
    LoginAttempt,
    PasswordReset,
    RecoveryCode,
    Session,
    User,
)
from portal.tables.audit import AuditEvent
from portal.tables.ledger import LedgerEntry
from portal.tables.mail import OutboxMail
from portal.tables.people import Client, Provider
from portal.tables.practice import Location, Practice
from portal.tables.scheduling import (
    Appointment,
    AvailabilityBlock,
    AvailabilityException,
    Service,
)

ALL_TABLES = [
    Practice,
    Location,
    User,
    Session,
    LoginAttempt,
    RecoveryCode,
    Device,
    PasswordReset,
    Client,
    Provider,
    Service,
    Appointment,
    AvailabilityBlock,
    AvailabilityException,
    LedgerEntry,
    AuditEvent,
    OutboxMail,
]

__all__ = [t.__name__ for t in ALL_TABLES] + ["ALL_TABLES"]
