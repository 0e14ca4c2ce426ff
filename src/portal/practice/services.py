"""The services a practice offers: what clients book, and what a charge defaults from.

Owners and managers add and change them in Settings › Services and retire them; a service
is never deleted (appointments and ledger lines refer to it). A retired service stops being
offered for new bookings at once (`scheduling/booking.py` offers active services only);
existing appointments keep it. A service "for new clients only" is offered online only to a
client whose status is "new" (an initial assessment).

Each change is one write transaction and one audit event with the old and new values.
`unique_name` and `set_active` are shared with `practice/locations.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from piccolo.table import Table

from portal.billing.payments import parse_amount
from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.tables import Service

MAX_NAME = 150
MIN_MINUTES, MAX_MINUTES = 10, 480
# A CPT code: five digits (90834), or four digits and a letter (Category II/III: 0591T).
_CPT = re.compile(r"\d{5}|\d{4}[A-Z]")
# The form's text fields and the most of each that is read (the page's maxlength).
TEXT_FIELDS = {
    "name": MAX_NAME + 1,
    "cpt_code": 10,
    "minutes": 5,
    "fee": 20,
    "client_may_schedule": 3,
    "telehealth_allowed": 3,
    "offered_to": 3,
}
OFFERED_TO = {"all": "All clients", "new": "New clients only"}
# What an audit event records of a service (its columns).
FACTS = (
    "name",
    "cpt_code",
    "duration_minutes",
    "price_cents",
    "client_may_schedule",
    "telehealth_allowed",
    "new_clients_only",
)


@dataclass(frozen=True)
class ServiceItem:
    id: int
    name: str
    cpt_code: str
    duration_minutes: int
    price_cents: int
    client_may_schedule: bool
    telehealth_allowed: bool
    new_clients_only: bool
    active: bool

    def typed(self) -> dict[str, str]:
        """The service as its edit form shows it."""
        cents = self.price_cents
        return {
            "name": self.name,
            "cpt_code": self.cpt_code,
            "minutes": str(self.duration_minutes),
            "fee": f"{cents // 100}.{cents % 100:02d}",
            "client_may_schedule": "yes" if self.client_may_schedule else "no",
            "telehealth_allowed": "yes" if self.telehealth_allowed else "no",
            "offered_to": "new" if self.new_clients_only else "all",
        }


def _item(row: dict) -> ServiceItem:
    return ServiceItem(**{k: row[k] for k in ServiceItem.__dataclass_fields__})


async def all_services(practice_id: int) -> list[ServiceItem]:
    """Every service of the practice, active first, each group by name."""
    rows = await Service.select().where(Service.practice == practice_id).order_by(Service.id)
    items = [_item(r) for r in rows]
    return sorted(items, key=lambda s: (not s.active, s.name.casefold(), s.id))


def _yes_no(value: str, field: str, message: str, errors: dict[str, str]) -> bool:
    if value not in ("yes", "no"):
        errors[field] = message
    return value == "yes"


def check(typed: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """A service from the staff form (`TEXT_FIELDS`): (column values, errors by field)."""
    errors: dict[str, str] = {}
    name = " ".join(typed.get("name", "").split())
    if not name:
        errors["name"] = "Give the service a name, as clients will read it."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Keep the name to {MAX_NAME} characters."
    cpt = typed.get("cpt_code", "").strip().upper()
    if cpt and not _CPT.fullmatch(cpt):
        errors["cpt_code"] = (
            "A CPT code is 5 characters: 5 digits (like 90834) or 4 digits and a letter "
            "(like 0591T). Leave it empty if the service has none."
        )
    minutes = 0
    text = typed.get("minutes", "").strip()
    if not text.isascii() or not text.isdigit():
        errors["minutes"] = f"Enter the length in minutes, from {MIN_MINUTES} to {MAX_MINUTES}."
    else:
        minutes = int(text)
        if not MIN_MINUTES <= minutes <= MAX_MINUTES:
            errors["minutes"] = f"A service lasts from {MIN_MINUTES} to {MAX_MINUTES} minutes."
    cents = 0
    try:
        cents = parse_amount(typed.get("fee", ""))
    except Invalid:
        errors["fee"] = "Enter the fee in dollars and cents, like 150.00 (0 for no fee)."
    may_schedule = _yes_no(
        typed.get("client_may_schedule", ""), "client_may_schedule",
        "Choose whether clients may book it online.", errors,
    )  # fmt: skip
    telehealth = _yes_no(
        typed.get("telehealth_allowed", ""), "telehealth_allowed",
        "Choose whether it may be held by telehealth.", errors,
    )  # fmt: skip
    offered_to = typed.get("offered_to", "")
    if offered_to not in OFFERED_TO:
        errors["offered_to"] = "Choose who may book it online: all clients or new clients only."
    clean = {
        "name": name,
        "cpt_code": cpt,
        "duration_minutes": minutes,
        "price_cents": cents,
        "client_may_schedule": may_schedule,
        "telehealth_allowed": telehealth,
        "new_clients_only": offered_to == "new",
    }
    return clean, errors


async def unique_name(table: type[Table], practice_id: int, name: str, own_id: int | None) -> None:
    """Invalid (on `name`) when another active row of the practice has this name, in any case."""
    rows = await table.select(table.id, table.name).where(
        (table.practice == practice_id) & table.active.eq(True)
    )
    if any(r["name"].casefold() == name.casefold() and r["id"] != own_id for r in rows):
        what = "service" if table is Service else "location"
        raise Invalid(
            errors={"name": f"Another active {what} is named “{name}”. Choose another name."}
        )


async def row_of(practice_id: int, service_id: int) -> dict:
    row = (
        await Service.select()
        .where((Service.id == service_id) & (Service.practice == practice_id))
        .first()
    )
    if row is None:
        raise NotFound("There is no such service.")
    return row


async def _record(action: str, service_id: int, actor: Actor, **detail: Any) -> None:
    await audit.record(
        action,
        actor_id=actor.user_id,
        ip=actor.ip,
        subject=f"service:{service_id}",
        detail={"service": service_id, **detail},
    )


async def add(practice_id: int, clean: Mapping[str, Any], actor: Actor) -> int:
    """A new active service; `clean` comes from `check`."""
    async with write_transaction():
        await unique_name(Service, practice_id, clean["name"], None)
        rows = await Service.insert(Service(practice=practice_id, active=True, **clean)).returning(
            Service.id
        )
        service_id = rows[0]["id"]
        await _record("practice.service_added", service_id, actor, new=dict(clean))
    return service_id


async def change(practice_id: int, service_id: int, clean: Mapping[str, Any], actor: Actor) -> None:
    """Change a service (active or retired); the audit event holds what changed, old and new.
    Nothing changed: nothing written."""
    async with write_transaction():
        old = await row_of(practice_id, service_id)
        if old["active"]:
            await unique_name(Service, practice_id, clean["name"], service_id)
        changed = [k for k in FACTS if old[k] != clean[k]]
        if not changed:
            return
        await Service.update({getattr(Service, k): clean[k] for k in changed}).where(
            Service.id == service_id
        )
        await _record(
            "practice.service_changed", service_id, actor,
            old={k: old[k] for k in changed}, new={k: clean[k] for k in changed},
        )  # fmt: skip


async def set_active(
    table: type[Table], practice_id: int, item_id: int, active: bool, actor: Actor
) -> bool:
    """Retire (`active` False) or restore a service or a location of the practice, audited
    as `practice.<kind>_retired` / `_restored`. False when it already was (nothing written);
    NotFound for another practice's or none; Invalid when restoring would repeat an active
    name."""
    kind = "service" if table is Service else "location"
    async with write_transaction():
        row = (
            await table.select(table.name, table.active)
            .where((table.id == item_id) & (table.practice == practice_id))
            .first()
        )
        if row is None:
            raise NotFound(f"There is no such {kind}.")
        if row["active"] == active:
            return False
        if active:
            await unique_name(table, practice_id, row["name"], item_id)
        await table.update({table.active: active}).where(table.id == item_id)
        await audit.record(
            f"practice.{kind}_{'restored' if active else 'retired'}",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"{kind}:{item_id}",
            detail={kind: item_id, "name": row["name"], "old": {"active": not active},
                    "new": {"active": active}},
        )  # fmt: skip
    return True


async def retire(practice_id: int, service_id: int, actor: Actor) -> bool:
    return await set_active(Service, practice_id, service_id, False, actor)


async def restore(practice_id: int, service_id: int, actor: Actor) -> bool:
    return await set_active(Service, practice_id, service_id, True, actor)
