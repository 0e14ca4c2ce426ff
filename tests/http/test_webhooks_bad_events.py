"""Stripe webhook events that are correctly signed but cannot be applied.

What Stripe sees: a 2xx, so it stops sending the event again (a 500 is retried for
days). What staff see: the stored `stripe_event` row, outcome "unprocessable" and the
reason, and an audit event. What is not there: any ledger line, payment or mail.
A replay of the same event stays a duplicate.
"""

from __future__ import annotations

import pytest

from portal.core.clock import utcnow
from portal.tables import AuditEvent, LedgerEntry, OutboxMail, PaymentAttempt, StripeEvent
from tests import factories
from tests.http.test_payments import post_webhook


async def configured_client(settings) -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.payments_configured(p, settings)
    c = await factories.client(p, "alice")
    await PaymentAttempt.insert(
        PaymentAttempt(
            client=c["client_id"],
            idempotency_key="form-key-1",
            amount_cents=5000,
            payment_intent_id="pi_portal_1",
            created_at=utcnow(),
        )  # fmt: skip
    ).returning(PaymentAttempt.id)
    return {"practice": p, **c}


def succeeded(event_id: str, intent: dict) -> dict:
    return {"id": event_id, "object": "event", "type": "payment_intent.succeeded",
            "data": {"object": {"object": "payment_intent", "currency": "usd", **intent}}}  # fmt: skip


async def assert_unprocessable(http, event: dict, reason: str) -> None:
    r = await post_webhook(http, event)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "unprocessable"
    [row] = await StripeEvent.select().where(StripeEvent.event_id == event["id"])
    assert row["outcome"] == "unprocessable" and row["type"] == "payment_intent.succeeded"
    assert reason in row["error"], row["error"]
    [audit] = await AuditEvent.select().where(AuditEvent.action == "payment.webhook_unprocessable")
    assert audit["subject"] == f"stripe_event:{event['id']}"
    await assert_nothing_written()
    # Stripe sends it again: answered, and still nothing more.
    again = await post_webhook(http, event)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert await StripeEvent.count() == 1
    assert await AuditEvent.count().where(AuditEvent.action == "payment.webhook_unprocessable") == 1
    await assert_nothing_written()


async def assert_nothing_written() -> None:
    assert await LedgerEntry.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "payment.received") == 0
    assert await OutboxMail.count() == 0
    attempts = await PaymentAttempt.select(PaymentAttempt.status, PaymentAttempt.ledger_entry)
    assert all(a["status"] == "pending" and a["ledger_entry"] is None for a in attempts)


@pytest.mark.parametrize(
    ("portal_client", "reason"),
    [
        ("999999", "no client 999999 in this practice"),
        ("99999999999", "is not a client id"),  # wider than the database's integers
        ("alice", "is not a client id"),
        ("", "is not a client id"),
    ],
)
async def test_an_event_naming_no_client_is_recorded_as_unprocessable(
    http, settings, portal_client, reason
):
    await configured_client(settings)
    event = succeeded(
        "evt_ghost",
        {"id": "pi_ghost", "amount": 5000, "metadata": {"portal_client": portal_client}},
    )
    await assert_unprocessable(http, event, reason)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("lots", "'lots'"), (50.5, "50.5"), (None, "None"), (-100, "-100"), (True, "True")],
)
async def test_an_amount_that_is_not_a_number_of_cents_is_recorded_as_unprocessable(
    http, settings, amount, shown
):
    env = await configured_client(settings)
    intent = {"id": "pi_portal_1", "metadata": {"portal_client": str(env["client_id"])}}
    if amount is not None:
        intent["amount"] = amount
    await assert_unprocessable(
        http, succeeded("evt_bad_amount", intent), f"amount {shown} is not a positive number"
    )


async def test_a_client_of_another_practice_or_another_clients_payment_is_unprocessable(
    http, settings
):
    env = await configured_client(settings)
    other = await factories.practice(name="Elsewhere Therapy")
    stranger = await factories.client(other, "stranger")
    event = succeeded("evt_stranger", {"id": "pi_x", "amount": 5000,
                      "metadata": {"portal_client": str(stranger["client_id"])}})  # fmt: skip
    await assert_unprocessable(http, event, f"no client {stranger['client_id']} in this practice")

    await StripeEvent.delete(force=True)
    await AuditEvent.delete(force=True)
    bob = await factories.client(env["practice"], "bob")
    # alice's attempt, but the event says bob: neither is credited.
    event = succeeded("evt_swapped", {"id": "pi_portal_1", "amount": 5000,
                      "metadata": {"portal_client": str(bob["client_id"])}})  # fmt: skip
    await assert_unprocessable(http, event, "was started by another client")


async def test_a_good_event_after_a_bad_one_is_still_recorded(http, settings):
    env = await configured_client(settings)
    meta = {"portal_client": str(env["client_id"])}
    bad = succeeded("evt_bad", {"id": "pi_portal_1", "amount": "lots", "metadata": meta})
    good = succeeded("evt_good", {"id": "pi_portal_1", "amount": 5000, "metadata": meta})
    assert (await post_webhook(http, bad)).json()["outcome"] == "unprocessable"
    r = await post_webhook(http, good)
    assert r.status_code == 200 and r.json()["outcome"] == "payment recorded"
    [entry] = await LedgerEntry.select()
    assert entry["amount_cents"] == 5000 and entry["external_id"] == "pi_portal_1"
    [attempt] = await PaymentAttempt.select()
    assert attempt["status"] == "succeeded" and attempt["ledger_entry"] == entry["id"]
    # Not the portal's PaymentIntent at all (no portal_client): ignored, as before.
    foreign = succeeded("evt_foreign", {"id": "pi_foreign", "amount": 700, "metadata": {}})
    assert (await post_webhook(http, foreign)).json()["outcome"] == "ignored"
    outcomes = {r["event_id"]: (r["outcome"], r["error"]) for r in await StripeEvent.select()}
    assert outcomes["evt_good"] == ("payment recorded", "")
    assert outcomes["evt_foreign"] == ("ignored", "")
