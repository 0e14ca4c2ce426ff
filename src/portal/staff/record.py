"""A client's record as staff read it: its sections, each opened through the access policy.

The record is a set of sections (`SECTIONS`), each guarded by one part of the policy
(`portal.staff.access.Part`): a section the staff member's role may not open is not in
their section menu, and its URL is a 404 (`access.open_record` raises `NotFound`, and
audits every read it allows as `staff.read`). `context` is what one section shows: that
section's queries only. Custom demographics are read here, for staff pages only.

The account actions (deactivate, sessions, two-factor reset, unlock) are in
`portal.staff.record_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.accounts import auth as accounts
from portal.accounts import devices, invitations
from portal.billing.ledger import balance, signed
from portal.core import uploads
from portal.core.errors import NotFound
from portal.forms import assigning
from portal.forms.assignments import for_client
from portal.insurance import policy as insurance
from portal.messaging.recipients import staff_names
from portal.profile.contacts import contacts
from portal.profile.emails import emails
from portal.profile.phones import phones
from portal.profile.reminders import CHANNELS, reminder_settings
from portal.settings import SecuritySettings
from portal.staff import demographics
from portal.staff.access import Part, Staff, thread_clause
from portal.staff.record_actions import IDENTITY_CHECKS
from portal.tables import Appointment, InsurancePolicy, LedgerEntry, MessageThread, User
from portal.tables.scheduling import AppointmentStatus


@dataclass(frozen=True)
class Section:
    """One section of the record: `/staff/clients/{id}/{key}`, opened as `part`."""

    key: str
    part: Part
    title: str

    @property
    def template(self) -> str:
        return f"partials/staff/record/{self.key}.html"

    def url(self, client_id: int) -> str:
        return f"/staff/clients/{client_id}/{self.key}"


SECTIONS: dict[str, Section] = {
    s.key: s
    for s in (
        Section("profile", Part.contact, "Profile and contacts"),
        Section("demographics", Part.demographics, "Demographics"),
        Section("appointments", Part.appointments, "Appointments"),
        Section("insurance", Part.insurance, "Insurance"),
        Section("forms", Part.forms, "Forms"),
        Section("messages", Part.messages, "Messages"),
        Section("billing", Part.billing, "Billing"),
        Section("security", Part.security, "Sign-in and security"),
    )
}
FIRST = "profile"  # what /staff/clients/{id} opens: every staff role may read contact details

# What a finished change says, by the key a no-JS redirect carries (`?done=KEY`): a key
# never carries words of its own, so a crafted link cannot put text in the page.
NOTICES: dict[str, tuple[str, str]] = {
    "demographics": ("demographics", "Demographics saved."),
    "assigned": ("forms", "The form was assigned. The client sees it in their forms."),
    "deactivated": ("security", "The client is inactive now and was signed out everywhere."),
    "reactivated": ("security", "The client is active again and may sign in."),
    "sessions-ended": ("security", "Every session of the client was ended."),
    "two-factor-reset": (
        "security",
        "Two-factor sign-in was reset and the client was signed out. They were sent a mail.",
    ),
    "unlocked": ("security", "Sign-in was unlocked: the client may try again now."),
}

STATUS_LABELS = {"new": "New", "active": "Active", "inactive": "Inactive"}
APPOINTMENT_LABELS = {
    AppointmentStatus.scheduled.value: "Scheduled",
    AppointmentStatus.confirmed.value: "Confirmed",
    AppointmentStatus.cancelled.value: "Cancelled",
    AppointmentStatus.completed.value: "Completed",
    AppointmentStatus.no_show.value: "No-show",
}
# Who the insurance subscriber is to the client, as staff read it.
SUBSCRIBER = {
    "self": "the client",
    "spouse": "the client's spouse or partner",
    "parent": "the client's parent",
    "other": "other relationship",
}
PAST_SHOWN = 50
LEDGER_SHOWN = 20
HISTORY_SHOWN = 20
THREADS_SHOWN = 50


def sections_for(staff: Staff) -> list[Section]:
    """The sections this staff member may open, in the menu's order."""
    return [s for s in SECTIONS.values() if staff.may(s.part)]


