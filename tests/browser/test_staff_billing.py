"""A biller posts a charge, the client pays it by card (localstripe's Stripe.js), the biller
refunds half: the staff ledger and the client's balance widget agree at each step."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from portal.tables import LedgerEntry
from portal.tables.ledger import EntryKind
from tests import factories
from tests.browser.conftest import _watched_page
from tests.browser.harness import check_a11y, sign_in
from tests.browser.test_payments import contain_fake_stripe_js
from tests.http.test_staff_billing import world


@pytest.fixture
async def client_page(request, browser, live_server):  # noqa: ANN001, ANN201
    """A second browser (the client's), JavaScript on, watched like `page`."""
    async with _watched_page(request, browser, live_server, js_enabled=True) as p:
        yield p


@pytest.fixture(autouse=True)
async def unlink_refunds(empty_tables):  # noqa: ANN001, ANN201 - the conftest's fixture
    """A refund line points at its payment (restrict): unlinked before the tables empty."""
    yield
    await LedgerEntry.update({LedgerEntry.refund_of: None}, force=True)


async def client_balance(page: Page) -> str:
    await page.goto("/")
    await check_a11y(page)
    return await page.locator("#w-balance .amount").inner_text()


async def test_charge_pay_refund_half_and_both_sides_agree(page: Page, client_page: Page, settings):
    w = await world()
    await factories.payments_configured(w["practice"], settings)
    staff, client = page, client_page
    assert await sign_in(staff, "bill") == 200
    await check_a11y(staff)
    await staff.goto(f"{w['base']}/ledger")
    await check_a11y(staff)
    await expect(staff.locator("#billing-balance")).to_have_text("Nothing owed")

    # 1. The biller charges Alice's appointment (htmx: the billing area is swapped).
    await staff.get_by_label("Appointment").select_option(str(w["appointment"]))
    await staff.get_by_label("ICD-10 diagnosis codes").fill("F41.1")
    await staff.get_by_role("button", name="Post charge").click()
    await expect(staff.get_by_role("status")).to_have_text("Charge posted.")
    await expect(staff.locator("#billing-balance")).to_have_text("$150.00 owed")
    await check_a11y(staff)
    await contain_fake_stripe_js(client)
    assert await sign_in(client, "alice") == 200
    await check_a11y(client)
    assert await client_balance(client) == "$150.00"

    # 2. Alice pays it all with a new card.
    await client.goto("/pay")
    await expect(client.locator("#card-element input").first).to_be_visible()
    await check_a11y(client, exclude=("#card-element",))
    await client.get_by_label("Amount (USD)").fill("150.00")
    fields = client.locator("#card-element input")
    for placeholder, value in (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"),
                               ("cvc", "123"), ("postal_code", "02110")):  # fmt: skip
        await fields.and_(client.locator(f'[placeholder="{placeholder}"]')).fill(value)
    await client.get_by_role("button", name="Pay now").click()
    await expect(client.get_by_role("heading", name="Payment received")).to_be_visible()
    await check_a11y(client)
    assert await client_balance(client) == "$0.00"
    await staff.reload()
    await check_a11y(staff)
    await expect(staff.locator("#billing-balance")).to_have_text("Nothing owed")

    # 3. The biller refunds half of the card payment through Stripe.
    await staff.get_by_role("link", name="Refund").click()
    await expect(staff.get_by_role("heading", level=1)).to_have_text("Refund a card payment")
    await check_a11y(staff)
    await staff.get_by_label("Amount to refund in dollars").fill("75.00")
    await staff.get_by_label("Reason").fill("Half the session was missed")
    await staff.get_by_role("button", name="Refund").click()
    await expect(staff.get_by_role("status")).to_contain_text("Refund made")
    await expect(staff.locator("#billing-balance")).to_have_text("$75.00 owed")
    await expect(staff.locator("#staff-ledger")).to_contain_text("Card refund")
    await check_a11y(staff)
    assert await client_balance(client) == "$75.00"
    [refund] = await LedgerEntry.select().where(LedgerEntry.kind == EntryKind.refund)
    assert refund["amount_cents"] == 7500 and refund["external_id"].startswith("re_")
