"""The dashboard's balance offers to pay by card only where the practice takes cards."""

from __future__ import annotations

from tests.http.test_dashboard import widget_html
from tests.http.test_payments import setup_client


async def test_without_card_payments_the_balance_says_how_to_pay_and_offers_no_card(http, settings):
    await setup_client(http, settings, configure=False)
    page = (await http.get("/")).text
    balance = widget_html(page, "balance")
    assert "$150.00" in balance
    assert "Make a payment" not in balance and 'href="/pay"' not in balance
    assert "call the practice at <strong>(617) 555-0142</strong>" in balance
    assert "front desk" in balance
    assert 'href="/account"' in balance  # the account stays one tap away
    # The task row names what /pay offers then: how to pay, not a card form.
    tasks = widget_html(page, "tasks")
    assert 'href="/pay">How to pay<span' in tasks
    # The widget alone (htmx swaps it after a payment) says the same.
    alone = (await http.get("/dashboard/widgets/balance", headers={"HX-Request": "true"})).text
    assert "Make a payment" not in alone and "(617) 555-0142" in alone


async def test_with_card_payments_the_balance_offers_to_pay(http, settings):
    await setup_client(http, settings, configure=True)
    page = (await http.get("/")).text
    balance = widget_html(page, "balance")
    assert '<a class="button pay" href="/pay">Make a payment</a>' in balance
    assert "call the practice" not in balance
    assert 'href="/pay">Pay<span' in widget_html(page, "tasks")


async def test_nothing_owed_and_no_cards_shows_no_payment_advice(http, settings):
    await setup_client(http, settings, owed=0, configure=False)
    balance = widget_html((await http.get("/")).text, "balance")
    assert "You don't owe anything." in balance
    assert "Make a payment" not in balance and "call the practice" not in balance


async def test_empty_lists_say_what_comes_next(http, settings):
    await setup_client(http, settings, owed=0, configure=True)
    forms = (await http.get("/forms")).text
    assert "When the practice asks you to fill in a form, it appears here" in forms
    assert "Each form you submit stays here" in forms
    account = (await http.get("/account")).text
    assert "Charges appear here after your visits" in account
    assert "No cards saved. Add one below" in (await http.get("/account/cards")).text
