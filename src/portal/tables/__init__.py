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
from portal.tables.embedding import ApiToken, EmbedSession
from portal.tables.enrolment import Invitation, Registration
from portal.tables.files import StoredFile
from portal.tables.forms import FormAssignment, FormTemplate
from portal.tables.insurance import InsurancePolicy
from portal.tables.ledger import LedgerEntry
from portal.tables.mail import OutboxMail
from portal.tables.messages import Message, MessageAttachment, MessageThread, ThreadRead
from portal.tables.payments import (
    PaymentAttempt,
    PaymentSettings,
    RefundAttempt,
    SavedCard,
    StripeCustomer,
    StripeEvent,
)
from portal.tables.people import Client, ClientProvider, Provider
from portal.tables.practice import Location, Practice
from portal.tables.profile import (
    ClientContact,
    ClientEmail,
    ClientPhone,
    CustomField,
    CustomFieldValue,
    PhotoId,
    ReminderSettings,
)
from portal.tables.scheduling import (
    Appointment,
    AvailabilityBlock,
    AvailabilityException,
    Service,
)
from portal.tables.terms import TermsAcceptance, TermsVersion

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
    ClientProvider,
    Invitation,
    Registration,
    Service,
    Appointment,
    AvailabilityBlock,
    AvailabilityException,
    LedgerEntry,
    AuditEvent,
    OutboxMail,
    StoredFile,
    ClientPhone,
    ClientEmail,
    ReminderSettings,
    ClientContact,
    PhotoId,
    CustomField,
    CustomFieldValue,
    TermsVersion,
    TermsAcceptance,
    MessageThread,
    Message,
    MessageAttachment,
    ThreadRead,
    FormTemplate,
    FormAssignment,
    InsurancePolicy,
    PaymentSettings,
    StripeCustomer,
    SavedCard,
    PaymentAttempt,
    StripeEvent,
    RefundAttempt,
    ApiToken,
    EmbedSession,
]

__all__ = [t.__name__ for t in ALL_TABLES] + ["ALL_TABLES"]
