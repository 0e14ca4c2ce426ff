"""Refunding a card payment through Stripe (a real localstripe): in full or in part, at most
what remains, once per refund form, and one ledger line whichever of Stripe's answer and
the webhook comes first.

localstripe's limits, as seen here: it ignores the Idempotency-Key header (the same key
twice makes two refunds there, so the portal's own RefundAttempt is what keeps a double
submit to one refund), never sends refund webhooks (`charge.refunded`, `refund.*`: the tests
post them signed, as Stripe would, with the objects localstripe holds), does not refuse a
refund larger than what is left of the charge (the portal checks it first), and refuses the
`reason` parameter (the portal keeps the reason itself).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
import pytest

from portal.billing import refunds
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.tables import LedgerEntry, PaymentSettings, RefundAttempt
from portal.tables.ledger import EntryKind
from tests import factories
from tests.http.test_payments import intent_json, pay_with_new_card, post_webhook
from tests.http.test_staff_billing import details, world
from tests.web import Page, csrf_from, post_form, sign_in, signed_in

STRIPE = {"Authorization": "Bearer sk_test_portal"}


@pytest.fixture(autouse=True)
async def unlink_refunds(empty_tables):  # noqa: ANN001 - the conftest's fixture
    """Before the tables are emptied: a refund line points at its payment (refund_of,
    restrict), which SQLite's row-by-row DELETE of the ledger would trip over."""
    yield
    await LedgerEntry.update({LedgerEntry.refund_of: None}, force=True)


async def paid(app, http, settings, localstripe, cents: int = 15000) -> dict:
    """Alice owes and pays by card through /pay; the biller is signed in on `http`."""
    w = await world()
    await factories.payments_configured(w["practice"], settings)
    await factories.ledger(w["client"], EntryKind.charge, cents, description="Sessions")
    async with signed_in(app, "alice") as alice:
        r = await pay_with_new_card(alice, localstripe, amount=f"{cents / 100:.2f}")
        assert r.status_code in (200, 303), r.text
    payment = await LedgerEntry.select().where(LedgerEntry.kind == EntryKind.payment).first()
    assert payment["external_id"].startswith("pi_")
    await sign_in(http, "bill")
    w["payment"] = payment
    w["refund_url"] = f"{w['base']}/payments/{payment['id']}/refund"
    return w


async def refund_form(http, w) -> tuple[str, str]:
    page = await http.get(w["refund_url"])
    assert page.status_code == 200, page.text
    return csrf_from(page.text), re.search(r'name="key" value="([^"]+)"', page.text).group(1)


async def submit(http, w, token: str, key: str, amount: str, reason: str = "Session missed"):
    data = {"_csrf_token": token, "key": key, "amount": amount, "reason": reason}
    return await http.post(w["refund_url"], data=data)


async def stripe_refunds(localstripe: str, pi: str) -> list[dict]:
    async with httpx.AsyncClient() as s:
        r = await s.get(f"{localstripe}/v1/refunds", params={"payment_intent": pi}, headers=STRIPE)
    return r.json()["data"]


async def refunded_by_form(http, w, localstripe: str, amount: str) -> dict:
    """Refund `amount` through the form; the refund as localstripe holds it."""
    token, key = await refund_form(http, w)
    assert (await submit(http, w, token, key, amount)).status_code == 303
    [line] = await refund_lines()
    async with httpx.AsyncClient() as s:
        r = await s.get(f"{localstripe}/v1/refunds/{line['external_id']}", headers=STRIPE)
    return r.json()


async def refund_lines() -> list[dict]:
    return await LedgerEntry.select().where(LedgerEntry.kind == EntryKind.refund)