def section(key: str, staff: Staff) -> Section:
    """The section by key, if this staff member may open it; NotFound otherwise."""
    s = SECTIONS.get(key)
    if s is None or not staff.may(s.part):
        raise NotFound("No such client.")
    return s


def notice_for(key: str, done: str) -> str:
    """The notice of a finished change shown in section `key`; "" for any other key."""
    where, text = NOTICES.get(done, ("", ""))
    return text if where == key else ""


def header(client: dict) -> dict:
    """The record's top line: name, preferred name, status, date of birth."""
    waiting = client["self_registered"] and client["approved_at"] is None
    status = STATUS_LABELS.get(client["status"], client["status"])
    return {
        "name": f"{client['first_name']} {client['last_name']}".strip(),
        "preferred_name": client["preferred_name"],
        "status": status + (", waiting for approval" if waiting else ""),
        "date_of_birth": client["date_of_birth"],
    }


async def context(
    staff: Staff,
    client: dict,
    key: str,
    *,
    now: datetime,
    security: SecuritySettings,
) -> dict[str, Any]:
    """What section `key` shows for `client` (a row from `access.open_record`)."""
    s = section(key, staff)
    base = {
        "client": client,
        "head": header(client),
        "section": s,
        "sections": sections_for(staff),
        "here": s.key,
        "may_manage": staff.may(Part.manage),
        "may_invite": staff.may(Part.invite),
        # A self-registration's message is free text and may be clinical: shown to the
        # roles that read clinical forms only (not the scheduler, not the biller).
        "may_read_clinical": staff.may(Part.forms),
    }
    loader = _LOADERS[s.key]
    return base | await loader(staff, client, now, security)


async def _profile(staff: Staff, client: dict, now: datetime, security: SecuritySettings) -> dict:
    cid = client["id"]
    # The invitation box (and, for a self-registered client, the approval box) open the
    # profile for the roles that may invite: one query more for them.
    invitation = await invitations.state(cid) if staff.may(Part.invite) else None
    return {
        "invitation": invitation,
        "phones": await phones(cid),
        "emails": await emails(cid),
        "contacts": await contacts(cid),
        "reminders": await reminder_settings(cid),
        "reminder_channels": CHANNELS,
    }


async def _demographics(
    staff: Staff, client: dict, now: datetime, security: SecuritySettings
) -> dict:
    return {
        "fields": await demographics.fields(client["practice"]),
        "values": await demographics.values_of(client["id"]),
        "top_choices": demographics.TOP_CHOICES,
        "top_labels": demographics.TOP_LABELS,
    }


_APPOINTMENT_COLUMNS = (
    Appointment.id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.telehealth,
    Appointment.provider.display_name,
    Appointment.provider.credentials,
    Appointment.service.name,
    Appointment.location.name,
)


async def _appointments(
    staff: Staff, client: dict, now: datetime, security: SecuritySettings
) -> dict:
    mine = Appointment.client == client["id"]
    upcoming = await (
        Appointment.select(*_APPOINTMENT_COLUMNS)
        .where(mine, Appointment.starts_at >= now)
        .order_by(Appointment.starts_at)
    )
    past = await (
        Appointment.select(*_APPOINTMENT_COLUMNS)
        .where(mine, Appointment.starts_at < now)
        .order_by(Appointment.starts_at, ascending=False)
        .limit(PAST_SHOWN + 1)
    )
    return {
        "upcoming": upcoming,
        "past": past[:PAST_SHOWN],
        "more_past": len(past) > PAST_SHOWN,
        "appointment_labels": APPOINTMENT_LABELS,
    }


async def _insurance(staff: Staff, client: dict, now: datetime, security: SecuritySettings) -> dict:
    return {
        "ins": {
            "choice": client["insurance_choice"],
            "choice_at": client["insurance_choice_at"],
            "current": await insurance.current_policy(client["id"]),
            "history": await insurance.history(client["id"]),
        },
        "subscriber": SUBSCRIBER,
        "card_sides": insurance.CARD_SIDES,
    }


