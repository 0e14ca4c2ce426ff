"""Cards on file: the client's saved cards, adding and removing one, and which card pays.

A saved card is a Stripe PaymentMethod attached to the client's Stripe Customer;
this table keeps only what the page shows (brand, last four digits, expiry).
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from portal.billing import gateway
from portal.billing.gateway import Gateway
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid, NotFound
from portal.tables import SavedCard

NEW = "new"  # the card choice for a card entered just now


@dataclass(frozen=True)
class ChosenCard:
    """The card a payment charges, and whether it stays on file afterwards."""

    payment_method_id: str
    keep: bool


async def cards(client_id: int) -> list[dict]:
    return (
        await SavedCard.select().where(SavedCard.client == client_id).order_by(SavedCard.created_at)
    )


async def save_card(client_id: int, pm: stripe.PaymentMethod) -> None:
    card = pm.card
    await SavedCard.insert(
        SavedCard(
            client=client_id,
            payment_method_id=pm.id,
            brand=str(card.brand or "card"),
            last4=str(card.last4),
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
            created_at=utcnow(),
        )
    ).on_conflict(action="DO NOTHING")


async def choose(
    gw: Gateway, client: dict, *, choice: str, setup_intent: str, save: bool
) -> ChosenCard:
    """The card to charge: a new one just set up (kept only if `save`), or one on file.

    `choice` is "new" or a saved card's id; a card that is not this client's is
    no choice at all (Invalid, on the "card" field).
    """
    if choice == NEW:
        pm = await gateway.card_from_setup(gw, client, setup_intent)
        if save:
            await save_card(client["id"], pm)
        return ChosenCard(pm.id, keep=save)
    card = next((c for c in await cards(client["id"]) if str(c["id"]) == choice), None)
    if card is None:
        raise Invalid(errors={"card": "Choose a card, or enter a new one."})
    return ChosenCard(card["payment_method_id"], keep=True)


async def add(gw: Gateway, client: dict, setup_intent: str, *, actor: Actor) -> None:
    """Keep the card a SetupIntent set up for this client (Invalid if it did not)."""
    pm = await gateway.card_from_setup(gw, client, setup_intent)
    await save_card(client["id"], pm)
    await audit.record(
        "card.added", actor_id=actor.user_id, ip=actor.ip, detail={"last4": pm.card.last4}
    )


async def remove(gw: Gateway, client_id: int, card_id: int, *, actor: Actor) -> None:
    """Forget a card of this client's, here and at Stripe (NotFound for anyone else's)."""
    row = (
        await SavedCard.select()
        .where(SavedCard.id == card_id, SavedCard.client == client_id)
        .first()
    )
    if row is None:
        raise NotFound()
    await gateway.detach(gw, row["payment_method_id"])
    await SavedCard.delete().where(SavedCard.id == card_id)
    await audit.record(
        "card.removed", actor_id=actor.user_id, ip=actor.ip, subject=f"card:{card_id}"
    )
