"""Refunding a card payment through Stripe, in full or in part, once per refund form.

Each rendered refund form carries a key (`new_form_key`); the first request with it claims a
`RefundAttempt` (unique key), checked against what of the payment is not yet refunded while
the client's row is held, and asks Stripe for the refund with that key as its
Idempotency-Key. A double submit or a retry with the same key finds the attempt and answers
its outcome: one refund, never two.

The ledger learns of a refund from whichever comes first, Stripe's answer or the
`charge.refunded` / `refund.created` / `refund.updated` webhook (`billing.webhooks`):
`record_refund` inserts the line (kind refund, `refund_of` the payment, `external_id` the
Stripe refund id, which the database keeps unique), so it is written once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import stripe

from portal.billing.gateway import Gateway
from portal.billing.staff_ledger import parse_amount
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.core.templating import money
from portal.tables import LedgerEntry, RefundAttempt
from portal.tables.ledger import EntryKind

KEY = re.compile(r"[\w-]{16,64}")
EXPIRED = "This refund form has expired. Open it again from the ledger."


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded, failed, pending
    cents: int = 0
    ledger_entry_id: int | None = None
    error: str = ""


async def refunded_by_payment(client_id: int) -> dict[int, int]:
    """Per card payment of the client, what is refunded or being refunded (one query): the
    ledger's refund lines, and attempts under way that have no line yet."""
    rows = await LedgerEntry.raw(
        "SELECT payment, SUM(cents) AS cents FROM ("
        " SELECT refund_of AS payment, amount_cents AS cents FROM ledger_entry"
        "  WHERE client = {} AND kind = 'refund' AND refund_of IS NOT NULL"
        " UNION ALL"
        " SELECT payment, amount_cents FROM refund_attempt"
        "  WHERE client = {} AND status = 'pending'"
        ") AS r GROUP BY payment",
        client_id,
        client_id,
    )
    return {r["payment"]: int(r["cents"]) for r in rows}


async def card_payment(client_id: int, entry_id: int) -> dict:
    """The client's card payment (a Stripe PaymentIntent) with `refundable` cents; NotFound
    for any other line."""
    row = await (
        LedgerEntry.select(
            LedgerEntry.id,
            LedgerEntry.amount_cents,
            LedgerEntry.entry_date,
            LedgerEntry.external_id,
            LedgerEntry.description,
        )  # fmt: skip
        .where(
            LedgerEntry.id == entry_id,
            LedgerEntry.client == client_id,
            LedgerEntry.kind == EntryKind.payment,
        )
        .first()
    )
    if row is None or not (row["external_id"] or "").startswith("pi_"):
        raise NotFound("No such card payment.")
    done = (await refunded_by_payment(client_id)).get(entry_id, 0)
    return {**row, "refundable": max(row["amount_cents"] - done, 0)}


async def _attempt(key: str) -> dict | None:
    return await RefundAttempt.select().where(RefundAttempt.idempotency_key == key).first()


async def _earlier(key: str, client_id: int, entry_id: int) -> Outcome | None:
    """What became of this form's refund, if it was sent before (a double submit, a retry)."""
    row = await _attempt(key)
    if row is None:
        return None
    if row["client"] != client_id or row["payment"] != entry_id:
        raise Invalid(EXPIRED)
    return _outcome(row)


def _outcome(row: dict) -> Outcome:
    return Outcome(row["status"], row["amount_cents"], error=row["error"])


async def refund(
    gw: Gateway, client_id: int, entry_id: int, *, key: str, amount: str, reason: str,
    actor: Actor,
) -> Outcome:  # fmt: skip
    """Refund `amount` of the card payment `entry_id`, once for this form `key`."""
    if not KEY.fullmatch(key):
        raise Invalid(EXPIRED)
    earlier = await _earlier(key, client_id, entry_id)
    if earlier is not None:
        return earlier
    cents = parse_amount(amount)
    async with write_transaction(lock_client=client_id):
        # The same form sent twice at once: the other request claimed it meanwhile.
        earlier = await _earlier(key, client_id, entry_id)
        if earlier is not None:
            return earlier
        payment = await card_payment(client_id, entry_id)
        if cents > payment["refundable"]:
            raise Invalid(
                errors={
                    "amount": f"At most {money(payment['refundable'])} of this payment "
                    "can still be refunded."
                }  # fmt: skip
            )
        claimed = (
            await RefundAttempt.insert(
                RefundAttempt(
                    client=client_id,
                    payment=entry_id,
                    idempotency_key=key,
                    amount_cents=cents,
                    reason=reason.strip()[:300],
                    created_by=actor.user_id,
                    created_at=utcnow(),
                )
            )  # fmt: skip
            .on_conflict(action="DO NOTHING")
            .returning(RefundAttempt.id)
        )
    if not claimed:  # the same form, sent twice at once: the other request does the work
        return _outcome(await _attempt(key))
    try:
        answer = await gw.client.v1.refunds.create_async(
            params={
                "payment_intent": payment["external_id"],
                "amount": cents,
                "metadata": {
                    "portal_client": str(client_id),
                    "portal_refund": key,
                    "portal_payment": str(entry_id),
                },
            },  # fmt: skip
            options={"idempotency_key": f"portal-refund-{key}"},
        )
    except stripe.StripeError as exc:
        message = getattr(exc, "user_message", None) or "Stripe did not make the refund."
        await RefundAttempt.update(
            {
                RefundAttempt.status: "failed",
                RefundAttempt.error: message[:300],
                RefundAttempt.completed_at: utcnow(),
            }  # fmt: skip
        ).where(RefundAttempt.idempotency_key == key)
        return Outcome("failed", cents, error=f"{message} Nothing was refunded; try again.")
    if answer.status in ("failed", "canceled"):
        await RefundAttempt.update(
            {RefundAttempt.status: "failed", RefundAttempt.refund_id: answer.id,
             RefundAttempt.error: f"refund {answer.status}", RefundAttempt.completed_at: utcnow()}
        ).where(RefundAttempt.idempotency_key == key)  # fmt: skip
        return Outcome("failed", cents, error="Stripe could not make the refund.")
    await RefundAttempt.update({RefundAttempt.refund_id: answer.id}).where(
        RefundAttempt.idempotency_key == key
    )
    if answer.status != "succeeded":  # pending: the webhook will tell
        return Outcome("pending", cents)
    line = await record_refund(client_id, entry_id, answer.id, answer.amount, key=key, actor=actor)
    return Outcome("succeeded", cents, line)


