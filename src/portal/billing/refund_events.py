"""Refund webhooks: `charge.refunded`, `refund.created`, `refund.updated` and
`charge.refund.updated`, verified by `billing.webhooks`, applied here.

A succeeded refund the ledger lacks is written (`refunds.record_refund`, once per Stripe
refund id). A refund that failed or was canceled at Stripe (a card that cannot take money
back, days after Stripe first said pending or succeeded) frees its attempt's amount, and if
its refund line was written, posts a reversing adjustment (once: its external id is the
refund id with "-reversed"), so the balance is what the client truly owes.
"""

from __future__ import annotations

import stripe

from portal.billing.gateway import Gateway, dict_or_empty
from portal.billing.refunds import payment_of_intent, record_refund
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.tables import LedgerEntry, RefundAttempt
from portal.tables.ledger import EntryKind

REFUND_EVENTS = ("charge.refunded", "refund.created", "refund.updated", "charge.refund.updated")
FAILED = ("failed", "canceled")


class Unprocessable(Exception):
    """A verified refund event that cannot be applied; the message says why."""


async def _refunds_in(gw: Gateway, event_type: str, obj: dict) -> list[dict]:
    """The refunds an event is about: the refund itself, or a charge's refunds (listed by
    Stripe when the event does not carry them)."""
    if not event_type.startswith("charge.refunded"):
        return [obj]
    listed = dict_or_empty(obj.get("refunds")).get("data")
    if isinstance(listed, list) and listed:
        return [dict_or_empty(r) for r in listed]
    intent = obj.get("payment_intent")
    if not isinstance(intent, str) or not intent.startswith("pi_"):
        raise Unprocessable("the charge names no PaymentIntent")
    try:
        page = await gw.client.v1.refunds.list_async(params={"payment_intent": intent[:100]})
    except stripe.StripeError as exc:
        raise Unprocessable(f"the refunds of {intent[:100]} could not be listed") from exc
    return [r.to_dict() for r in page.data]


async def apply_event(gw: Gateway, event_type: str, obj: dict, *, actor: Actor) -> str:
    """Record each succeeded refund of the event that the ledger lacks, and undo each failed
    or canceled one; what was done."""
    done = []
    for r in await _refunds_in(gw, event_type, obj):
        refund_id, cents, intent = r.get("id"), r.get("amount"), r.get("payment_intent")
        if not isinstance(refund_id, str) or not 0 < len(refund_id) <= 90:
            raise Unprocessable("a refund has no id")
        key = dict_or_empty(r.get("metadata")).get("portal_refund")
        key = key if isinstance(key, str) else ""
        if isinstance(intent, dict):
            intent = intent.get("id")
        if r.get("status") in FAILED:
            intent_id = intent if isinstance(intent, str) else ""
            if await refund_failed(refund_id, key, str(r.get("status")), intent=intent_id,
                                   cents=cents if isinstance(cents, int) else 0, actor=actor):  # fmt: skip
                done.append("refund failed")
            continue
        if r.get("status") != "succeeded":
            continue
        if isinstance(cents, bool) or not isinstance(cents, int) or cents <= 0:
            raise Unprocessable(f"refund amount {cents!r:.60} is not a positive number of cents")
        payment = await payment_of_intent(intent) if isinstance(intent, str) else None
        if payment is None:
            raise Unprocessable(f"no card payment in the ledger for {str(intent)[:100]}")
        await record_refund(payment["client"], payment["id"], refund_id, cents, key=key,
                            actor=actor)  # fmt: skip
        done.append("refund recorded")
    return done[-1] if done else "ignored"


async def refund_failed(
    refund_id: str, key: str, status: str, *, intent: str, cents: int, actor: Actor
) -> bool:
    """Stripe says the refund failed or was canceled: mark its attempt failed and reverse
    its ledger line, each once. A refund the portal did not ask for (made in Stripe's
    dashboard) gets a failed attempt too, so that a "succeeded" event for it arriving later
    (Stripe retries, out of order) is not written. False if the payment is not known."""
    found = await (
        RefundAttempt.select(RefundAttempt.client)
        .where((RefundAttempt.refund_id == refund_id) | (RefundAttempt.idempotency_key == (key or "-")))
        .first()
    ) or await LedgerEntry.select(LedgerEntry.client).where(
        LedgerEntry.external_id == refund_id
    ).first()  # fmt: skip
    if found is None:
        payment = await payment_of_intent(intent) if intent else None
        if payment is None:
            return False
        await RefundAttempt.insert(
            RefundAttempt(
                client=payment["client"], payment=payment["id"],
                idempotency_key=f"stripe-{refund_id}"[:64], amount_cents=max(cents, 0),
                refund_id=refund_id, status="failed", error=f"refund {status} at Stripe",
                created_at=utcnow(), completed_at=utcnow(),
            )
        ).on_conflict(action="DO NOTHING")  # fmt: skip
        return True
    async with write_transaction(lock_client=found["client"]):
        await RefundAttempt.update(
            {RefundAttempt.status: "failed", RefundAttempt.refund_id: refund_id,
             RefundAttempt.error: f"refund {status} at Stripe", RefundAttempt.completed_at: utcnow()}
        ).where(
            (RefundAttempt.refund_id == refund_id) | (RefundAttempt.idempotency_key == (key or "-")),
            RefundAttempt.status != "failed",
        )  # fmt: skip
        line = await LedgerEntry.select().where(LedgerEntry.external_id == refund_id).first()
        if line is None:
            return True
        reversed_ = (
            await LedgerEntry.insert(
                LedgerEntry(
                    client=line["client"],
                    kind=EntryKind.adjustment,
                    amount_cents=line["amount_cents"],
                    entry_date=actor.today(),
                    created_at=utcnow(),
                    external_id=f"{refund_id}-reversed",
                    refund_of=line["refund_of"],
                    method="card",
                    description="Card refund did not go through",
                    note=f"Stripe reports refund {refund_id} {status}.",
                )
            )  # fmt: skip
            .on_conflict(action="DO NOTHING")
            .returning(LedgerEntry.id)
        )
        if reversed_:
            await audit.record(
                "billing.refund_reversed", actor_id=actor.user_id, ip=actor.ip,
                subject=f"ledger:{reversed_[0]['id']}",
                detail={"client": line["client"], "old": None,
                        "new": {"kind": "adjustment", "amount_cents": line["amount_cents"],
                                "refund_of": line["refund_of"], "reverses": line["id"],
                                "status": status}},
            )  # fmt: skip
    return True
