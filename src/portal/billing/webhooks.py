"""Stripe's webhook: verified by its signature, each event processed once.

`payment_intent.succeeded` records the payment (if the browser's return has not
already); `payment_intent.payment_failed` marks the attempt failed. Nobody is
signed in: the caller passes `Actor.system(...)`.
"""

from __future__ import annotations

import json

import stripe

from portal.billing.gateway import Gateway
from portal.billing.payments import record_payment
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.tables import PaymentAttempt, StripeEvent


async def handle_webhook(gw: Gateway, payload: bytes, signature: str, *, actor: Actor) -> str:
    """Verify, then process each event once; what was done (for the response and the log).

    A request that does not verify is Invalid: nothing is read from it.
    """
    if not gw.webhook_secret:
        raise Invalid("no webhook signing secret configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, gw.webhook_secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise Invalid("bad signature") from exc
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
            await record_payment(client_id, obj["id"], int(obj["amount"]), actor=actor)
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
