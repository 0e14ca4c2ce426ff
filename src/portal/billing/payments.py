"""Card payments with Stripe. Card numbers never reach this server.

A new card is entered in Stripe Elements and set up with a SetupIntent that the
browser confirms with Stripe; saved cards are Stripe PaymentMethods attached to
the client's Stripe Customer. Either way the charge is one server-side
PaymentIntent, created with an idempotency key taken from the payment form, so
a double click or a retried request charges once. If the bank wants the
cardholder to authenticate (3-D Secure), the browser confirms that
PaymentIntent with Stripe.js and comes back to `/pay/return`.

The ledger learns of a payment from whichever arrives first, the browser's
return or the `payment_intent.succeeded` webhook: `record_payment` inserts the
ledger entry keyed by the PaymentIntent id, which the database keeps unique.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

import stripe

from portal.billing import ledger
from portal.core import audit, mail
from portal.core.clock import utcnow
from portal.core.crypto import Cipher
from portal.core.db import write_transaction
from portal.core.templating import money
from portal.settings import PaymentsSettings
from portal.tables import (
    Client,
    LedgerEntry,
    PaymentAttempt,
    PaymentSettings,
    SavedCard,
    StripeCustomer,
    StripeEvent,
)
from portal.tables.ledger import EntryKind


class PaymentError(Exception):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Gateway:
    """The practice's Stripe account, ready to call."""

    client: stripe.StripeClient
    publishable_key: str
    webhook_secret: str
    max_credit_cents: int
    settings: PaymentsSettings


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


# --- Amounts ------------------------------------------------------------------------------


def parse_amount(text: str) -> int:
    """Dollars as typed ("25", "25.5", "$1,025.00") to cents; PaymentError if it is not money."""
    cleaned = text.strip().replace("$", "").replace(",", "").strip()
    if not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", cleaned):
        raise PaymentError("Enter an amount in dollars and cents, like 25.00.", "amount")
    return int((Decimal(cleaned) * 100).to_integral_value())


def check_amount(cents: int, owed: int, gw: Gateway) -> None:
    minimum = gw.settings.min_payment_cents
    if cents < minimum:
        raise PaymentError(f"The smallest payment we can take is {money(minimum)}.", "amount")
    limit = max(owed, 0) + gw.max_credit_cents
    if cents > limit:
        raise PaymentError(
            f"That is more than you owe plus the {money(gw.max_credit_cents)} credit the practice "
            f"accepts. The most you can pay now is {money(limit)}.",
            "amount",
        )


def try_amount(text: str, owed: int, gw: Gateway) -> int:
    cents = parse_amount(text)
    check_amount(cents, owed, gw)
    return cents


# --- Customers and cards -----------------------------------------------------------------


async def customer_id(gw: Gateway, client: dict) -> str:
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


async def cards(client_id: int) -> list[dict]:
    return (
        await SavedCard.select().where(SavedCard.client == client_id).order_by(SavedCard.created_at)
    )


async def start_setup(gw: Gateway, client: dict) -> str:
    """A SetupIntent for a new card: its client secret, for Stripe.js in the browser."""
    intent = await gw.client.v1.setup_intents.create_async(
        params={"customer": await customer_id(gw, client), "usage": "off_session"}
    )
    return intent.client_secret


async def card_from_setup(gw: Gateway, client: dict, setup_intent_id: str) -> stripe.PaymentMethod:
    """The card a SetupIntent set up for this client (refused if it is anyone else's)."""
    if not re.fullmatch(r"seti_\w{1,100}", setup_intent_id):
        raise PaymentError("The card could not be set up. Please enter it again.")
    try:
        intent = await gw.client.v1.setup_intents.retrieve_async(setup_intent_id)
    except stripe.StripeError as exc:
        raise PaymentError("The card could not be set up. Please enter it again.") from exc
    if intent.status != "succeeded" or intent.customer != await customer_id(gw, client):
        raise PaymentError("The card could not be set up. Please enter it again.")
    return await gw.client.v1.payment_methods.retrieve_async(intent.payment_method)


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


