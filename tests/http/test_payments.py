"""Card payments against a real localstripe server; My Account's documents read back."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import io
import json
import re
import time
from html.parser import HTMLParser

import httpx
import pytest
from pypdf import PdfReader

from portal.tables import (
    LedgerEntry,
    OutboxMail,
    PaymentAttempt,
    PaymentSettings,
    SavedCard,
    StripeEvent,
)
from portal.tables.ledger import EntryKind
from tests import factories
from tests.web import csrf_from, csrf_token, mails, sign_in, signed_in

VISA = "4242424242424242"
DECLINED_AT_CHARGE = "4000000000000341"  # attaches, then the charge is declined
NEEDS_3DS = "4000002500003155"


async def setup_client(http, settings, *, owed=15000, configure=True):
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    c = await factories.client(p, "alice", first_name="Alice")
    if owed:
        await factories.ledger(
            c["client_id"], EntryKind.charge, owed, description="Individual therapy"
        )
    if configure:
        await factories.payments_configured(p, settings)
    await sign_in(http, "alice")
    return {"practice": p, **c}


async def pay_page(http) -> tuple[str, str]:
    page = await http.get("/pay")
    assert page.status_code == 200
    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    return page.text, key


async def stripe_js_sets_up(localstripe: str, client_secret: str, number: str) -> str:
    """What Stripe.js does in the browser: confirm the SetupIntent with the card details."""
    seti = client_secret.split("_secret_")[0]
    async with httpx.AsyncClient() as s:
        r = await s.post(
            f"{localstripe}/v1/setup_intents/{seti}/confirm",
            json={
                "key": "pk_test_portal",
                "use_stripe_sdk": True,
                "client_secret": client_secret,
                "payment_method_data": {
                    "type": "card",
                    "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
                    "billing_details": {"address": {"postal_code": "02110"}},
                },
            },
        )
        assert r.status_code == 200, r.text
        if r.json()["status"] == "requires_action":  # the bank's check, passed, as Stripe.js would
            r = await s.post(
                f"{localstripe}/v1/setup_intents/{seti}/confirm",
                json={
                    "key": "pk_test_portal",
                    "use_stripe_sdk": True,
                    "client_secret": client_secret,
                },
            )
            assert r.json()["status"] == "succeeded", r.text
    return seti


async def pay_with_new_card(
    http, localstripe, *, amount="150.00", number=VISA, save=True, headers=None
):
    page, key = await pay_page(http)
    token = csrf_from(page)
    setup = await http.post("/pay/setup", data={"amount": amount, "_csrf_token": token})
    assert setup.status_code == 200, setup.text
    seti = await stripe_js_sets_up(localstripe, setup.json()["client_secret"], number)
    data = {"amount": amount, "key": key, "card": "new", "setup_intent": seti, "_csrf_token": token}
    if save:
        data["save"] = "yes"
    return await http.post("/pay", data=data, headers=headers or {})


async def balance_text(http) -> str:
    return (await http.get("/dashboard/widgets/balance")).text


class _Shown(HTMLParser):
    """What a browser without JavaScript shows: not what is `hidden`, nor in <script>."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is it hidden (itself or inherited)?
        self.text: list[str] = []
        self.controls: list[dict] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        hidden = (
            bool(self.stack and self.stack[-1]) or "hidden" in a or tag in ("script", "template")
        )
        if tag in ("input", "button", "select") and not hidden and a.get("type") != "hidden":
            self.controls.append({"tag": tag, **a})
        if tag not in self.VOID:
            self.stack.append(hidden)

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):  # noqa: ANN001
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def without_js(page: str) -> _Shown:
    main = page[page.index("<main") : page.index("</main>")]
    shown = _Shown()
    shown.feed(main)
    shown.joined = " ".join(" ".join(shown.text).split())
    return shown


async def test_not_configured_says_how_to_pay_instead(http, settings):
    await setup_client(http, settings, configure=False)
    page = (await http.get("/pay")).text
    shown = without_js(page)
    assert "Paying by card here is not available" in shown.joined
    assert "call the practice at (617) 555-0142" in shown.joined and "front desk" in shown.joined
    assert "You owe $150.00" in shown.joined
    assert 'name="amount"' not in page and not shown.controls
    # No button or link that leads back to this page, nor to cards that cannot be kept.
    main = page[page.index("<main") : page.index("</main>")]
    assert 'href="/pay"' not in main and "Make a payment</a>" not in main
    assert 'href="/account/cards"' not in main
    fragment = await http.get("/pay", headers={"HX-Request": "true"})
    assert "(617) 555-0142" in fragment.text and "<form" not in fragment.text


