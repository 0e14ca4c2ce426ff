"""Staff › Settings › Practice (owner, manager): the practice's details and its portal rules.

Two sections, each changed on its own (`change_details`, `change_rules`): checked field by
field (`Invalid` with every message by its field's name, nothing written), then written in
one transaction with the audit event `practice.settings_changed` holding the section and
only the fields that changed, old and new. The caller then calls `practice.info.changed()`
so every page of this process shows the change at once. The terms of service are published
from the same page (`practice.terms.publish`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, available_timezones

from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.core.templating import ZONE_NAMES, zone_name
from portal.practice import terms
from portal.practice.info import DOCUMENTS, client_documents, settings_of
from portal.profile.contact_points import display_phone, parse_email, parse_phone
from portal.tables import Client, Practice
from portal.tables.accounts import Role, User

# The practice's details: each form field, its column and its longest value.
DETAILS = {
    "name": 200,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "phone": 40,
    "email": 254,
    "time_zone": 64,
    "npi": 10,
    "tax_id": 20,
}
DETAIL_LABELS = {
    "name": "Name",
    "address_line1": "Address",
    "address_line2": "Address, line 2",
    "city": "City",
    "region": "State or region",
    "postal_code": "Postal code",
    "phone": "Phone",
    "email": "Email",
    "time_zone": "Time zone",
    "npi": "NPI",
    "tax_id": "Tax id (EIN)",
}

TWO_FACTOR = {
    "nobody": "Nobody is required to use two-factor sign-in",
    "staff": "Staff must use two-factor sign-in",
    "everyone": "Everyone must, staff and clients",
}
# Who may be the designated scheduler / biller (the desks clients write to in My Messages).
DESK_ROLES = {
    "designated_scheduler": (Role.scheduler, Role.manager, Role.owner),
    "designated_biller": (Role.biller, Role.manager, Role.owner),
}
MAX_LINK_MINUTES = 120
MAX_TERMS = 60_000  # characters of the terms' text
RULES = ("two_factor_policy", "designated_scheduler", "designated_biller",
         "telehealth_link_minutes", "client_documents")  # fmt: skip

_EIN = re.compile(r"^(\d{2})-?(\d{7})$")


def npi_is_valid(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit over "80840" and the first nine (the
    NPI standard's prefix for the US health industry)."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    digits = [int(d) for d in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):  # double every other digit, from the right
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


@dataclass(frozen=True)
class Zone:
    key: str
    label: str


def time_zones() -> tuple[list[Zone], list[Zone]]:
    """The zones to choose from: those US practices are in first, then every IANA zone."""
    every = sorted(available_timezones())
    common = [Zone(k, f"{zone_name(ZoneInfo(k))} ({k})") for k in ZONE_NAMES if k in every]
    rest = [Zone(k, k.replace("_", " ")) for k in every]
    return common, rest


def check_details(typed: Mapping[str, str]) -> dict[str, str]:
    """The practice's details from the form, cleaned, or `Invalid` by field."""
    errors: dict[str, str] = {}
    clean = {k: " ".join((typed.get(k) or "").split()) for k in DETAILS}
    for k, n in DETAILS.items():
        if len(clean[k]) > n:
            errors[k] = f"Keep it under {n + 1} characters."
    if not clean["name"]:
        errors["name"] = "Enter the practice's name."
    if clean["phone"] and "phone" not in errors:
        try:
            clean["phone"] = display_phone(parse_phone(clean["phone"]))
        except ValueError as exc:
            errors["phone"] = str(exc)
    if clean["email"] and "email" not in errors:
        try:
            clean["email"] = parse_email(clean["email"])
        except ValueError as exc:
            errors["email"] = str(exc)
    if clean["time_zone"] not in available_timezones():
        errors["time_zone"] = "Choose the practice's time zone from the list."
    if clean["npi"] and not npi_is_valid(clean["npi"]):
        errors["npi"] = (
            "An NPI is 10 digits and its last digit checks the others: check it against "
            "the NPI registry."
        )
    if clean["tax_id"]:
        ein = _EIN.match(clean["tax_id"])
        if ein is None:
            errors["tax_id"] = "Enter the employer identification number as 12-3456789."
        else:
            clean["tax_id"] = f"{ein[1]}-{ein[2]}"
    if errors:
        raise Invalid(errors=errors)
    return clean


async def _row(practice_id: int) -> dict:
    row = await Practice.select().where(Practice.id == practice_id).first()
    if row is None:
        raise NotFound("There is no such practice.")
    return row


