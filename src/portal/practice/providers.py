"""The practice's providers as staff set them up (Settings › Providers): how each is named
to clients, their NPI, and the rules for clients' online confirming, cancelling and booking.

Owners and managers set every provider's; a provider sets their own (anyone else's is
NotFound, as if it did not exist). Each change is one write transaction and one audit event
with the old and new values of what changed. Providers are read per request (not kept with
the practice, `practice/info.py`), so a change counts at once everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import NotFound
from portal.staff.access import Staff
from portal.tables import Provider
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus

MAX_NAME, MAX_CREDENTIALS = 150, 50
# (column, label, least, most) of each whole-number rule.
NUMBERS = (
    ("cancellation_window_hours", "The cancellation window", 0, 720),
    ("min_notice_hours", "The minimum notice", 0, 24 * 60),
    ("horizon_days", "How far ahead clients may book", 1, 366),
)
LIMIT_MAX = 50
STATUSES = {s.value: s.value.capitalize() for s in ClientStatus}
# The form's text fields and the most of each that is read (the page's maxlength).
TEXT_FIELDS = {
    "display_name": MAX_NAME + 1,
    "credentials": MAX_CREDENTIALS + 1,
    "npi": 20,
    "clients_may_confirm": 3,
    "clients_may_cancel": 3,
    "cancellation_window_hours": 6,
    "min_notice_hours": 6,
    "horizon_days": 6,
    "online_booking_limit": 6,
    "online_needs_approval": 3,
}
FACTS = (
    "display_name",
    "credentials",
    "npi",
    "clients_may_confirm",
    "clients_may_cancel",
    "cancellation_window_hours",
    "self_schedule_statuses",
    "min_notice_hours",
    "horizon_days",
    "online_booking_limit",
    "online_needs_approval",
)


def statuses_of(raw: Any) -> list[str]:
    """The stored JSON list of client statuses that may book online."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [s for s in value if s in STATUSES] if isinstance(value, list) else []


@dataclass(frozen=True)
class ProviderItem:
    id: int
    display_name: str
    credentials: str
    npi: str
    clients_may_confirm: bool
    clients_may_cancel: bool
    cancellation_window_hours: int
    self_schedule_statuses: list
    min_notice_hours: int
    horizon_days: int
    online_booking_limit: int | None
    online_needs_approval: bool
    active: bool

    def typed(self) -> dict[str, Any]:
        """The provider as its edit form shows it."""
        yn = lambda b: "yes" if b else "no"  # noqa: E731
        return {
            "display_name": self.display_name,
            "credentials": self.credentials,
            "npi": self.npi,
            "clients_may_confirm": yn(self.clients_may_confirm),
            "clients_may_cancel": yn(self.clients_may_cancel),
            "cancellation_window_hours": str(self.cancellation_window_hours),
            "statuses": list(self.self_schedule_statuses),
            "min_notice_hours": str(self.min_notice_hours),
            "horizon_days": str(self.horizon_days),
            "online_booking_limit": ""
            if self.online_booking_limit is None
            else str(self.online_booking_limit),
            "online_needs_approval": yn(self.online_needs_approval),
        }


def _item(row: dict) -> ProviderItem:
    values = {k: row[k] for k in ProviderItem.__dataclass_fields__}
    values["self_schedule_statuses"] = statuses_of(row["self_schedule_statuses"])
    return ProviderItem(**values)


def _mine(staff: Staff):  # noqa: ANN202
    """The where clause of the providers this staff member may set up."""
    if staff.role in (Role.owner, Role.manager):
        return None
    return Provider.id == (staff.provider_id or 0)


async def visible(practice_id: int, staff: Staff) -> list[ProviderItem]:
    """The providers `staff` may set up (a provider: their own), active first, by name."""
    query = Provider.select().where(Provider.practice == practice_id)
    if (clause := _mine(staff)) is not None:
        query = query.where(clause)
    items = [_item(r) for r in await query]
    return sorted(items, key=lambda p: (not p.active, p.display_name.casefold(), p.id))