async def test_half_then_the_rest_never_more_and_a_double_submit_refunds_once(
    app, http, settings, localstripe
):
    w = await paid(app, http, settings, localstripe)
    pi = w["payment"]["external_id"]
    ledger = Page(await http.get(f"{w['base']}/ledger"))
    assert f'href="{w["refund_url"]}"' in ledger.raw and "Nothing owed" in ledger.text
    token, key = await refund_form(http, w)
    r = await submit(http, w, token, key, "$75.00")
    assert r.status_code == 303 and r.headers["location"].endswith("?done=refunded")
    again = await submit(http, w, token, key, "$75.00")  # a double submit: the same form
    assert again.status_code == 303
    [line] = await refund_lines()
    assert (line["amount_cents"], line["refund_of"]) == (7500, w["payment"]["id"])
    assert line["external_id"].startswith("re_") and line["posted_by"] is not None
    # The reason is the staff's note: the client's ledger says "Card refund".
    assert (line["description"], line["note"]) == ("Card refund", "Session missed")
    assert [x["id"] for x in await stripe_refunds(localstripe, pi)] == [line["external_id"]]
    [attempt] = await RefundAttempt.select()
    assert attempt["status"] == "succeeded" and attempt["refund_id"] == line["external_id"]
    [audited] = await details("billing.refund_recorded")
    assert audited["old"] is None and audited["new"]["amount_cents"] == 7500
    [asked] = await details("billing.refund_requested")  # who asked, for what, once
    assert asked["new"] == {"key": key, "amount_cents": 7500, "reason": "Session missed"}

    page = Page(await http.get(f"{w['base']}/ledger?done=refunded"))
    assert "Refund made" in page.text and "$75.00 owed" in page.text
    async with signed_in(app, "alice") as alice:
        assert "$75.00" in (await alice.get("/dashboard/widgets/balance")).text
        account = Page(await alice.get("/account"))
        assert "Card refund" in account.text and "Session missed" not in account.text

    # More than what remains, or a bad amount: 422, the amount kept, nothing asked of Stripe.
    token, key = await refund_form(http, w)
    for amount, message in [("80.00", "At most $75.00"), ("-1", "minus sign"), ("0", "$0.00"),
                            ("lots", "like 1,170.50")]:  # fmt: skip
        r = await submit(http, w, token, key, amount)
        assert r.status_code == 422 and message in Page(r).text, amount
        assert f'value="{amount}"' in Page(r).raw
    assert len(await stripe_refunds(localstripe, pi)) == 1
    # Two submits of one form at the same moment: one refund.
    both = await asyncio.gather(*(submit(http, w, token, key, "75.00") for _ in range(2)))
    assert {b.status_code for b in both} == {303}
    assert len(await stripe_refunds(localstripe, pi)) == 2 and len(await refund_lines()) == 2
    page = Page(await http.get(w["refund_url"]))
    assert "refunded in full" in page.text and 'name="key"' not in page.raw
    assert "$150.00 owed" in Page(await http.get(f"{w['base']}/ledger")).text


async def test_webhook_after_the_answer_and_replays_write_no_second_line(
    app, http, settings, localstripe
):
    w = await paid(app, http, settings, localstripe)
    refund = await refunded_by_form(http, w, localstripe, "50")
    event = {"id": "evt_refund_1", "object": "event", "type": "refund.created",
             "data": {"object": refund}}  # fmt: skip
    assert (await post_webhook(http, event)).json()["outcome"] == "refund recorded"
    assert (await post_webhook(http, event)).json()["outcome"] == "duplicate"
    updated = {**event, "id": "evt_refund_2", "type": "refund.updated"}
    assert (await post_webhook(http, updated)).status_code == 200
    assert len(await refund_lines()) == 1