async def _forms(staff: Staff, client: dict, now: datetime, security: SecuritySettings) -> dict:
    to_do, submitted = await for_client(client["id"])
    return {
        "open_forms": to_do,
        "submitted_forms": submitted,
        "templates": await assigning.templates(client["practice"]),
    }


async def _messages(staff: Staff, client: dict, now: datetime, security: SecuritySettings) -> dict:
    return {"threads": await recent_threads(staff, client, THREADS_SHOWN)}


async def recent_threads(staff: Staff, client: dict, limit: int) -> list[dict]:
    """The client's threads `staff` may read, the latest first, each with `staff_name` (the
    record's Messages section and the embedded messages widget; two queries)."""
    rows = await (
        MessageThread.select(
            MessageThread.id,
            MessageThread.subject,
            MessageThread.staff,
            MessageThread.desk,
            MessageThread.last_message_at,
            MessageThread.done_at,
        )
        .where((MessageThread.client == client["id"]) & thread_clause(staff))
        .order_by(MessageThread.last_message_at, ascending=False)
        .order_by(MessageThread.id, ascending=False)
        .limit(limit)
    )
    names = await staff_names(client["practice"], [r["staff"] for r in rows]) if rows else {}
    for r in rows:
        r["staff_name"] = names.get(r["staff"], "The practice")
    return rows


async def _billing(staff: Staff, client: dict, now: datetime, security: SecuritySettings) -> dict:
    lines = await (
        LedgerEntry.select(
            LedgerEntry.id,
            LedgerEntry.kind,
            LedgerEntry.amount_cents,
            LedgerEntry.entry_date,
            LedgerEntry.description,
        )
        .where(LedgerEntry.client == client["id"])
        .order_by(LedgerEntry.entry_date, ascending=False)
        .order_by(LedgerEntry.id, ascending=False)
        .limit(LEDGER_SHOWN)
    )
    for line in lines:
        line["signed_cents"] = signed(line["kind"], line["amount_cents"])
    return {"balance": await balance(client["id"]), "lines": lines}


async def _security(staff: Staff, client: dict, now: datetime, security: SecuritySettings) -> dict:
    if client["user"] is None:
        return {"account": None, "identity_checks": IDENTITY_CHECKS}
    account = (
        await User.select(
            User.id, User.username, User.active, User.created_at, User.totp_enabled_at
        )
        .where(User.id == client["user"])
        .first()
    )
    window = timedelta(minutes=security.throttle_window_minutes)
    failures = await accounts.count_failures(account["username"], window)
    sessions = await accounts.active_sessions(account["id"])
    history = await accounts.login_history(account["id"], limit=HISTORY_SHOWN)
    for row in (*sessions, *history):
        row["device"] = devices.summary(row["user_agent"])
    return {
        "account": account,
        "sessions": sessions,
        "history": history,
        "failures": failures,
        "locked": failures >= security.max_failures_per_account,
        "window_minutes": security.throttle_window_minutes,
        "identity_checks": IDENTITY_CHECKS,
    }


_LOADERS = {
    "profile": _profile,
    "demographics": _demographics,
    "appointments": _appointments,
    "insurance": _insurance,
    "forms": _forms,
    "messages": _messages,
    "billing": _billing,
    "security": _security,
}


async def card_image(client_id: int, policy_id: int, side: str) -> dict:
    """A card image of one of this client's policies (current or earlier), with its bytes."""
    if side not in insurance.CARD_SIDES:
        raise NotFound("There is no such card image.")
    row = (
        await InsurancePolicy.select(InsurancePolicy.card_front, InsurancePolicy.card_back)
        .where((InsurancePolicy.id == policy_id) & (InsurancePolicy.client == client_id))
        .first()
    )
    file_id = row[f"card_{side}"] if row else None
    found = await uploads.fetch(file_id) if file_id else None
    if found is None:
        raise NotFound("There is no such card image.")
    return found