async def remove_card(gw: Gateway, client_id: int, card_id: int) -> bool:
    row = (
        await SavedCard.select()
        .where(SavedCard.id == card_id, SavedCard.client == client_id)
        .first()
    )
    if row is None:
        return False
    try:
        await gw.client.v1.payment_methods.detach_async(row["payment_method_id"])
    except stripe.InvalidRequestError:
        pass  # already detached at Stripe: forget it here too
    await SavedCard.delete().where(SavedCard.id == card_id)
    return True


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
    gw: Gateway, client: dict, *, key: str, cents: int, payment_method_id: str, save: bool,
    practice_name: str, portal_url: str, actor_id: int, ip: str,
) -> Outcome:  # fmt: skip
    """Charge a card the client has (saved, or just set up) once for this form key."""
    if not re.fullmatch(r"[\w-]{16,64}", key):
        raise PaymentError("This payment form has expired. Please start again.")
    if not await _claim_attempt(client["id"], key, cents):
        return await attempt_outcome(client["id"], key) or Outcome("pending")
    await PaymentAttempt.update(
        {
            PaymentAttempt.payment_method_id: payment_method_id,
            PaymentAttempt.save_card: "yes" if save else "no",
        }
    ).where(PaymentAttempt.idempotency_key == key)
    try:
        intent = await gw.client.v1.payment_intents.create_async(
            params={
                "amount": cents,
                "currency": gw.settings.currency,
                "customer": await customer_id(gw, client),
                "payment_method": payment_method_id,
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
    return await settle(
        gw,
        client["id"],
        intent,
        practice_name=practice_name,
        portal_url=portal_url,
        actor_id=actor_id,
        ip=ip,
    )


async def _fail(key: str, error: str) -> None:
    await PaymentAttempt.update(
        {
            PaymentAttempt.status: "failed",
            PaymentAttempt.error: error[:300],
            PaymentAttempt.completed_at: utcnow(),
        }
    ).where(PaymentAttempt.idempotency_key == key)


async def settle(
    gw: Gateway, client_id: int, intent: stripe.PaymentIntent, *, practice_name: str, portal_url: str,
    actor_id: int | None, ip: str,
) -> Outcome:  # fmt: skip
    """Act on a PaymentIntent's state (after creating it, or on the browser's return)."""
    attempt = (
        await PaymentAttempt.select().where(PaymentAttempt.payment_intent_id == intent.id).first()
    )
    if intent.status == "succeeded":
        entry = await record_payment(
            client_id, intent.id, intent.amount, practice_name=practice_name, portal_url=portal_url,
            actor_id=actor_id, ip=ip,
        )  # fmt: skip
        if attempt and attempt["save_card"] == "no" and attempt["payment_method_id"]:
            if not await SavedCard.exists().where(
                SavedCard.payment_method_id == attempt["payment_method_id"]
            ):
                try:  # a card used once and not to be kept: Stripe forgets it too
                    await gw.client.v1.payment_methods.detach_async(attempt["payment_method_id"])
                except stripe.StripeError:
                    pass
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
    client_id: int, payment_intent_id: str, cents: int, *, practice_name: str, portal_url: str,
    actor_id: int | None, ip: str,
) -> int:  # fmt: skip
    """Write the payment to the ledger once per PaymentIntent; its ledger entry id."""
    async with write_transaction():
        inserted = (
            await LedgerEntry.insert(
                LedgerEntry(
                    client=client_id,
                    kind=EntryKind.payment,
                    amount_cents=cents,
                    entry_date=utcnow().date(),
                    description="Card payment, online",
                    created_at=utcnow(),
                    external_id=payment_intent_id,
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
                "payment.received", actor_id=actor_id, ip=ip, subject=f"ledger:{entry['id']}",
                detail={"amount_cents": cents, "client": client_id},
            )  # fmt: skip
            email = await _client_email(client_id)
            if email:
                await mail.queue(
                    email, "payment_received", amount=money(cents), practice_name=practice_name,
                    link=f"{portal_url}/account/receipts/{entry['id']}",
                )  # fmt: skip
    return entry["id"]


async def _client_email(client_id: int) -> str:
    row = (
        await Client.select(Client.user.email.as_alias("email"))
        .where(Client.id == client_id)
        .first()
    )
    return (row or {}).get("email") or ""


# --- Webhooks ------------------------------------------------------------------------------


class WebhookRejected(Exception):
    pass


async def handle_webhook(
    gw: Gateway, payload: bytes, signature: str, *, practice_name: str, portal_url: str
) -> str:
    """Verify, then process each event once; returns what was done (for the response/log)."""
    if not gw.webhook_secret:
        raise WebhookRejected("no webhook signing secret configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, gw.webhook_secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise WebhookRejected("bad signature") from exc
    data = json.loads(payload)
    obj = data.get("data", {}).get("object", {})
    async with write_transaction():
        fresh = (
            await StripeEvent.insert(
                StripeEvent(event_id=event.id, type=event.type, received_at=utcnow())
            )
            .on_conflict(action="DO NOTHING")
            .returning(StripeEvent.id)
        )
        if not fresh:
            return "duplicate"
        outcome = "ignored"
        client_id = _client_of(obj)
        if event.type == "payment_intent.succeeded" and client_id:
            await record_payment(
                client_id, obj["id"], int(obj["amount"]), practice_name=practice_name,
                portal_url=portal_url, actor_id=None, ip="",
            )  # fmt: skip
            outcome = "payment recorded"
        elif event.type == "payment_intent.payment_failed" and client_id:
            error = (obj.get("last_payment_error") or {}).get("message") or "payment failed"
            await PaymentAttempt.update(
                {
                    PaymentAttempt.status: "failed",
                    PaymentAttempt.error: error[:300],
                    PaymentAttempt.completed_at: utcnow(),
                }
            ).where(
                PaymentAttempt.payment_intent_id == obj["id"], PaymentAttempt.status != "succeeded"
            )
            outcome = "failure recorded"
        await StripeEvent.update({StripeEvent.outcome: outcome}).where(
            StripeEvent.event_id == event.id
        )
    return outcome


def _client_of(obj: dict) -> int | None:
    value = (obj.get("metadata") or {}).get("portal_client", "")
    return int(value) if str(value).isdigit() else None


# --- Settings (staff) ------------------------------------------------------------------------


async def save_settings(
    practice_id: int, cipher: Cipher, *, publishable_key: str, secret_key: str, webhook_secret: str,
    max_credit_cents: int, actor_id: int, ip: str,
) -> None:  # fmt: skip
    """Store the keys; an empty secret keeps the current one. Secrets are encrypted."""
    values: dict = {
        PaymentSettings.publishable_key: publishable_key,
        PaymentSettings.max_credit_cents: max_credit_cents,
        PaymentSettings.updated_at: utcnow(),
        PaymentSettings.updated_by: actor_id,
    }
    changed = ["publishable_key", "max_credit_cents"]
    if secret_key:
        values[PaymentSettings.secret_key] = cipher.encrypt(secret_key)
        values[PaymentSettings.secret_key_hint] = secret_key[-4:]
        changed.append("secret_key")
    if webhook_secret:
        values[PaymentSettings.webhook_secret] = cipher.encrypt(webhook_secret)
        values[PaymentSettings.webhook_secret_hint] = webhook_secret[-4:]
        changed.append("webhook_secret")
    async with write_transaction():
        exists = await PaymentSettings.exists().where(PaymentSettings.practice == practice_id)
        if not exists:
            await PaymentSettings.insert(PaymentSettings(practice=practice_id))
        await PaymentSettings.update(values).where(PaymentSettings.practice == practice_id)
        await audit.record(
            "payments.settings_changed", actor_id=actor_id, ip=ip, detail={"changed": changed}
        )


async def settings_view(practice_id: int) -> dict:
    row = await PaymentSettings.select(
        PaymentSettings.publishable_key, PaymentSettings.secret_key_hint, PaymentSettings.webhook_secret_hint,
        PaymentSettings.max_credit_cents, PaymentSettings.updated_at,
    ).where(PaymentSettings.practice == practice_id).first()  # fmt: skip
    return row or {
        "publishable_key": "",
        "secret_key_hint": "",
        "webhook_secret_hint": "",
        "max_credit_cents": 50000,
        "updated_at": None,
    }


async def owed(client_id: int) -> int:
    return (await ledger.balance(client_id)).owed