async def test_webhook_before_the_answer_then_the_answer_write_one_line(
    app, http, settings, localstripe
):
    """The refund form's request has claimed its attempt and Stripe has made the refund; the
    `charge.refunded` webhook arrives before Stripe's answer reaches the portal."""
    w = await paid(app, http, settings, localstripe)
    pi = w["payment"]["external_id"]
    key = refunds.new_form_key()
    await RefundAttempt.insert(
        RefundAttempt(client=w["client"], payment=w["payment"]["id"], idempotency_key=key,
                      amount_cents=4000, reason="Overpaid", created_at=utcnow())
    )  # fmt: skip
    async with httpx.AsyncClient() as s:
        made = await s.post(
            f"{localstripe}/v1/refunds", headers=STRIPE,
            data={"payment_intent": pi, "amount": "4000", "metadata[portal_refund]": key},
        )  # fmt: skip
        refund = made.json()
        latest = (await intent_json(localstripe, pi))["latest_charge"]
        charge = latest if isinstance(latest, dict) else (
            await s.get(f"{localstripe}/v1/charges/{latest}", headers=STRIPE)
        ).json()  # fmt: skip
    event = {"id": "evt_charge_refunded", "object": "event", "type": "charge.refunded",
             "data": {"object": charge}}  # fmt: skip
    assert (await post_webhook(http, event)).json()["outcome"] == "refund recorded"
    [line] = await refund_lines()
    assert line["external_id"] == refund["id"] and line["note"] == "Overpaid"
    # Then Stripe's answer: the same refund, recorded by the request's own path.
    actor = Actor(user_id=None, role="biller", ip="", portal_url="", practice=None)
    same = await refunds.record_refund(
        w["client"], w["payment"]["id"], refund["id"], 4000, key=key, actor=actor
    )
    assert same == line["id"] and len(await refund_lines()) == 1
    [attempt] = await RefundAttempt.select()
    assert attempt["status"] == "succeeded" and attempt["refund_id"] == refund["id"]
    assert "$40.00 owed" in Page(await http.get(f"{w['base']}/ledger")).text


async def test_a_refund_made_at_stripe_reaches_the_ledger_by_its_webhook(
    app, http, settings, localstripe
):
    """Made in Stripe's dashboard: the event names the charge only; its refunds are listed."""
    w = await paid(app, http, settings, localstripe)
    pi = w["payment"]["external_id"]
    async with httpx.AsyncClient() as s:
        await s.post(f"{localstripe}/v1/refunds", headers=STRIPE,
                     data={"payment_intent": pi, "amount": "2500"})  # fmt: skip
    charge = {"id": "ch_x", "object": "charge", "payment_intent": pi, "refunded": False}
    event = {"id": "evt_dash", "object": "event", "type": "charge.refunded",
             "data": {"object": charge}}  # fmt: skip
    assert (await post_webhook(http, event)).json()["outcome"] == "refund recorded"
    [line] = await refund_lines()
    assert line["amount_cents"] == 2500 and line["posted_by"] is None
    # A refund of a payment the ledger does not know: kept as unprocessable, nothing written.
    other = {"id": "re_unknown", "object": "refund", "amount": 100, "status": "succeeded",
             "payment_intent": "pi_nobody", "metadata": {}}  # fmt: skip
    bad = {
        "id": "evt_other",
        "object": "event",
        "type": "refund.created",
        "data": {"object": other},
    }
    assert (await post_webhook(http, bad)).json()["outcome"] == "unprocessable"
    assert len(await refund_lines()) == 1


async def test_only_card_payments_and_only_with_stripe_set_up(app, http, settings, localstripe):
    w = await paid(app, http, settings, localstripe)
    desk = await factories.ledger(w["client"], EntryKind.payment, 1000, method="cash")
    charge = await factories.ledger(w["client"], EntryKind.charge, 1000)
    for entry in (desk, charge, 999999):
        url = f"{w['base']}/payments/{entry}/refund"
        assert (await http.get(url)).status_code == 404
        r = await post_form(http, url, {"amount": "1", "key": "k" * 20}, page=f"{w['base']}/ledger")
        assert r.status_code == 404
    # A provider or the scheduler may not refund.
    async with signed_in(app, "drana") as dr:
        assert (await dr.get(w["refund_url"])).status_code == 403
    token, key = await refund_form(http, w)
    # An expired (or forged) form key.
    r = await submit(http, w, token, "short", "10")
    assert r.status_code == 422 and "expired" in Page(r).text
    await PaymentSettings.delete(force=True)
    r = await submit(http, w, token, key, "10")
    assert r.status_code == 409 and "not set up" in Page(r).text
    assert await RefundAttempt.count() == 0 and not await refund_lines()


