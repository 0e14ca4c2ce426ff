"""Stripe's webhook: verified by its signature, each event processed once.

`payment_intent.succeeded` records the payment (if the browser's return has not
already); `payment_intent.payment_failed` marks the attempt failed; `charge.refunded` and
`refund.created`/`refund.updated` record a refund (if Stripe's answer to the refund request
has not already: `billing.refunds`). Nobody is
signed in: the caller passes `Actor.system(...)`. An event that cannot be applied
is kept as "unprocessable" (`stripe_event.outcome`, with `error`) and answered 200.
"""

from __future__ import annotations

import json
import re

import stripe

from portal.billing import refund_events
from portal.billing.gateway import Gateway, dict_or_empty
from portal.billing.payments import record_payment
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.tables import Client, PaymentAttempt, StripeEvent


async def handle_webhook(gw: Gateway, payload: bytes, signature: str, *, actor: Actor) -> str:
    """Verify, then process each event once; what was done (for the response and the log).

    A request that does not verify is Invalid: nothing is read from it. A verified event
    that cannot be applied (it names no client of this practice, its amount is not a
    number) is stored as "unprocessable" with the reason, for staff, and answered like any
    other: Stripe would otherwise send it again for days. Nothing of it is written.
    """
    if not gw.webhook_secret:
        raise Invalid("no webhook signing secret configured")
    try:
        stripe.Webhook.construct_event(payload, signature, gw.webhook_secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise Invalid("bad signature") from exc
    data = json.loads(payload)
    event_id, event_type = dict_or_empty(data).get("id"), dict_or_empty(data).get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 100:
        raise Invalid("not a Stripe event")
    event_type = event_type[:100] if isinstance(event_type, str) else ""
    obj = dict_or_empty(dict_or_empty(dict_or_empty(data).get("data")).get("object"))
    async with write_transaction():
        fresh = (
            await StripeEvent.insert(
                StripeEvent(event_id=event_id, type=event_type, received_at=utcnow())
            )
            .on_conflict(action="DO NOTHING")
            .returning(StripeEvent.id)
        )
        if not fresh:
            return "duplicate"
        outcome, error = "ignored", ""
        if event_type == "payment_intent.succeeded" and _names_a_client(obj):
            try:
                client_id, intent_id, cents = await _payment_of(obj, actor)
            except Unprocessable as exc:
                outcome, error = "unprocessable", str(exc)[:300]
            else:
                await record_payment(client_id, intent_id, cents, actor=actor)
                outcome = "payment recorded"
        elif event_type in refund_events.REFUND_EVENTS:
            try:
                outcome = await refund_events.apply_event(gw, event_type, obj, actor=actor)
            except refund_events.Unprocessable as exc:
                outcome, error = "unprocessable", str(exc)[:300]
        elif event_type == "payment_intent.payment_failed" and _client_of(obj):
            intent_id = obj.get("id")
            last_error = dict_or_empty(obj.get("last_payment_error")).get("message")
            error_text = (
                last_error if isinstance(last_error, str) and last_error else "payment failed"
            )
            if isinstance(intent_id, str) and intent_id:
                await PaymentAttempt.update(
                    {
                        PaymentAttempt.status: "failed",
                        PaymentAttempt.error: error_text[:300],
                        PaymentAttempt.completed_at: utcnow(),
                    }
                ).where(
                    PaymentAttempt.payment_intent_id == intent_id,
                    PaymentAttempt.status != "succeeded",
                )
                outcome = "failure recorded"
        if outcome == "unprocessable":
            await audit.record(
                "payment.webhook_unprocessable",
                actor_id=None,
                subject=f"stripe_event:{event_id}",
                detail={"type": event_type, "error": error},
            )
        await StripeEvent.update({StripeEvent.outcome: outcome, StripeEvent.error: error}).where(
            StripeEvent.event_id == event_id
        )
    return outcome


class Unprocessable(Exception):
    """A verified event that cannot be applied; the message says why (stored for staff)."""


# Client ids are PostgreSQL integers: anything longer is no id (and would not fit a query).
_CLIENT_ID = re.compile(r"[0-9]{1,9}")


def _names_a_client(obj: dict) -> bool:
    """The PaymentIntent was made by the portal: its metadata says for whom."""
    return "portal_client" in dict_or_empty(obj.get("metadata"))


def _client_of(obj: dict) -> int | None:
    value = dict_or_empty(obj.get("metadata")).get("portal_client", "")
    return int(value) if isinstance(value, str | int) and _CLIENT_ID.fullmatch(str(value)) else None


async def _payment_of(obj: dict, actor: Actor) -> tuple[int, str, int]:
    """The client, PaymentIntent id and amount of a succeeded PaymentIntent, each checked."""
    raw_client = dict_or_empty(obj.get("metadata")).get("portal_client")
    client_id = _client_of(obj)
    if client_id is None:
        raise Unprocessable(f"metadata portal_client {raw_client!r:.60} is not a client id")
    query = Client.exists().where(Client.id == client_id)
    if actor.practice is not None:
        query = query.where(Client.practice == actor.practice.id)
    if not await query:
        raise Unprocessable(f"no client {client_id} in this practice")
    intent_id = obj.get("id")
    if not isinstance(intent_id, str) or not 0 < len(intent_id) <= 100:
        raise Unprocessable("the PaymentIntent has no id")
    amount = obj.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Unprocessable(f"amount {amount!r:.60} is not a positive number of cents")
    attempt = (
        await PaymentAttempt.select(PaymentAttempt.client)
        .where(PaymentAttempt.payment_intent_id == intent_id)
        .first()
    )
    if attempt is not None and attempt["client"] != client_id:
        raise Unprocessable(f"{intent_id} was started by another client than {client_id}")
    return client_id, intent_id, amount
