"""Paying part of the balance with a new card in a real browser, through localstripe's Stripe.js."""

from __future__ import annotations

import re

from playwright.async_api import Page, Route, expect

from portal.tables import LedgerEntry, SavedCard
from portal.tables.ledger import EntryKind
from tests import factories
from tests.browser.harness import check_a11y, sign_in, watch_of

# localstripe's stand-in for Stripe's card field (real Stripe renders it in its own iframe).
STRIPE_FIELD = ("#card-element",)


async def contain_fake_stripe_js(page: Page) -> None:
    """Serve localstripe's fake Stripe.js wrapped in a function.

    Its top-level `class Element` shadows the DOM's Element for every script on the
    page, which breaks htmx's `instanceof Element` checks (real Stripe.js declares no
    such global). Wrapped, the class stays local and `Stripe` is still set globally.
    """

    async def wrap(route: Route) -> None:
        original = await route.fetch()
        body = "(function () {\n" + await original.text() + "\n})();\n"
        await route.fulfill(response=original, body=body)

    await page.route(re.compile(r".*/js\.stripe\.com/v3/.*"), wrap)


async def test_pay_part_of_the_balance_with_a_new_card(page: Page, settings):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    c = await factories.client(p, "alice", first_name="Alice")
    await factories.ledger(
        c["client_id"], EntryKind.charge, 15000, description="Individual therapy"
    )
    await factories.payments_configured(p, settings)

    await contain_fake_stripe_js(page)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.get_by_role("link", name="Make a payment").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Make a payment")
    await expect(page.locator("#card-element input").first).to_be_visible()
    # Stripe's field is mounted: the note for browsers without it is gone.
    await expect(page.get_by_text("Paying by card here needs JavaScript")).to_be_hidden()
    await check_a11y(page, exclude=STRIPE_FIELD)
    balance = page.locator("#w-balance")
    await expect(balance).to_contain_text("$150.00")
    await page.evaluate("document.querySelector('#w-balance').__before = 1")
    assert await page.evaluate("document.querySelectorAll('[data-htmx-powered]').length") > 0

    await page.get_by_label("Amount (USD)").fill("40.00")
    fields = page.locator("#card-element input")
    for placeholder, value in (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"),
                               ("cvc", "123"), ("postal_code", "02110")):  # fmt: skip
        await fields.and_(page.locator(f'[placeholder="{placeholder}"]')).fill(value)
    await page.get_by_label("Save this card for next time").check()
    await page.get_by_role("button", name="Pay now").click()

    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    # The balance widget refreshed itself on the ledger-changed event: a new element, new amount.
    await expect(balance).to_contain_text("$110.00")
    assert await page.evaluate("document.querySelector('#w-balance').__before") is None
    await check_a11y(page)

    await page.get_by_role("link", name="View your receipt").click()
    await expect(page.get_by_role("heading", name="Payment receipt")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("$40.00")
    await check_a11y(page)
    [payment] = await LedgerEntry.select().where(LedgerEntry.kind == "payment")
    assert payment["amount_cents"] == 4000 and re.match(r"pi_", payment["external_id"])
    [card] = await SavedCard.select()
    assert card["last4"] == "4242"


async def test_without_stripe_js_the_page_says_how_to_pay_and_offers_no_card_form(
    any_page: Page, settings
):
    """Without JavaScript, or with Stripe.js blocked: no card field, no button that cannot
    work; paying by phone or at the desk instead (the phone itself: tests/http). Checked by
    axe, the card field included."""
    page = any_page
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    c = await factories.client(p, "alice", first_name="Alice")
    await factories.ledger(c["client_id"], EntryKind.charge, 15000, description="Therapy")
    await factories.payments_configured(p, settings)
    if watch_of(page).js_enabled:
        await page.route(re.compile(r".*/js\.stripe\.com/v3/.*"), lambda route: route.abort())
        watch_of(page).allow_console_error(r"Failed to load resource", r"js\.stripe\.com")
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    for path, note, button in (
        ("/pay", "Paying by card here needs JavaScript", "Pay now"),
        ("/account/cards", "Adding a card needs JavaScript", "Save card"),
    ):
        await page.goto(path)
        await expect(page.get_by_text(note)).to_be_visible()
        await expect(page.get_by_role("button", name=button)).to_have_count(0)
        await expect(page.locator(".card-element")).to_be_hidden()
        if path == "/pay":
            await expect(page.locator("main")).to_contain_text("or pay at the front desk")
        await check_a11y(page)