async def test_no_answer_from_stripe_keeps_the_form_and_sending_it_again_refunds_once(
    app, http, settings, localstripe
):
    """Stripe unreachable (a closed port): the refund may or may not be made, so nothing is
    marked failed; the same form (its key) comes back, holding the amount, and sent again
    once Stripe answers, makes one refund."""
    w = await paid(app, http, settings, localstripe)
    pi = w["payment"]["external_id"]
    token, key = await refund_form(http, w)
    settings.payments.stripe_api_url = "http://127.0.0.1:9"
    try:
        r = await submit(http, w, token, key, "50")
        assert r.status_code == 503 and "Stripe did not answer" in Page(r).text
        assert f'name="key" value="{key}"' in r.text and "Send again" in r.text
        # Leaving and coming back offers the same form, not a second refund of the amount.
        again = await http.get(w["refund_url"])
        assert f'name="key" value="{key}"' in again.text and 'value="50.00"' in again.text
        [attempt] = await RefundAttempt.select()
        assert attempt["status"] == "pending" and not await refund_lines()
    finally:
        settings.payments.stripe_api_url = localstripe
    # Stripe answers again but holds no refund of this form: sent again only a minute on.
    r = await submit(http, w, token, key, "50")
    assert r.status_code == 503 and "Wait a minute" in Page(r).text
    assert not await stripe_refunds(localstripe, pi)
    await RefundAttempt.update({RefundAttempt.sent_at: utcnow() - timedelta(minutes=2)}).where(
        RefundAttempt.idempotency_key == key
    )
    r = await submit(http, w, token, key, "50")
    assert r.status_code == 303 and r.headers["location"].endswith("?done=refunded")
    [line] = await refund_lines()
    assert line["amount_cents"] == 5000
    assert [x["id"] for x in await stripe_refunds(localstripe, pi)] == [line["external_id"]]
    assert (await RefundAttempt.select().first())["sends"] == 2  # a new key for the new send
    assert "$50.00 owed" in Page(await http.get(f"{w['base']}/ledger")).text


async def test_a_refund_made_though_its_answer_was_lost_is_found_not_made_twice(
    app, http, settings, localstripe
):
    """Stripe made the refund, its answer never came back (the attempt says unanswered):
    sending the form again finds it at Stripe by the form's key and records it."""
    w = await paid(app, http, settings, localstripe)
    pi = w["payment"]["external_id"]
    token, key = await refund_form(http, w)
    await RefundAttempt.insert(
        RefundAttempt(client=w["client"], payment=w["payment"]["id"], idempotency_key=key,
                      amount_cents=3000, error=refunds.UNANSWERED, created_at=utcnow(),
                      sent_at=utcnow() - timedelta(minutes=5))
    )  # fmt: skip
    async with httpx.AsyncClient() as s:
        await s.post(f"{localstripe}/v1/refunds", headers=STRIPE,
                     data={"payment_intent": pi, "amount": "3000", "metadata[portal_refund]": key})  # fmt: skip
    r = await submit(http, w, token, key, "30")
    assert r.status_code == 303 and r.headers["location"].endswith("?done=refunded")
    [made] = await stripe_refunds(localstripe, pi)
    [line] = await refund_lines()
    assert (line["external_id"], line["amount_cents"]) == (made["id"], 3000)