async def record_refund(
    client_id: int, payment_id: int, refund_id: str, cents: int, *, key: str = "",
    actor: Actor,
) -> int:  # fmt: skip
    """Write the refund to the ledger once per Stripe refund id; its ledger entry id."""
    async with write_transaction(lock_client=client_id):
        attempt = (
            await RefundAttempt.select()
            .where(
                (RefundAttempt.refund_id == refund_id)
                | (RefundAttempt.idempotency_key == (key or "-"))
            )
            .first()
        )
        inserted = (
            await LedgerEntry.insert(
                LedgerEntry(
                    client=client_id,
                    kind=EntryKind.refund,
                    amount_cents=cents,
                    entry_date=utcnow().date(),
                    created_at=utcnow(),
                    external_id=refund_id,
                    refund_of=payment_id,
                    method="card",
                    description="Card refund"
                    + (f": {attempt['reason']}" if attempt and attempt["reason"] else ""),
                    posted_by=attempt["created_by"] if attempt else None,
                )
            )  # fmt: skip
            .on_conflict(action="DO NOTHING")
            .returning(LedgerEntry.id)
        )
        entry = (
            await LedgerEntry.select(LedgerEntry.id)
            .where(LedgerEntry.external_id == refund_id)
            .first()
        )
        if attempt is not None:
            await RefundAttempt.update(
                {
                    RefundAttempt.status: "succeeded",
                    RefundAttempt.refund_id: refund_id,
                    RefundAttempt.completed_at: utcnow(),
                }  # fmt: skip
            ).where(RefundAttempt.id == attempt["id"])
        if inserted:
            await audit.record(
                "billing.refund_recorded",
                actor_id=actor.user_id,
                ip=actor.ip,
                subject=f"ledger:{entry['id']}",
                detail={"client": client_id, "old": None,
                        "new": {"kind": "refund", "amount_cents": cents, "refund_of": payment_id,
                                "external_id": refund_id}},
            )  # fmt: skip
    return entry["id"]


async def payment_of_intent(intent_id: str) -> dict | None:
    """The ledger's card payment for a PaymentIntent (client and id), for the webhook."""
    return await (
        LedgerEntry.select(LedgerEntry.id, LedgerEntry.client)
        .where(LedgerEntry.external_id == intent_id, LedgerEntry.kind == EntryKind.payment)
        .first()
    )


# --- The webhook's part -----------------------------------------------------------------------

REFUND_EVENTS = ("charge.refunded", "refund.created", "refund.updated", "charge.refund.updated")


class Unprocessable(Exception):
    """A verified refund event that cannot be applied; the message says why."""


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


async def _refunds_in(gw: Gateway, event_type: str, obj: dict) -> list[dict]:
    """The refunds an event is about: the refund itself, or a charge's refunds (listed by
    Stripe when the event does not carry them)."""
    if not event_type.startswith("charge.refunded"):
        return [obj]
    listed = _dict(obj.get("refunds")).get("data")
    if isinstance(listed, list) and listed:
        return [_dict(r) for r in listed]
    intent = obj.get("payment_intent")
    if not isinstance(intent, str) or not intent.startswith("pi_"):
        raise Unprocessable("the charge names no PaymentIntent")
    try:
        page = await gw.client.v1.refunds.list_async(params={"payment_intent": intent[:100]})
    except stripe.StripeError as exc:
        raise Unprocessable(f"the refunds of {intent[:100]} could not be listed") from exc
    return [r.to_dict() for r in page.data]


async def apply_event(gw: Gateway, event_type: str, obj: dict, *, actor: Actor) -> str:
    """Record each succeeded refund of the event that the ledger lacks; what was done."""
    recorded = 0
    for r in await _refunds_in(gw, event_type, obj):
        refund_id, cents, intent = r.get("id"), r.get("amount"), r.get("payment_intent")
        if not isinstance(refund_id, str) or not 0 < len(refund_id) <= 100:
            raise Unprocessable("a refund has no id")
        if r.get("status") != "succeeded":
            continue
        if isinstance(cents, bool) or not isinstance(cents, int) or cents <= 0:
            raise Unprocessable(f"refund amount {cents!r:.60} is not a positive number of cents")
        if isinstance(intent, dict):
            intent = intent.get("id")
        payment = await payment_of_intent(intent) if isinstance(intent, str) else None
        if payment is None:
            raise Unprocessable(f"no card payment in the ledger for {str(intent)[:100]}")
        key = _dict(r.get("metadata")).get("portal_refund")
        await record_refund(
            payment["client"], payment["id"], refund_id, cents,
            key=key if isinstance(key, str) else "", actor=actor,
        )  # fmt: skip
        recorded += 1
    return "refund recorded" if recorded else "ignored"
