"""A client's email addresses: one of them primary (where the practice writes), the others kept.

Scoped to one client: another client's address is `NotFound`, never touched.
Bad input raises `Invalid` keyed by the form's field names and writes nothing.
"""

from __future__ import annotations

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.profile import changes
from portal.profile.contact_points import parse_email
from portal.tables import ClientEmail

MAX_EMAILS = 10


async def emails(client_id: int) -> list[dict]:
    return (
        await ClientEmail.select(ClientEmail.id, ClientEmail.address, ClientEmail.is_primary)
        .where(ClientEmail.client == client_id)
        .order_by(ClientEmail.is_primary, ascending=False)
        .order_by(ClientEmail.id)
    )


async def _email(client_id: int, email_id: int) -> dict:
    row = (
        await ClientEmail.select(ClientEmail.id, ClientEmail.address, ClientEmail.is_primary)
        .where((ClientEmail.id == email_id) & (ClientEmail.client == client_id))
        .first()
    )
    if row is None:
        raise NotFound(changes.NOT_FOUND)
    return row


async def _primary_address(client_id: int) -> str:
    row = (
        await ClientEmail.select(ClientEmail.address)
        .where((ClientEmail.client == client_id) & (ClientEmail.is_primary.eq(True)))
        .first()
    )
    return row["address"] if row else ""


async def add_email(client_id: int, address: str, make_primary: bool, actor: Actor) -> None:
    """A new address; primary if asked, or if the client has no primary address yet."""
    try:
        address = parse_email(address)
    except ValueError as exc:
        raise Invalid(errors={"address": str(exc)}) from None
    async with write_transaction(lock_client=client_id):
        existing = await emails(client_id)
        if len(existing) >= MAX_EMAILS:
            raise Invalid(errors={"address": f"You can keep up to {MAX_EMAILS} email addresses."})
        if any(e["address"].lower() == address.lower() for e in existing):
            raise Invalid(errors={"address": "You already have this email address."})
        old_primary = next((e["address"] for e in existing if e["is_primary"]), "")
        primary = make_primary or not old_primary
        if primary:
            await ClientEmail.update({ClientEmail.is_primary: False}).where(
                ClientEmail.client == client_id
            )
        await ClientEmail.insert(
            ClientEmail(client=client_id, address=address, is_primary=primary, created_at=utcnow())
        )
        await changes.record(
            "profile.email_added",
            client_id,
            actor,
            new={"address": address, "primary": primary},
            **({"old_primary": old_primary} if primary and old_primary else {}),
        )


async def make_primary(client_id: int, email_id: int, actor: Actor) -> None:
    """This address becomes the primary one; every other stops being it (one transaction)."""
    async with write_transaction(lock_client=client_id):
        row = await _email(client_id, email_id)
        if row["is_primary"]:
            return
        old = await _primary_address(client_id)
        await ClientEmail.update({ClientEmail.is_primary: False}).where(
            ClientEmail.client == client_id
        )
        await ClientEmail.update({ClientEmail.is_primary: True}).where(ClientEmail.id == email_id)
        await changes.record(
            "profile.email_primary_changed",
            client_id,
            actor,
            old={"primary": old},
            new={"primary": row["address"]},
        )


async def remove_email(client_id: int, email_id: int, actor: Actor) -> None:
    """Any address but the primary one (make another primary first)."""
    async with write_transaction(lock_client=client_id):
        row = await _email(client_id, email_id)
        if row["is_primary"]:
            others = await ClientEmail.count().where(
                (ClientEmail.client == client_id) & (ClientEmail.id != email_id)
            )
            raise Invalid(
                errors={
                    f"email_{email_id}": (
                        "This is your primary address. Make another address primary first, "
                        "then remove this one."
                        if others
                        else "This is your only email address. Add another and make it "
                        "primary first, then remove this one."
                    )
                }
            )
        await ClientEmail.delete().where(ClientEmail.id == email_id)
        await changes.record(
            "profile.email_removed", client_id, actor, old={"address": row["address"]}
        )
