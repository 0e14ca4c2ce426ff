"""Paying: the amount rules, one attempt per payment form, the charge and the ledger entry.

The charge is one server-side PaymentIntent, created with an idempotency key
taken from the payment form, so a double click or a retried request charges
once. If the bank wants the cardholder to authenticate (3-D Secure), the
browser confirms that PaymentIntent with Stripe.js and comes back to
`/pay/return` (`returned_intent`, then `settle`).

The ledger learns of a payment from whichever arrives first, the browser's
return or the `payment_intent.succeeded` webhook (`billing.webhooks`):
`record_payment` inserts the ledger entry keyed by the PaymentIntent id, which
the database keeps unique.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

import stripe

from portal.billing import gateway, ledger
from portal.billing.cards import ChosenCard
from portal.billing.gateway import Gateway
from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.core.templating import money
from portal.tables import Client, LedgerEntry, PaymentAttempt, SavedCard
from portal.tables.ledger import EntryKind

# --- Amounts ------------------------------------------------------------------------------


def parse_amount(text: str) -> int:
    """Dollars as typed ("25", "25.5", "$1,025.00") to cents; Invalid if it is not money."""
    cleaned = text.strip().replace("$", "").replace(",", "").strip()
    if not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", cleaned):
        raise Invalid(errors={"amount": "Enter an amount in dollars and cents, like 25.00."})
    return int((Decimal(cleaned) * 100).to_integral_value())


def check_amount(cents: int, owed: int, gw: Gateway) -> None:
    """At least the smallest payment; at most what is owed plus the credit the practice takes."""
    minimum = gw.settings.min_payment_cents
    if cents < minimum:
        raise Invalid(errors={"amount": f"The smallest payment we can take is {money(minimum)}."})
    limit = max(owed, 0) + gw.max_credit_cents
    if cents > limit:
        raise Invalid(
            errors={
                "amount": f"That is more than you owe plus the {money(gw.max_credit_cents)} credit "
                f"the practice accepts. The most you can pay now is {money(limit)}."
            }
        )


def try_amount(text: str, owed: int, gw: Gateway) -> int:
    cents = parse_amount(text)
    check_amount(cents, owed, gw)
    return cents


async def owed(client_id: int) -> int:
    return (await ledger.balance(client_id)).owed


# --- Paying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded, requires_action, failed, pending
    ledger_entry_id: int | None = None
    client_secret: str = ""
    error: str = ""


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


async def _claim_attempt(client_id: int, key: str, cents: int) -> bool:
    """True if this request owns the attempt; False if the same form was already sent."""
    rows = (
        await PaymentAttempt.insert(
            PaymentAttempt(
                client=client_id, idempotency_key=key, amount_cents=cents, created_at=utcnow()
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(PaymentAttempt.id)
    )
    return bool(rows)


async def attempt_outcome(client_id: int, key: str) -> Outcome | None:
    row = (
        await PaymentAttempt.select()
        .where(PaymentAttempt.client == client_id, PaymentAttempt.idempotency_key == key)
        .first()
    )
    if row is None:
        return None
    return Outcome(row["status"], row["ledger_entry"], error=row["error"])


async def pay(
    gw: Gateway, client: dict, *, key: str, cents: int, card: ChosenCard, actor: Actor
) -> Outcome:
    """Charge a card the client has (saved, or just set up) once for this form key."""
    if not re.fullmatch(r"[\w-]{16,64}", key):
        raise Invalid("This payment form has expired. Please start again.")
    if not await _claim_attempt(client["id"], key, cents):
        return await attempt_outcome(client["id"], key) or Outcome("pending")
    await PaymentAttempt.update(
        {
            PaymentAttempt.payment_method_id: card.payment_method_id,
            PaymentAttempt.save_card: "yes" if card.keep else "no",
        }
    ).where(PaymentAttempt.idempotency_key == key)
    try:
        intent = await gw.client.v1.payment_intents.create_async(
            params={
                "amount": cents,
                "currency": gw.settings.currency,
                "customer": await gateway.customer_id(gw, client),
                "payment_method": card.payment_method_id,
                "confirm": True,
                "metadata": {"portal_client": str(client["id"]), "portal_attempt": key},
            },
            options={"idempotency_key": key},
        )
    except stripe.CardError as exc:
        message = exc.user_message or "Your card was declined."
        await _fail(key, message)
        return Outcome("failed", error=f"{message} No money was taken. Try another card.")
    except stripe.StripeError as exc:
        await _fail(key, type(exc).__name__)
        return Outcome(
            "failed",
            error="The payment could not be made just now. No money was taken; please try again.",
        )
    await PaymentAttempt.update({PaymentAttempt.payment_intent_id: intent.id}).where(
        PaymentAttempt.idempotency_key == key
    )
    return await settle(gw, client["id"], intent, actor=actor)


async def _fail(key: str, error: str) -> None:
    await PaymentAttempt.update(
        {
            PaymentAttempt.status: "failed",
            PaymentAttempt.error: error[:300],
            PaymentAttempt.completed_at: utcnow(),
        }
    ).where(PaymentAttempt.idempotency_key == key)


async def returned_intent(
    gw: Gateway, client_id: int, payment_intent_id: str
) -> stripe.PaymentIntent:
    """The PaymentIntent the browser came back with from the bank's check: this client's only."""
    if not payment_intent_id.startswith("pi_"):
        raise NotFound()
    try:
        intent = await gw.client.v1.payment_intents.retrieve_async(payment_intent_id[:100])
    except stripe.InvalidRequestError as exc:
        raise NotFound() from exc
    if getattr(intent.metadata, "portal_client", None) != str(client_id):
        raise NotFound()
    return intent


async def settle(
    gw: Gateway, client_id: int, intent: stripe.PaymentIntent, *, actor: Actor
) -> Outcome:
    """Act on a PaymentIntent's state (after creating it, or on the browser's return)."""
    attempt = (
        await PaymentAttempt.select().where(PaymentAttempt.payment_intent_id == intent.id).first()
    )
    if intent.status == "succeeded":
        entry = await record_payment(client_id, intent.id, intent.amount, actor=actor)
        if attempt and attempt["save_card"] == "no" and attempt["payment_method_id"]:
            if not await SavedCard.exists().where(
                SavedCard.payment_method_id == attempt["payment_method_id"]
            ):
                await gateway.forget_quietly(gw, attempt["payment_method_id"])
        return Outcome("succeeded", entry)
    if intent.status == "requires_action":
        await PaymentAttempt.update({PaymentAttempt.status: "requires_action"}).where(
            PaymentAttempt.payment_intent_id == intent.id
        )
        return Outcome("requires_action", client_secret=intent.client_secret)
    if intent.status in ("processing",):
        return Outcome("pending")
    message = (
        getattr(intent.last_payment_error, "message", None) or "The payment did not go through."
    )
    if attempt:
        await _fail(attempt["idempotency_key"], message)
    return Outcome("failed", error=f"{message} No money was taken. Try another card.")


async def record_payment(
    client_id: int, payment_intent_id: str, cents: int, *, actor: Actor
) -> int:
    """Write the payment to the ledger once per PaymentIntent; its ledger entry id."""
    async with write_transaction():
        inserted = (
            await LedgerEntry.insert(
                LedgerEntry(
                    client=client_id,
                    kind=EntryKind.payment,
                    amount_cents=cents,
                    entry_date=actor.today(),
                    description="Card payment, online",
                    created_at=utcnow(),
                    external_id=payment_intent_id,
                    method="card",
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(LedgerEntry.id)
        )
        entry = (
            await LedgerEntry.select(LedgerEntry.id)
            .where(LedgerEntry.external_id == payment_intent_id)
            .first()
        )
        await PaymentAttempt.update(
            {
                PaymentAttempt.status: "succeeded",
                PaymentAttempt.ledger_entry: entry["id"],
                PaymentAttempt.completed_at: utcnow(),
            }
        ).where(PaymentAttempt.payment_intent_id == payment_intent_id)
        if inserted:
            await audit.record(
                "payment.received",
                actor_id=actor.user_id,
                ip=actor.ip,
                subject=f"ledger:{entry['id']}",
                detail={"amount_cents": cents, "client": client_id},
            )
            email = await _client_email(client_id)
            if email:
                await mail.queue(
                    email,
                    "payment_received",
                    amount=money(cents),
                    practice_name=actor.practice_name,
                    # The receipt, or My Account when the practice keeps receipts from clients.
                    link=f"{actor.portal_url}/account/receipts/{entry['id']}"
                    if actor.practice is None or actor.practice.offers("receipts")
                    else f"{actor.portal_url}/account",
                )
    return entry["id"]


async def _client_email(client_id: int) -> str:
    row = (
        await Client.select(Client.user.email.as_alias("email"))
        .where(Client.id == client_id)
        .first()
    )
    return (row or {}).get("email") or ""