async def _record(actor: Actor, practice_id: int, section: str, old: dict, new: dict) -> list:
    """The audit event of a change: only the fields that changed. Returns their names."""
    changed = [k for k in new if old.get(k) != new[k]]
    if changed:
        await audit.record(
            "practice.settings_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"practice:{practice_id}",
            detail={
                "section": section,
                "old": {k: old.get(k) for k in changed},
                "new": {k: new[k] for k in changed},
            },
        )
    return changed


async def change_details(practice_id: int, typed: Mapping[str, str], actor: Actor) -> list[str]:
    """Save the practice's details; the names of the fields that changed."""
    clean = check_details(typed)
    async with write_transaction():
        row = await _row(practice_id)
        old = {k: row[k] for k in DETAILS}
        changed = await _record(actor, practice_id, "details", old, clean)
        if changed:
            await Practice.update({getattr(Practice, k): clean[k] for k in changed}).where(
                Practice.id == practice_id
            )
    return changed


async def desk_candidates() -> dict[str, list[dict]]:
    """Active staff who may be each desk, by field: id, username, role."""
    rows = await (
        User.select(User.id, User.username, User.role)
        .where(User.active.eq(True) & User.role.is_in([r.value for r in Role if r != Role.client]))
        .order_by(User.username)
    )
    return {
        field: [r for r in rows if r["role"] in {x.value for x in roles}]
        for field, roles in DESK_ROLES.items()
    }


def _desk(text: str, field: str, candidates: dict, errors: dict[str, str]) -> int | None:
    if not text:
        return None
    ids = {r["id"] for r in candidates[field]}
    if not text.isascii() or not text.isdigit() or int(text) not in ids:
        errors[field] = "Choose someone from the list, or nobody."
        return None
    return int(text)


async def change_rules(
    practice_id: int, typed: Mapping[str, str], documents: list[str], actor: Actor
) -> list[str]:
    """Save the portal's rules (`documents`: the ticked document kinds); the fields changed."""
    errors: dict[str, str] = {}
    policy = typed.get("two_factor_policy", "")
    if policy not in TWO_FACTOR:
        errors["two_factor_policy"] = "Choose who must use two-factor sign-in."
    minutes_text = (typed.get("telehealth_link_minutes") or "").strip()
    minutes = int(minutes_text) if minutes_text.isascii() and minutes_text.isdigit() else -1
    if not 0 <= minutes <= MAX_LINK_MINUTES:
        errors["telehealth_link_minutes"] = (
            f"Enter a number of minutes from 0 to {MAX_LINK_MINUTES}."
        )
    unknown = [d for d in documents if d not in DOCUMENTS]
    if unknown:
        errors["client_documents"] = "Tick only the documents listed."
    async with write_transaction():
        candidates = await desk_candidates()
        desks = {f: _desk((typed.get(f) or "").strip(), f, candidates, errors) for f in DESK_ROLES}
        if errors:
            raise Invalid(errors=errors)
        row = await _row(practice_id)
        settings = settings_of(row)
        old = {k: row[k] for k in RULES[:-1]}
        old["client_documents"] = [d for d in DOCUMENTS if d in client_documents(settings)]
        new = {
            "two_factor_policy": policy,
            **desks,
            "telehealth_link_minutes": minutes,
            "client_documents": [d for d in DOCUMENTS if d in documents],
        }
        changed = await _record(actor, practice_id, "rules", old, new)
        values = {getattr(Practice, k): new[k] for k in changed if k != "client_documents"}
        if "client_documents" in changed:
            values[Practice.settings] = json.dumps(
                {**settings, "client_documents": new["client_documents"]}
            )
        if values:
            await Practice.update(values).where(Practice.id == practice_id)
    return changed


async def view(practice_id: int) -> dict:
    """Everything the settings page shows: the practice's row, the choices, the terms."""
    row = await _row(practice_id)
    current = await terms.current()
    common, every = time_zones()
    return {
        "row": {
            **row,
            "client_documents": client_documents(settings_of(row)),
        },
        "zones_common": common,
        "zones": every,
        "candidates": await desk_candidates(),
        "terms": current,
        "terms_paragraphs": terms.paragraphs(current["body"]) if current else [],
        "accepted": await terms.accepted_count(current["id"]) if current else 0,
        "clients_with_accounts": await Client.count().where(
            (Client.practice == practice_id) & Client.user.is_not_null()
        ),
    }
