"""A client's contacts: people the practice may reach, at most one the responsible party.

Marking a contact as the responsible party takes the mark from whoever had it
(the write returns that name, so the page can say so). Scoped to one client:
another client's contact is `NotFound`, never touched. Bad input raises
`Invalid` keyed by the form's field names and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.profile import changes
from portal.profile.contact_points import display_phone, optional_email, optional_phone
from portal.tables import ClientContact

MAX_CONTACTS = 20

_CONTACT_COLUMNS = (
    ClientContact.id,
    ClientContact.name,
    ClientContact.relationship,
    ClientContact.phone,
    ClientContact.email,
    ClientContact.is_responsible_party,
    ClientContact.responsible_for_payment,
)
_CONTACT_FIELDS = (
    "name", "relationship", "phone", "email", "is_responsible_party", "responsible_for_payment",
)  # fmt: skip


async def contacts(client_id: int) -> list[dict]:
    rows = (
        await ClientContact.select(*_CONTACT_COLUMNS)
        .where(ClientContact.client == client_id)
        .order_by(ClientContact.is_responsible_party, ascending=False)
        .order_by(ClientContact.id)
    )
    for row in rows:
        row["phone_display"] = display_phone(row["phone"])
    return rows


async def _contact(client_id: int, contact_id: int) -> dict:
    row = (
        await ClientContact.select(*_CONTACT_COLUMNS)
        .where((ClientContact.id == contact_id) & (ClientContact.client == client_id))
        .first()
    )
    if row is None:
        raise NotFound(changes.NOT_FOUND)
    return row


def parse_contact(form: Mapping[str, Any]) -> dict:
    """The contact form's fields, checked; raises Invalid."""
    errors: dict[str, str] = {}
    name = str(form.get("name", "")).strip()
    relationship = str(form.get("relationship", "")).strip()
    phone_text = str(form.get("phone", "")).strip()
    email_text = str(form.get("email", "")).strip()
    if not name:
        errors["name"] = "Enter the contact's name."
    elif len(name) > 150:
        errors["name"] = "Shorten the name to 150 characters or fewer."
    if len(relationship) > 60:
        errors["relationship"] = "Shorten the relationship to 60 characters or fewer."
    phone = optional_phone(phone_text, "phone", errors)
    email = optional_email(email_text, "email", errors)
    if not phone_text and not email_text:
        errors["phone"] = "Give a phone number or an email address so the practice can reach them."
    if errors:
        raise Invalid(errors=errors)
    return {
        "name": name,
        "relationship": relationship,
        "phone": phone,
        "email": email,
        "is_responsible_party": bool(form.get("is_responsible_party")),
        "responsible_for_payment": bool(form.get("responsible_for_payment")),
    }


async def _only_responsible_party(client_id: int, contact_id: int) -> str:
    """Clear the flag on every other contact; returns the name of the one that had it."""
    previous = (
        await ClientContact.select(ClientContact.name)
        .where(
            (ClientContact.client == client_id)
            & (ClientContact.is_responsible_party.eq(True))
            & (ClientContact.id != contact_id)
        )
        .first()
    )
    await ClientContact.update({ClientContact.is_responsible_party: False}).where(
        (ClientContact.client == client_id) & (ClientContact.id != contact_id)
    )
    return previous["name"] if previous else ""


async def add_contact(client_id: int, form: Mapping[str, Any], actor: Actor) -> str:
    """Returns the name of the contact that stopped being the responsible party, if any."""
    values = parse_contact(form)
    async with write_transaction(lock_client=client_id):
        if await ClientContact.count().where(ClientContact.client == client_id) >= MAX_CONTACTS:
            raise Invalid(errors={"name": f"You can keep up to {MAX_CONTACTS} contacts."})
        row = await ClientContact.insert(
            ClientContact(client=client_id, created_at=utcnow(), **values)
        ).returning(ClientContact.id)
        replaced = ""
        if values["is_responsible_party"]:
            replaced = await _only_responsible_party(client_id, row[0]["id"])
        await changes.record(
            "profile.contact_added",
            client_id,
            actor,
            contact_id=row[0]["id"],
            new=values,
            **({"responsible_party_was": replaced} if replaced else {}),
        )
    return replaced


async def change_contact(
    client_id: int, contact_id: int, form: Mapping[str, Any], actor: Actor
) -> str:
    """Returns the name of the contact that stopped being the responsible party, if any."""
    await _contact(client_id, contact_id)
    values = parse_contact(form)
    async with write_transaction(lock_client=client_id):
        old = await _contact(client_id, contact_id)
        replaced = ""
        if values["is_responsible_party"]:
            replaced = await _only_responsible_party(client_id, contact_id)
        await ClientContact.update({getattr(ClientContact, k): v for k, v in values.items()}).where(
            ClientContact.id == contact_id
        )
        await changes.record(
            "profile.contact_changed",
            client_id,
            actor,
            contact_id=contact_id,
            old={k: old[k] for k in _CONTACT_FIELDS},
            new=values,
            **({"responsible_party_was": replaced} if replaced else {}),
        )
    return replaced


async def remove_contact(client_id: int, contact_id: int, actor: Actor) -> None:
    async with write_transaction(lock_client=client_id):
        old = await _contact(client_id, contact_id)
        await ClientContact.delete().where(ClientContact.id == contact_id)
        await changes.record(
            "profile.contact_removed",
            client_id,
            actor,
            contact_id=contact_id,
            old={k: old[k] for k in _CONTACT_FIELDS},
        )