async def test_without_javascript_and_no_saved_card_nothing_is_offered_that_cannot_work(
    http, settings
):
    await setup_client(http, settings)
    page = (await http.get("/pay")).text
    shown = without_js(page)
    # What works instead, with the practice's phone; no button that could only fail.
    assert "Paying by card here needs JavaScript" in shown.joined
    assert "(617) 555-0142" in shown.joined and "front desk" in shown.joined
    for gone in ("Pay now", "Save this card", "A new card", "Amount (USD)"):
        assert gone not in shown.joined, gone
    assert not [c for c in shown.controls if c["tag"] != "select"], shown.controls
    # With Stripe.js, static/pay.js shows the form and hides the note.
    assert re.search(r'<form [^>]*id="pay"[^>]*data-needs-stripe hidden', page)
    assert re.search(r"<p data-without-stripe>Paying by card here needs JavaScript", page)
    assert 'id="card-element" class="card-element" role="group" aria-label="Card details"' in page
    # The same on the cards page: no "Save card" without Stripe's field.
    cards = without_js((await http.get("/account/cards")).text)
    assert "Adding a card needs JavaScript" in cards.joined and "Save card" not in cards.joined
    assert not cards.controls


async def test_without_javascript_a_saved_card_pays(http, settings, localstripe):
    await setup_client(http, settings)
    await pay_with_new_card(http, localstripe, amount="50.00")
    page, key = await pay_page(http)
    shown = without_js(page)
    assert "Visa ending 4242" in shown.joined and "Pay now" in shown.joined
    assert "A new card" not in shown.joined and "Save this card" not in shown.joined
    assert "pay with a saved card" in shown.joined and "(617) 555-0142" in shown.joined
    [radio] = [c for c in shown.controls if c.get("name") == "card"]
    assert "checked" in radio and radio["value"].isdigit()
    r = await http.post(
        "/pay",
        data={"amount": "40.00", "key": key, "card": radio["value"], "_csrf_token": csrf_from(page)},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/account/receipts/")
    assert "$60.00" in await balance_text(http)


async def test_pay_the_whole_balance_with_a_new_card_and_save_it(http, settings, localstripe):
    env = await setup_client(http, settings)
    page, _ = await pay_page(http)
    assert 'value="150.00"' in page  # the whole balance by default
    r = await pay_with_new_card(http, localstripe)
    assert r.status_code == 303 and r.headers["location"].startswith("/account/receipts/")
    receipt = await http.get(r.headers["location"])
    assert "Payment receipt" in receipt.text and "$150.00" in receipt.text
    [payment] = await LedgerEntry.select().where(LedgerEntry.kind == "payment")
    assert payment["amount_cents"] == 15000 and payment["external_id"].startswith("pi_")
    assert "$0.00" in await balance_text(http)
    [card] = await SavedCard.select()
    assert card["last4"] == "4242" and card["client"] == env["client_id"]
    [mail] = await mails("payment_received")
    assert "$150.00" in mail["body"] and "4242" not in mail["body"]


async def test_pay_part_with_a_saved_card_through_htmx(http, settings, localstripe):
    await setup_client(http, settings)
    await pay_with_new_card(http, localstripe, amount="50.00")
    page, key = await pay_page(http)
    card_id = re.search(r'name="card" value="(\d+)"', page).group(1)
    r = await http.post(
        "/pay",
        data={"amount": "40.00", "key": key, "card": card_id, "_csrf_token": csrf_from(page)},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "Payment received" in r.text and "<html" not in r.text
    assert json.loads(r.headers["hx-trigger"]) == {"ledger-changed": {"target": "body"}}
    assert "$60.00" in await balance_text(http)
    assert (
        'hx-trigger="ledger-changed from:body'
        in (await http.get("/dashboard/widgets/balance")).text
    )


async def test_paying_more_leaves_a_credit_up_to_the_limit(http, settings, localstripe):
    await setup_client(http, settings, owed=1000)
    r = await pay_with_new_card(http, localstripe, amount="20.00")
    assert r.status_code == 303
    assert "$10.00 <span>credit</span>" in await balance_text(http)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "smallest payment"),
        ("0.49", "smallest payment"),
        ("-5", "dollars and cents"),
        ("ten dollars", "dollars and cents"),
        ("12.345", "dollars and cents"),
        ("651.00", "most you can pay now is $650.00"),
    ],
)
async def test_amounts_are_validated_and_kept(http, settings, amount, message):
    await setup_client(http, settings)
    page, key = await pay_page(http)
    r = await http.post(
        "/pay", data={"amount": amount, "key": key, "card": "new", "setup_intent": "", "_csrf_token": csrf_from(page)},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert message in text and f'value="{amount}"' in text and 'aria-invalid="true"' in text
    assert await LedgerEntry.count().where(LedgerEntry.kind == "payment") == 0
    setup = await http.post("/pay/setup", data={"amount": amount, "_csrf_token": csrf_from(page)})
    assert setup.status_code == 422 and message in html.unescape(setup.json()["error"])


async def test_a_declined_card_says_so_and_keeps_the_amount(http, settings, localstripe):
    await setup_client(http, settings)
    r = await pay_with_new_card(
        http, localstripe, amount="75.00", number=DECLINED_AT_CHARGE, save=False
    )
    assert r.status_code == 422
    assert "declined" in r.text and 'value="75.00"' in r.text and "No money was taken" in r.text
    assert await LedgerEntry.count().where(LedgerEntry.kind == "payment") == 0
    [attempt] = await PaymentAttempt.select()
    assert attempt["status"] == "failed"


async def test_a_double_submission_charges_once(http, settings, localstripe):
    await setup_client(http, settings)
    await pay_with_new_card(http, localstripe, amount="10.00")
    page, key = await pay_page(http)
    card_id = re.search(r'name="card" value="(\d+)"', page).group(1)
    data = {"amount": "30.00", "key": key, "card": card_id, "_csrf_token": csrf_from(page)}
    first, second = await asyncio.gather(http.post("/pay", data=data), http.post("/pay", data=data))
    again = await http.post("/pay", data=data)  # a retry later still charges nothing more
    assert 303 in (first.status_code, second.status_code)
    assert again.status_code in (303, 202)
    assert await LedgerEntry.count().where(LedgerEntry.amount_cents == 3000) == 1
    assert await PaymentAttempt.count().where(PaymentAttempt.idempotency_key == key) == 1


def signed_event(event: dict, secret: str = factories.WEBHOOK_SECRET) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    t = int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={t},v1={sig}"


async def intent_json(localstripe: str, pi: str) -> dict:
    async with httpx.AsyncClient() as s:
        r = await s.get(
            f"{localstripe}/v1/payment_intents/{pi}",
            headers={"Authorization": "Bearer sk_test_portal"},
        )
    return r.json()


async def authenticated_intent(http, localstripe) -> str:
    """A payment waiting for the bank's check, then passed at Stripe (as Stripe.js would)."""
    r = await pay_with_new_card(http, localstripe, amount="80.00", number=NEEDS_3DS)
    assert r.status_code == 200 and 'id="pay-action"' in r.text
    secret = re.search(r'data-client-secret="([^"]+)"', r.text).group(1)
    pi = secret.split("_secret_")[0]
    async with httpx.AsyncClient() as s:
        done = await s.post(
            f"{localstripe}/v1/payment_intents/{pi}/_authenticate?success=true",
            json={"key": "pk_test_portal", "client_secret": secret},
        )
    assert done.json()["status"] == "succeeded"
    assert await LedgerEntry.count().where(LedgerEntry.kind == "payment") == 0
    return pi


async def post_webhook(http, event):
    payload, signature = signed_event(event)
    return await http.post(
        "/webhooks/stripe",
        content=payload,
        headers={"stripe-signature": signature, "content-type": "application/json"},
    )


@pytest.mark.parametrize("webhook_first", [True, False])
async def test_webhook_and_browser_return_record_the_payment_once(
    http, settings, localstripe, webhook_first
):
    await setup_client(http, settings)
    pi = await authenticated_intent(http, localstripe)
    event = {"id": f"evt_{pi}", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": await intent_json(localstripe, pi)}}  # fmt: skip
    if webhook_first:
        assert (await post_webhook(http, event)).json()["outcome"] == "payment recorded"
    back = await http.get(f"/pay/return?payment_intent={pi}")
    assert back.status_code == 303 and back.headers["location"].startswith("/account/receipts/")
    if not webhook_first:
        assert (await post_webhook(http, event)).status_code == 200
    assert (await post_webhook(http, event)).json()["outcome"] == "duplicate"  # a replay
    assert await LedgerEntry.count().where(LedgerEntry.external_id == pi) == 1
    assert await StripeEvent.count() == 1
    assert await OutboxMail.count().where(OutboxMail.kind == "payment_received") == 1


async def test_webhook_with_a_bad_signature_is_refused(http, settings, localstripe):
    await setup_client(http, settings)
    event = {"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": {"id": "pi_forged", "amount": 100000, "metadata": {"portal_client": "1"}}}}  # fmt: skip
    payload, _ = signed_event(event, secret="whsec_not_ours")
    r = await http.post(
        "/webhooks/stripe",
        content=payload,
        headers={"stripe-signature": f"t={int(time.time())},v1=00"},
    )
    assert r.status_code == 400
    payload, signature = signed_event(event, secret="whsec_wrong")
    r = await http.post(
        "/webhooks/stripe", content=payload, headers={"stripe-signature": signature}
    )
    assert r.status_code == 400
    assert await LedgerEntry.count().where(LedgerEntry.kind == "payment") == 0
    assert await StripeEvent.count() == 0


async def test_another_clients_money_is_out_of_reach(http, app, settings, localstripe):
    env = await setup_client(http, settings)
    r = await pay_with_new_card(http, localstripe, amount="20.00")
    receipt = r.headers["location"]
    pi = (
        await LedgerEntry.select(LedgerEntry.external_id)
        .where(LedgerEntry.kind == "payment")
        .first()
    )["external_id"]
    [card] = await SavedCard.select()
    await factories.client(env["practice"], "mallory")
    async with signed_in(app, "mallory") as mallory:
        assert (await mallory.get(receipt)).status_code == 404
        assert (await mallory.get(receipt + "/pdf")).status_code == 404
        assert (await mallory.get(f"/pay/return?payment_intent={pi}")).status_code == 404
        token = await csrf_token(mallory, "/pay")
        r = await mallory.post(f"/account/cards/{card['id']}/remove", data={"_csrf_token": token})
        assert r.status_code == 404
        page, key = await pay_page(mallory)
        r = await mallory.post(
            "/pay",
            data={"amount": "5.00", "key": key, "card": str(card["id"]), "_csrf_token": token},
        )
        assert r.status_code == 422 and "Choose a card" in r.text
        account = (await mallory.get("/account")).text
        assert "Individual therapy" not in account and "Card payment" not in account
    assert await SavedCard.count() == 1


async def test_staff_settings_owner_or_manager_only_and_secrets_never_shown(http, app, settings):
    from portal.tables.accounts import Role

    p = await factories.practice(two_factor_policy="nobody")
    await factories.staff("owner", Role.owner)
    await factories.staff("sched", Role.scheduler)
    await sign_in(http, "owner")
    page = await http.get("/staff/settings/payments")
    token = csrf_from(page.text)
    r = await http.post(
        "/staff/settings/payments",
        data={
            "publishable_key": "nope",
            "secret_key": "x",
            "max_credit": "abc",
            "_csrf_token": token,
        },
    )
    assert r.status_code == 422 and "starts with pk_" in r.text and 'value="nope"' in r.text
    r = await http.post("/staff/settings/payments", data={
        "publishable_key": "pk_live_abc", "secret_key": "sk_live_supersecret1234", "webhook_secret": "whsec_topsecret9876",
        "max_credit": "250.00", "_csrf_token": token})  # fmt: skip
    assert r.status_code == 303
    page = (await http.get("/staff/settings/payments")).text
    assert "sk_live_supersecret1234" not in page and "…1234" in page and "…9876" in page
    row = await PaymentSettings.select().where(PaymentSettings.practice == p).first()
    assert "supersecret" not in row["secret_key"] and row["max_credit_cents"] == 25000
    async with signed_in(app, "sched") as scheduler:
        assert (await scheduler.get("/staff/settings/payments")).status_code == 403


async def test_account_ledger_statement_and_pdfs_match_the_ledger(http, settings, localstripe):
    from datetime import date

    env = await setup_client(http, settings, owed=0)
    cid = env["client_id"]
    await factories.ledger(
        cid, EntryKind.charge, 18000, on=date(2026, 9, 1), description="Initial assessment"
    )
    await factories.ledger(
        cid, EntryKind.payment, 10000, on=date(2026, 9, 2), description="Payment at the desk"
    )
    await factories.ledger(
        cid, EntryKind.adjustment, 2000, on=date(2026, 9, 3), description="Sliding scale"
    )
    await factories.ledger(
        cid, EntryKind.charge, 15000, on=date(2026, 10, 1), description="Individual therapy"
    )
    page = (await http.get("/account")).text
    assert "$310.00" not in page and "$210.00" in page  # the balance after the last line
    st = await http.get("/account/statement?start=2026-09-02&end=2026-10-31")
    text = html.unescape(st.text)
    assert "$180.00" in text  # opening balance on 2 September
    pdf = await http.get("/account/statement/pdf?start=2026-09-02&end=2026-10-31")
    assert pdf.headers["content-type"] == "application/pdf"
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Harbor Counseling",
        "Alice Tester",
        "$180.00",
        "$150.00",
        "$100.00",
        "$20.00",
        "$210.00",
    ):
        assert expected in pdf_text, expected
    sb = await http.get("/account/superbill/pdf?on=2026-09-01")
    sb_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(sb.content)).pages)
    assert "Initial assessment" in sb_text and "$180.00" in sb_text
    fsa = await http.get("/account/fsa/pdf?start=2026-09-01&end=2026-10-31")
    fsa_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(fsa.content)).pages)
    assert "$330.00" in fsa_text  # both services, as proof of expense
    assert (await http.get("/account/statement?start=2026-10-31&end=2026-09-01")).status_code == 422
    assert (
        await http.get("/account/superbill?on=2026-09-02")
    ).status_code == 404  # no service that day


