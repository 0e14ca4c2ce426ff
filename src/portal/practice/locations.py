"""The practice's offices: where in-person appointments are held.

Owners and managers add and change them in Settings › Locations and retire them; a location
is never deleted (appointments and weekly hours refer to it). A retired location stops being
offered for new bookings at once (`scheduling/booking.py` offers active locations only);
existing appointments keep it.

The address is what the client's appointment shows, with its Google and Apple Maps links
(built as `scheduling.appointments.Visit` builds them: the same properties). Postal codes
are US ZIP codes (12345 or 12345-6789): the portal serves US practices, as phone numbers
are read as US numbers (`profile/contact_points.py`). A phone number is checked with
`phonenumbers` and stored as the demo and the practice hold theirs, formatted for reading:
"(617) 555-0142" (international numbers in their international format).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import NotFound
from portal.practice.info import format_address
from portal.practice.services import set_active, unique_name
from portal.profile.contact_points import display_phone, parse_phone
from portal.scheduling.appointments import Visit
from portal.tables import Location

# The form's fields and their longest value (the table's column lengths).
TEXT_FIELDS = {
    "name": 200,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "phone": 40,
}
FACTS = tuple(TEXT_FIELDS)
_ZIP = re.compile(r"\d{5}(-\d{4})?")
REQUIRED = {
    "name": "Give the location a name, as clients will read it.",
    "address_line1": "Enter the street address.",
    "city": "Enter the city.",
    "region": "Enter the state.",
    "postal_code": "Enter the ZIP code.",
}


@dataclass(frozen=True)
class LocationItem:
    id: int
    name: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    phone: str
    active: bool

    @property
    def address(self) -> str:
        """The address on one line, as the client's appointment shows it."""
        return format_address(self.__dict__)

    @property
    def tel(self) -> str:
        """The phone number for a tel: link (E.164), empty when there is none to dial."""
        try:
            return parse_phone(self.phone) if self.phone else ""
        except ValueError:
            return ""

    # The maps links the client gets for an appointment here (the same code).
    google_maps = Visit.google_maps
    apple_maps = Visit.apple_maps

    def typed(self) -> dict[str, str]:
        """The location as its edit form shows it."""
        return {k: getattr(self, k) for k in TEXT_FIELDS}


async def all_locations(practice_id: int) -> list[LocationItem]:
    """Every location of the practice, active first, each group by name."""
    rows = await Location.select().where(Location.practice == practice_id).order_by(Location.id)
    items = [LocationItem(**{k: r[k] for k in LocationItem.__dataclass_fields__}) for r in rows]
    return sorted(items, key=lambda x: (not x.active, x.name.casefold(), x.id))


def check(typed: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A location from the staff form (`TEXT_FIELDS`): (column values, errors by field)."""
    errors: dict[str, str] = {}
    clean = {k: " ".join(typed.get(k, "").split()) for k in TEXT_FIELDS}
    for field, message in REQUIRED.items():
        if not clean[field]:
            errors[field] = message
        elif len(clean[field]) > TEXT_FIELDS[field]:
            errors[field] = f"Keep it to {TEXT_FIELDS[field]} characters."
    if (
        clean["postal_code"]
        and "postal_code" not in errors
        and not _ZIP.fullmatch(clean["postal_code"])
    ):
        errors["postal_code"] = (
            "Enter a ZIP code of 5 digits, like 02110, or ZIP+4, like 02110-1234."
        )
    if clean["phone"]:
        try:
            clean["phone"] = display_phone(parse_phone(clean["phone"]))
        except ValueError as exc:
            errors["phone"] = str(exc)
    return clean, errors


async def row_of(practice_id: int, location_id: int) -> dict:
    row = (
        await Location.select()
        .where((Location.id == location_id) & (Location.practice == practice_id))
        .first()
    )
    if row is None:
        raise NotFound("There is no such location.")
    return row


async def _record(action: str, location_id: int, actor: Actor, **detail: Any) -> None:
    await audit.record(
        action,
        actor_id=actor.user_id,
        ip=actor.ip,
        subject=f"location:{location_id}",
        detail={"location": location_id, **detail},
    )


async def add(practice_id: int, clean: Mapping[str, str], actor: Actor) -> int:
    """A new active location; `clean` comes from `check`."""
    async with write_transaction():
        await unique_name(Location, practice_id, clean["name"], None)
        rows = await Location.insert(
            Location(practice=practice_id, active=True, **clean)
        ).returning(Location.id)
        location_id = rows[0]["id"]
        await _record("practice.location_added", location_id, actor, new=dict(clean))
    return location_id


async def change(
    practice_id: int, location_id: int, clean: Mapping[str, str], actor: Actor
) -> None:
    """Change a location (active or retired); the audit event holds what changed, old and
    new. Nothing changed: nothing written. Appointments booked there show the new address."""
    async with write_transaction():
        old = await row_of(practice_id, location_id)
        if old["active"]:
            await unique_name(Location, practice_id, clean["name"], location_id)
        changed = [k for k in FACTS if old[k] != clean[k]]
        if not changed:
            return
        await Location.update({getattr(Location, k): clean[k] for k in changed}).where(
            Location.id == location_id
        )
        await _record(
            "practice.location_changed", location_id, actor,
            old={k: old[k] for k in changed}, new={k: clean[k] for k in changed},
        )  # fmt: skip


async def retire(practice_id: int, location_id: int, actor: Actor) -> bool:
    return await set_active(Location, practice_id, location_id, False, actor)


async def restore(practice_id: int, location_id: int, actor: Actor) -> bool:
    return await set_active(Location, practice_id, location_id, True, actor)