async def test_a_refusal_by_stripe_frees_the_amount_and_is_audited(
    app, http, settings, localstripe
):
    """Stripe answers with an error (here: it knows no such PaymentIntent): nothing was
    refunded, the attempt is failed, a new form may refund the whole amount."""
    w = await paid(app, http, settings, localstripe)
    pi = w["payment"]["external_id"]
    token, key = await refund_form(http, w)
    await LedgerEntry.update({LedgerEntry.external_id: "pi_unknown_at_stripe"}).where(
        LedgerEntry.id == w["payment"]["id"]
    )
    r = await submit(http, w, token, key, "150")
    assert r.status_code == 422 and "Nothing was refunded" in Page(r).text
    fresh = re.search(r'name="key" value="([^"]+)"', r.text).group(1)
    assert fresh != key and 'value="150"' in r.text
    [attempt] = await RefundAttempt.select()
    assert attempt["status"] == "failed"
    [failed] = await details("billing.refund_failed")
    assert failed["new"]["key"] == key and failed["new"]["amount_cents"] == 15000
    await LedgerEntry.update({LedgerEntry.external_id: pi}).where(
        LedgerEntry.id == w["payment"]["id"]
    )
    assert (await submit(http, w, token, fresh, "150")).status_code == 303
    assert len(await stripe_refunds(localstripe, pi)) == 1


async def test_a_refund_that_fails_at_stripe_later_is_reversed_once(
    app, http, settings, localstripe
):
    """Stripe said succeeded, then `refund.updated` says failed (the card could not take the
    money back): the ledger gets a reversing line, the amount can be refunded again."""
    w = await paid(app, http, settings, localstripe)
    refund = await refunded_by_form(http, w, localstripe, "60")
    failed = {**refund, "status": "failed"}
    event = {"id": "evt_refund_failed", "object": "event", "type": "refund.updated",
             "data": {"object": failed}}  # fmt: skip
    assert (await post_webhook(http, event)).json()["outcome"] == "refund failed"
    replay = {**event, "id": "evt_refund_failed_2", "type": "charge.refund.updated"}
    assert (await post_webhook(http, replay)).json()["outcome"] == "refund failed"
    reversals = await LedgerEntry.select().where(LedgerEntry.kind == EntryKind.adjustment)
    assert [(x["amount_cents"], x["description"]) for x in reversals] == [
        (6000, "Card refund did not go through")
    ]
    [attempt] = await RefundAttempt.select()
    assert attempt["status"] == "failed"
    assert len(await details("billing.refund_reversed")) == 1
    ledger = Page(await http.get(f"{w['base']}/ledger"))
    assert "Nothing owed" in ledger.text
    page = Page(await http.get(w["refund_url"]))
    assert "All of it can be refunded" in page.text
    # Stripe retries an older "succeeded" delivery afterwards: nothing changes.
    stale = {**event, "id": "evt_refund_stale", "type": "refund.created",
             "data": {"object": refund}}  # fmt: skip
    assert (await post_webhook(http, stale)).status_code == 200
    assert (
        len(await refund_lines()) == 1
        and (await RefundAttempt.select().first())["status"] == "failed"
    )
    assert "Nothing owed" in Page(await http.get(f"{w['base']}/ledger")).text


async def test_a_failure_that_arrives_before_the_success_keeps_the_refund_off_the_ledger(
    app, http, settings, localstripe
):
    """Webhooks out of order, for a refund made in Stripe's dashboard: `refund.updated`
    (failed) first, then the retried `refund.created` (succeeded). Nothing is written."""
    w = await paid(app, http, settings, localstripe)
    pi = w["payment"]["external_id"]
    async with httpx.AsyncClient() as s:
        refund = (await s.post(f"{localstripe}/v1/refunds", headers=STRIPE,
                               data={"payment_intent": pi, "amount": "4000"})).json()  # fmt: skip
    failed = {"id": "evt_f", "object": "event", "type": "refund.updated",
              "data": {"object": {**refund, "status": "failed"}}}  # fmt: skip
    assert (await post_webhook(http, failed)).json()["outcome"] == "refund failed"
    succeeded = {"id": "evt_s", "object": "event", "type": "refund.created",
                 "data": {"object": refund}}  # fmt: skip
    assert (await post_webhook(http, succeeded)).status_code == 200
    assert not await refund_lines()
    assert "Nothing owed" in Page(await http.get(f"{w['base']}/ledger")).text