async def row_of(practice_id: int, provider_id: int, staff: Staff) -> dict:
    query = Provider.select().where(
        (Provider.id == provider_id) & (Provider.practice == practice_id)
    )
    if (clause := _mine(staff)) is not None:
        query = query.where(clause)
    row = await query.first()
    if row is None:
        raise NotFound("There is no such provider.")
    return row


async def one(practice_id: int, provider_id: int, staff: Staff) -> ProviderItem:
    return _item(await row_of(practice_id, provider_id, staff))


def npi_valid(npi: str) -> bool:
    """A 10-digit NPI whose last digit is the Luhn check digit over "80840" + the first 9."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _yes_no(value: str, field: str, message: str, errors: dict[str, str]) -> bool:
    if value not in ("yes", "no"):
        errors[field] = message
    return value == "yes"


def _whole(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


def check(typed: Mapping[str, str], statuses: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """A provider from the staff form: (column values, errors by field)."""
    errors: dict[str, str] = {}
    name = " ".join(typed.get("display_name", "").split())
    if not name:
        errors["display_name"] = "Give the provider's name, as clients will read it."
    elif len(name) > MAX_NAME:
        errors["display_name"] = f"Keep the name to {MAX_NAME} characters."
    credentials = " ".join(typed.get("credentials", "").split())
    if len(credentials) > MAX_CREDENTIALS:
        errors["credentials"] = f"Keep the credentials to {MAX_CREDENTIALS} characters."
    npi = "".join(typed.get("npi", "").split())
    if npi and not npi_valid(npi):
        errors["npi"] = (
            "An NPI is 10 digits and its last digit checks the others; this one does not. "
            "Check it against the NPPES registry, or leave it empty."
        )
    confirm = _yes_no(
        typed.get("clients_may_confirm", ""), "clients_may_confirm",
        "Choose whether clients may confirm online.", errors,
    )  # fmt: skip
    cancel = _yes_no(
        typed.get("clients_may_cancel", ""), "clients_may_cancel",
        "Choose whether clients may cancel online.", errors,
    )  # fmt: skip
    approval = _yes_no(
        typed.get("online_needs_approval", ""), "online_needs_approval",
        "Choose whether online bookings wait for approval.", errors,
    )  # fmt: skip
    numbers: dict[str, int] = {}
    for column, label, least, most in NUMBERS:
        value = _whole(typed.get(column, ""))
        if value is None or not least <= value <= most:
            errors[column] = f"{label} is a whole number from {least} to {most}."
        numbers[column] = value or 0
    limit_text = typed.get("online_booking_limit", "").strip()
    limit: int | None = None
    if limit_text:
        limit = _whole(limit_text)
        if limit is None or limit > LIMIT_MAX:
            errors["online_booking_limit"] = (
                f"Enter a whole number from 0 to {LIMIT_MAX}, or leave it empty for the "
                "practice's limit."
            )
            limit = None
    chosen = [s for s in STATUSES if s in statuses]
    if len(chosen) != len(set(statuses)):
        errors["statuses"] = "Choose among the client statuses listed."
    clean = {
        "display_name": name,
        "credentials": credentials,
        "npi": npi,
        "clients_may_confirm": confirm,
        "clients_may_cancel": cancel,
        "self_schedule_statuses": chosen,
        "online_booking_limit": limit,
        "online_needs_approval": approval,
        **numbers,
    }
    return clean, errors


async def change(
    practice_id: int, provider_id: int, clean: Mapping[str, Any], staff: Staff, actor: Actor
) -> None:
    """Change a provider's settings; the audit event holds what changed, old and new.
    Nothing changed: nothing written."""
    async with write_transaction():
        old = await row_of(practice_id, provider_id, staff)
        old = {**old, "self_schedule_statuses": statuses_of(old["self_schedule_statuses"])}
        changed = [k for k in FACTS if old[k] != clean[k]]
        if not changed:
            return
        await Provider.update({getattr(Provider, k): clean[k] for k in changed}).where(
            Provider.id == provider_id
        )
        await audit.record(
            "practice.provider_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"provider:{provider_id}",
            detail={
                "provider": provider_id,
                "old": {k: old[k] for k in changed},
                "new": {k: clean[k] for k in changed},
            },
        )
