"""Refunding a card payment through Stripe, in full or in part, once per refund form.

Each rendered refund form carries a key (`new_form_key`); the first request with it claims a
`RefundAttempt` (unique key), checked against what of the payment is not yet refunded while
the client's row is held, and asks Stripe for the refund with that key as its
Idempotency-Key. A double submit or a retry with the same key finds the attempt and answers
its outcome: one refund, never two.

Stripe's refusal (a card or request error) marks the attempt failed: nothing was refunded.
Any other error (no connection, a timeout) leaves it pending and "unanswered": the same
form sends it again with the same key, and Stripe answers with the refund it made, if any.

The ledger learns of a refund from whichever comes first, Stripe's answer or the
`charge.refunded` / `refund.created` / `refund.updated` webhook (`billing.refund_events`):
`record_refund` inserts the line (kind refund, `refund_of` the payment, `external_id` the
Stripe refund id, which the database keeps unique), so it is written once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import stripe

from portal.billing.gateway import Gateway, dict_or_empty
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
    status: str  # succeeded, failed, pending, unanswered (the same form may send it again)
    cents: int = 0
    ledger_entry_id: int | None = None
    error: str = ""


async def refunded_by_payment(client_id: int) -> dict[int, int]:
    """Per card payment of the client, what is refunded or being refunded (one query): the
    ledger's refund lines less the reversals of refunds that failed at Stripe (adjustments
    that name the payment), and attempts under way that have no line yet."""
    rows = await LedgerEntry.raw(
        "SELECT payment, SUM(cents) AS cents FROM ("
        " SELECT refund_of AS payment,"
        "  CASE WHEN kind = 'refund' THEN amount_cents ELSE -amount_cents END AS cents"
        "  FROM ledger_entry"
        "  WHERE client = {} AND kind IN ('refund', 'adjustment') AND refund_of IS NOT NULL"
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


async def _earlier(key: str, client_id: int, entry_id: int) -> dict | None:
    """This form's attempt, if it was sent before (a double submit, a retry)."""
    row = await _attempt(key)
    if row is None:
        return None
    if row["client"] != client_id or row["payment"] != entry_id:
        raise Invalid(EXPIRED)
    return row


async def unanswered(client_id: int, entry_id: int) -> dict | None:
    """A refund of this payment that Stripe did not answer, for the refund page to offer
    sending again (its key and amount), or None."""
    return await (
        RefundAttempt.select(
            RefundAttempt.idempotency_key, RefundAttempt.amount_cents, RefundAttempt.reason
        )  # fmt: skip
        .where(
            RefundAttempt.client == client_id,
            RefundAttempt.payment == entry_id,
            RefundAttempt.status == "pending",
            RefundAttempt.refund_id.is_null(),
            RefundAttempt.error == UNANSWERED,
        )  # fmt: skip
        .order_by(RefundAttempt.id)
        .first()
    )


def _outcome(row: dict) -> Outcome:
    error = UNANSWERED_MESSAGE if _unanswered(row) else row["error"]
    return Outcome("unanswered" if _unanswered(row) else row["status"], row["amount_cents"],
                   error=error)  # fmt: skip


# Stripe answered and made no refund: nothing happened, a new form may try again.
REFUSED = (stripe.CardError, stripe.InvalidRequestError, stripe.AuthenticationError,
           stripe.PermissionError)  # fmt: skip
# Anything else (no connection, a timeout, Stripe's own error): the refund may or may not be
# made. The attempt stays pending, holding its amount, and the same form sends it again
# with the same Idempotency-Key, which Stripe answers with the refund it made, if any.
UNANSWERED = "Stripe did not answer"


def _unanswered(row: dict) -> bool:
    return row["status"] == "pending" and not row["refund_id"] and row["error"] == UNANSWERED


async def refund(
    gw: Gateway, client_id: int, entry_id: int, *, key: str, amount: str, reason: str,
    actor: Actor,
) -> Outcome:  # fmt: skip
    """Refund `amount` of the card payment `entry_id`, once for this form `key`."""
    if not KEY.fullmatch(key):
        raise Invalid(EXPIRED)
    earlier = await _earlier(key, client_id, entry_id)
    if earlier is not None:
        return await _send(gw, earlier, actor) if _unanswered(earlier) else _outcome(earlier)
    cents = parse_amount(amount)
    async with write_transaction(lock_client=client_id):
        # The same form sent twice at once: the other request claimed it meanwhile.
        if await _earlier(key, client_id, entry_id) is not None:
            return _outcome(await _attempt(key))
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
                    sent_at=utcnow(),
                )
            )  # fmt: skip
            .on_conflict(action="DO NOTHING")
            .returning(RefundAttempt.id)
        )
        if claimed:
            await _audit(actor, "billing.refund_requested", client_id, entry_id, key,
                         {"amount_cents": cents, "reason": reason.strip()[:300]})  # fmt: skip
    if not claimed:  # the same form, sent twice at once: the other request does the work
        return _outcome(await _attempt(key))
    return await _send(gw, await _attempt(key), actor)


async def _audit(actor: Actor, action: str, client_id: int, payment_id: int, key: str,
                 new: dict) -> None:  # fmt: skip
    await audit.record(
        action, actor_id=actor.user_id, ip=actor.ip, subject=f"ledger:{payment_id}",
        detail={"client": client_id, "old": None, "new": {"key": key, **new}},
    )  # fmt: skip