async def test_documents_follow_the_practice_setting(http, settings):
    from portal.practice import info as practice_info
    from portal.tables import Practice

    env = await setup_client(http, settings)
    await Practice.update(
        {Practice.settings: json.dumps({"client_documents": ["statements"]})}
    ).where(Practice.id == env["practice"])
    practice_info.changed()  # written behind the app's back: tell it, as settings pages do
    page = (await http.get("/account")).text
    assert "View statement" in page and "View superbill" not in page and "FSA" not in page
    assert (await http.get("/account/fsa")).status_code == 404


async def test_no_page_has_a_field_that_would_post_a_card_number(http, settings, localstripe):
    await setup_client(http, settings)
    await pay_with_new_card(http, localstripe, amount="10.00")
    for path in ("/", "/pay", "/account", "/account/cards", "/profile"):
        page = (await http.get(path)).text
        names = re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', page)
        for name in names:
            assert not re.search(
                r"(card|cc)[-_ ]?(number|num|no)|^pan$|cvc|cvv|^exp", name, re.I
            ), (path, name)
        assert 'autocomplete="cc-' not in page, path
        # The one "card" field chooses a saved card or a new one: ids, never numbers.
        for value in re.findall(r'name="card" value="([^"]*)"', page):
            assert value == "new" or (value.isdigit() and len(value) < 10), (path, value)


async def test_without_receipts_a_payment_ends_on_the_account_not_on_a_404(
    http, settings, localstripe
):
    from portal.practice import info as practice_info
    from portal.tables import Practice

    env = await setup_client(http, settings)
    await Practice.update(
        {Practice.settings: json.dumps({"client_documents": ["statements"]})}
    ).where(Practice.id == env["practice"])
    practice_info.changed()
    await pay_with_new_card(http, localstripe, amount="50.00")
    page, key = await pay_page(http)
    [radio] = [c for c in without_js(page).controls if c.get("name") == "card"]
    r = await http.post(
        "/pay",
        data={"amount": "40.00", "key": key, "card": radio["value"], "_csrf_token": csrf_from(page)},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/account"
    sent = [m for m in await mails() if "/account/receipts/" in m["body"]]
    assert not sent, "a mail links a receipt the client may not open"
