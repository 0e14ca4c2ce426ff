"""A client's phone numbers: mobile, home or work, each stored once in E.164.

Scoped to one client: another client's number is `NotFound`, never touched.
Bad input raises `Invalid` keyed by the form's field names and writes nothing.
"""

from __future__ import annotations

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.profile import changes
from portal.profile.contact_points import display_phone, parse_phone
from portal.tables import ClientPhone

PHONE_KINDS = {"mobile": "Mobile", "home": "Home", "work": "Work"}
MAX_PHONES = 10


async def phones(client_id: int) -> list[dict]:
    rows = (
        await ClientPhone.select(ClientPhone.id, ClientPhone.kind, ClientPhone.number)
        .where(ClientPhone.client == client_id)
        .order_by(ClientPhone.id)
    )
    for row in rows:
        row["display"] = display_phone(row["number"])
    return rows


def _phone_input(kind: str, number: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    if kind not in PHONE_KINDS:
        errors["kind"] = "Choose mobile, home or work."
    try:
        e164 = parse_phone(number)
    except ValueError as exc:
        errors["number"] = str(exc)
        e164 = ""
    if errors:
        raise Invalid(errors=errors)
    return kind, e164


async def _phone(client_id: int, phone_id: int) -> dict:
    row = (
        await ClientPhone.select(ClientPhone.id, ClientPhone.kind, ClientPhone.number)
        .where((ClientPhone.id == phone_id) & (ClientPhone.client == client_id))
        .first()
    )
    if row is None:
        raise NotFound(changes.NOT_FOUND)
    return row


async def _phone_taken(client_id: int, e164: str, except_id: int | None = None) -> bool:
    query = ClientPhone.exists().where(
        (ClientPhone.client == client_id) & (ClientPhone.number == e164)
    )
    if except_id is not None:
        query = query.where(ClientPhone.id != except_id)
    return await query


async def add_phone(client_id: int, kind: str, number: str, actor: Actor) -> None:
    kind, e164 = _phone_input(kind, number)
    async with write_transaction(lock_client=client_id):
        if await ClientPhone.count().where(ClientPhone.client == client_id) >= MAX_PHONES:
            raise Invalid(errors={"number": f"You can keep up to {MAX_PHONES} phone numbers."})
        if await _phone_taken(client_id, e164):
            raise Invalid(errors={"number": "You already have this phone number."})
        await ClientPhone.insert(
            ClientPhone(client=client_id, kind=kind, number=e164, created_at=utcnow())
        )
        await changes.record(
            "profile.phone_added", client_id, actor, new={"kind": kind, "number": e164}
        )


async def change_phone(client_id: int, phone_id: int, kind: str, number: str, actor: Actor) -> None:
    await _phone(client_id, phone_id)
    kind, e164 = _phone_input(kind, number)
    async with write_transaction(lock_client=client_id):
        old = await _phone(client_id, phone_id)
        if await _phone_taken(client_id, e164, except_id=phone_id):
            raise Invalid(errors={"number": "You already have this phone number."})
        await ClientPhone.update({ClientPhone.kind: kind, ClientPhone.number: e164}).where(
            ClientPhone.id == phone_id
        )
        await changes.record(
            "profile.phone_changed",
            client_id,
            actor,
            old={"kind": old["kind"], "number": old["number"]},
            new={"kind": kind, "number": e164},
        )


async def remove_phone(client_id: int, phone_id: int, actor: Actor) -> None:
    async with write_transaction(lock_client=client_id):
        old = await _phone(client_id, phone_id)
        await ClientPhone.delete().where(ClientPhone.id == phone_id)
        await changes.record(
            "profile.phone_removed",
            client_id,
            actor,
            old={"kind": old["kind"], "number": old["number"]},
        )