async def _failed(row: dict, actor: Actor, error: str, refund_id: str | None = None) -> None:
    """The attempt made no refund: its amount is free again; audited."""
    await RefundAttempt.update(
        {RefundAttempt.status: "failed", RefundAttempt.error: error[:300],
         RefundAttempt.refund_id: refund_id or row["refund_id"],
         RefundAttempt.completed_at: utcnow()}
    ).where(RefundAttempt.id == row["id"])  # fmt: skip
    await _audit(actor, "billing.refund_failed", row["client"], row["payment"],
                 row["idempotency_key"], {"amount_cents": row["amount_cents"], "error": error[:300]})  # fmt: skip


async def _made_at_stripe(gw: Gateway, intent: str, key: str) -> dict | None:
    """The refund Stripe made for this form's key, if any (listed by its PaymentIntent);
    StripeError if Stripe cannot be asked."""
    page = await gw.client.v1.refunds.list_async(params={"payment_intent": intent, "limit": 100})
    for r in page.data:
        made = r.to_dict()
        if dict_or_empty(made.get("metadata")).get("portal_refund") == key:
            return made
    return None


async def _send(gw: Gateway, row: dict, actor: Actor) -> Outcome:
    """Ask Stripe for the attempt's refund. Sent before and unanswered: first look for it at
    Stripe (it may have been made), and only then send it again, with a new key (Stripe
    answers a key with its first answer, an error included, and forgets keys after a day)."""
    key, cents = row["idempotency_key"], row["amount_cents"]
    intent = (
        await LedgerEntry.select(LedgerEntry.external_id)
        .where(LedgerEntry.id == row["payment"])
        .first()
    )["external_id"]
    sends = row["sends"] or 1
    if _unanswered(row):
        try:
            made = await _made_at_stripe(gw, intent, key)
        except stripe.StripeError:
            return Outcome("unanswered", cents, error=UNANSWERED_MESSAGE)
        if made is not None:
            return await _settle(row, made, actor)
        if row["sent_at"] and utcnow() - row["sent_at"] < RESEND_AFTER:
            return Outcome("unanswered", cents, error=WAIT_MESSAGE)
        sends += 1
    await RefundAttempt.update({RefundAttempt.sends: sends, RefundAttempt.sent_at: utcnow()}).where(
        RefundAttempt.id == row["id"]
    )
    try:
        answer = await gw.client.v1.refunds.create_async(
            params={
                "payment_intent": intent,
                "amount": cents,
                "metadata": {
                    "portal_client": str(row["client"]),
                    "portal_refund": key,
                    "portal_payment": str(row["payment"]),
                },
            },  # fmt: skip
            options={
                "idempotency_key": f"portal-refund-{key}" + (f"-{sends}" if sends > 1 else "")
            },
        )
    except REFUSED as exc:
        message = getattr(exc, "user_message", None) or "Stripe did not make the refund."
        await _failed(row, actor, message)
        return Outcome("failed", cents, error=f"{message} Nothing was refunded; try again.")
    except stripe.StripeError:
        await RefundAttempt.update({RefundAttempt.error: UNANSWERED}).where(
            RefundAttempt.id == row["id"]
        )
        return Outcome("unanswered", cents, error=UNANSWERED_MESSAGE)
    return await _settle(row, answer.to_dict(), actor)


async def _settle(row: dict, refund: dict, actor: Actor) -> Outcome:
    """What Stripe's refund (an answer, or one found at Stripe) means for the attempt."""
    cents, status = row["amount_cents"], refund.get("status")
    if status in ("failed", "canceled"):
        await _failed(row, actor, f"refund {status}", refund["id"])
        return Outcome("failed", cents, error="Stripe could not make the refund.")
    await RefundAttempt.update(
        {RefundAttempt.refund_id: refund["id"], RefundAttempt.error: ""}
    ).where(RefundAttempt.id == row["id"])
    if status != "succeeded":  # pending: the webhook will tell
        return Outcome("pending", cents)
    line = await record_refund(row["client"], row["payment"], refund["id"], refund["amount"],
                               key=row["idempotency_key"], actor=actor)  # fmt: skip
    if line is None:  # Stripe said it failed meanwhile (its webhook came first)
        return Outcome("failed", cents, error="Stripe reports that this refund failed.")
    return Outcome("succeeded", cents, line)


RESEND_AFTER = timedelta(minutes=1)
WAIT_MESSAGE = (
    "Stripe did not answer, and has no record of this refund yet. Wait a minute and send "
    "this form again: the refund is made at most once."
)
UNANSWERED_MESSAGE = (
    "Stripe did not answer, so it is not known yet whether the refund was made. Send this "
    "form again to find out: it refunds the same amount at most once."
)


async def record_refund(
    client_id: int, payment_id: int, refund_id: str, cents: int, *, key: str = "",
    actor: Actor,
) -> int | None:  # fmt: skip
    """Write the refund to the ledger once per Stripe refund id; its ledger entry id. None
    when Stripe has already said this refund failed: a late "succeeded" (an answer or a
    retried webhook) never writes it, nor marks its attempt succeeded again."""
    async with write_transaction(lock_client=client_id):
        attempt = (
            await RefundAttempt.select()
            .where(
                (RefundAttempt.refund_id == refund_id)
                | (RefundAttempt.idempotency_key == (key or "-"))
            )
            .first()
        )
        if attempt and attempt["status"] == "failed" and attempt["refund_id"] == refund_id:
            line = await LedgerEntry.select(LedgerEntry.id).where(
                LedgerEntry.external_id == refund_id
            ).first()  # fmt: skip
            return line["id"] if line else None
        inserted = (
            await LedgerEntry.insert(
                LedgerEntry(
                    client=client_id,
                    kind=EntryKind.refund,
                    amount_cents=cents,
                    entry_date=actor.today(),
                    created_at=utcnow(),
                    external_id=refund_id,
                    refund_of=payment_id,
                    method="card",
                    description="Card refund",
                    note=attempt["reason"] if attempt else "",
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
