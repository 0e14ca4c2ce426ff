"""The Stripe adapter: the practice's keys, the client's Stripe Customer, SetupIntents and
the cards Stripe holds. Card numbers never reach this server.

A new card is entered in Stripe Elements and set up with a SetupIntent that the
browser confirms with Stripe (`start_setup`); `card_from_setup` then reads the
card back, refusing a SetupIntent of anyone else's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import stripe

from portal.core.crypto import Cipher
from portal.core.errors import Invalid
from portal.settings import PaymentsSettings
from portal.tables import PaymentSettings, StripeCustomer


@dataclass(frozen=True)
class Gateway:
    """The practice's Stripe account, ready to call."""

    client: stripe.StripeClient
    publishable_key: str
    webhook_secret: str
    max_credit_cents: int
    settings: PaymentsSettings


def dict_or_empty(value: object) -> dict:
    """A part of a Stripe object (an event's, a refund's metadata) as a dict, or {} when it
    is missing or not one: events are read defensively."""
    return value if isinstance(value, dict) else {}


async def gateway(practice_id: int, cipher: Cipher, settings: PaymentsSettings) -> Gateway | None:
    """None until an owner or manager has entered the keys."""
    row = await PaymentSettings.select().where(PaymentSettings.practice == practice_id).first()
    if not row or not row["secret_key"] or not row["publishable_key"]:
        return None
    base = {"api": settings.stripe_api_url} if settings.stripe_api_url else {}
    client = stripe.StripeClient(
        cipher.decrypt(row["secret_key"]), base_addresses=base, max_network_retries=2
    )
    return Gateway(
        client=client,
        publishable_key=row["publishable_key"],
        webhook_secret=cipher.decrypt(row["webhook_secret"]) if row["webhook_secret"] else "",
        max_credit_cents=row["max_credit_cents"],
        settings=settings,
    )


async def customer_id(gw: Gateway, client: dict) -> str:
    """The client's Stripe Customer, created once (concurrent first calls agree on one)."""
    row = await StripeCustomer.select().where(StripeCustomer.client == client["id"]).first()
    if row:
        return row["customer_id"]
    customer = await gw.client.v1.customers.create_async(
        params={"metadata": {"portal_client": str(client["id"])}},
        options={"idempotency_key": f"portal-customer-{client['id']}"},
    )
    await StripeCustomer.insert(
        StripeCustomer(client=client["id"], customer_id=customer.id)
    ).on_conflict(action="DO NOTHING")
    row = await StripeCustomer.select().where(StripeCustomer.client == client["id"]).first()
    return row["customer_id"]


async def start_setup(gw: Gateway, client: dict) -> str:
    """A SetupIntent for a new card: its client secret, for Stripe.js in the browser."""
    intent = await gw.client.v1.setup_intents.create_async(
        params={"customer": await customer_id(gw, client), "usage": "off_session"}
    )
    return intent.client_secret


SETUP_FAILED = "The card could not be set up. Please enter it again."


async def card_from_setup(gw: Gateway, client: dict, setup_intent_id: str) -> stripe.PaymentMethod:
    """The card a SetupIntent set up for this client (Invalid if it is anyone else's)."""
    if not re.fullmatch(r"seti_\w{1,100}", setup_intent_id):
        raise Invalid(SETUP_FAILED)
    try:
        intent = await gw.client.v1.setup_intents.retrieve_async(setup_intent_id)
    except stripe.StripeError as exc:
        raise Invalid(SETUP_FAILED) from exc
    if intent.status != "succeeded" or intent.customer != await customer_id(gw, client):
        raise Invalid(SETUP_FAILED)
    return await gw.client.v1.payment_methods.retrieve_async(intent.payment_method)


async def detach(gw: Gateway, payment_method_id: str) -> None:
    """Stripe forgets the card; one already detached there counts as done."""
    try:
        await gw.client.v1.payment_methods.detach_async(payment_method_id)
    except stripe.InvalidRequestError:
        pass


async def forget_quietly(gw: Gateway, payment_method_id: str) -> None:
    """A card used once and not to be kept: Stripe forgets it too, if it can just now."""
    try:
        await gw.client.v1.payment_methods.detach_async(payment_method_id)
    except stripe.StripeError:
        pass
