"""Four client flows by keyboard alone: sign in, book, pay with a saved card, send a message.

Each step is a key press (Tab, arrow keys, typing, Enter). After every htmx swap focus is
on what changed or on its message, never on <body>, and #announce repeats the message
(static/portal.js). A page a plain form post leads to focuses and announces its message
too (a refusal's error summary first); a page with no message starts at the top, where
the first Tab reaches the skip link.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.async_api import Page, expect

from portal.scheduling.booking import TAKEN
from portal.tables import Appointment, LedgerEntry, MessageThread
from portal.tables.ledger import EntryKind
from portal.tables.people import ClientStatus
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, sign_in, watch_of
from tests.browser.test_keyboard import announced, focused, tab_to
from tests.browser.test_messages import RUIZ, alice_and_dr_ruiz
from tests.browser.test_payments import STRIPE_FIELD, contain_fake_stripe_js
from tests.browser.test_schedule import (
    OFFICE,
    PROVIDER,
    SERVICE,
    _next_week,
    _practice_with_hours,
    _slot_name,
    _swap,
    _week_heading,
)
from tests.browser.test_signin import FAILED, _alice
from tests.http.test_payments import pay_with_new_card, setup_client

NOT_BODY = "document.activeElement && document.activeElement !== document.body"


async def _enter_and_load(page: Page, key: str = "Enter") -> int:
    """Press `key`, wait for the document it leads to and check it with axe; its status."""
    async with page.expect_navigation(wait_until="load") as navigation:
        await page.keyboard.press(key)
    response = await navigation.value
    await check_a11y(page)
    return response.status if response is not None else 0


async def _into_main(page: Page) -> None:
    """From the top of a page: the skip link, then into <main>, as a keyboard user does."""
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main#main")).to_be_focused()


async def _starts_at_the_top(page: Page) -> None:
    """A new page with nothing to say first: focus at its start, the next Tab on the skip link."""
    assert await page.evaluate("document.activeElement === document.body")
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()


async def _message_focused_and_announced(page: Page, message, text: str | re.Pattern) -> None:  # noqa: ANN001
    await expect(message).to_have_text(text)
    await expect(message).to_be_focused()
    await expect(message).to_be_in_viewport()
    await announced(page, text)


async def _type_sign_in(page: Page, username: str, password: str) -> None:
    """/login by Tab alone: skip link, Username, Password, the Sign in button."""
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    for label, text in (("Username", username), ("Password", password)):
        await page.keyboard.press("Tab")
        await expect(page.get_by_label(label)).to_be_focused()
        await page.keyboard.type(text)
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Sign in")).to_be_focused()


# --- 1. Sign-in ------------------------------------------------------------------------------------


async def test_sign_in_by_keyboard_lands_on_the_dashboard_at_its_top(
    page: Page, live_server: LiveServer
):
    await _alice()
    await page.goto("/login")
    await check_a11y(page)
    await _type_sign_in(page, "alice", factories.PASSWORD)
    assert await _enter_and_load(page) == 200
    await expect(page).to_have_url(f"{live_server.base_url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await expect(page).to_have_title("Dashboard · Harbor Counseling")
    await _starts_at_the_top(page)
    # Then on through the header: Sign out, before the menu and the page.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Sign out")).to_be_focused()


async def test_a_refused_sign_in_focuses_and_announces_the_error(page: Page):
    await _alice()
    watch_of(page).allow_console_error(r"status of 422", r"/login$")
    await page.goto("/login")
    await check_a11y(page)
    await _type_sign_in(page, "alice", "not the password")
    assert await _enter_and_load(page) == 422

    alert = page.locator("#login-errors")
    await _message_focused_and_announced(page, alert, FAILED)
    assert (await focused(page))["role"] == "alert"
    # The next Tab goes on to the kept username, then the emptied password: type it, Enter.
    await page.keyboard.press("Tab")
    username = page.get_by_label("Username")
    await expect(username).to_be_focused()
    await expect(username).to_have_value("alice")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(factories.PASSWORD)
    assert await _enter_and_load(page) == 200  # Enter in the field submits the form
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await _starts_at_the_top(page)


# --- 2. Booking ------------------------------------------------------------------------------------


async def _choose(page: Page, select_id: str, label: str) -> None:
    """On the focused select: ArrowDown to the next choice; htmx swaps #schedule once the
    choice settles (delay:500ms), and focus is back on the same select."""
    select = page.locator(f"#{select_id}")
    await expect(select).to_be_focused()
    await _swap(page, lambda: page.keyboard.press("ArrowDown"))
    select = page.locator(f"#{select_id}")
    await expect(select.locator("option:checked")).to_have_text(label)
    await expect(select).to_be_focused()
    assert await page.evaluate(NOT_BODY)


async def test_booking_by_keyboard_keeps_focus_on_what_changed(page: Page, live_server: LiveServer):
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    wednesday = _next_week() + timedelta(days=2)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await tab_to(page, "Schedule new appointment")
    assert await _enter_and_load(page) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Schedule an appointment")
    await _into_main(page)

    # Who, What, Where: each select in turn, by Tab and an arrow key.
    await page.keyboard.press("Tab")
    await _choose(page, "pick-provider", PROVIDER)
    await page.keyboard.press("Tab")
    await _choose(page, "pick-service", SERVICE)
    await page.keyboard.press("Tab")
    await _choose(page, "pick-where", OFFICE)

    # The free times followed; the next Tab is on the week's links, Enter pages on: the
    # swapped-in link of the same id keeps focus.
    await tab_to(page, "Next week")
    await _swap(page, lambda: page.keyboard.press("Enter"))
    await expect(page.get_by_role("heading", level=2)).to_have_text(_week_heading(_next_week()))
    await expect(page.locator("#week-next")).to_be_focused()

    # A time, then the review page, then the booking: each a page of its own.
    await tab_to(page, _slot_name(wednesday, 10))
    assert await _enter_and_load(page) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Review your appointment")
    await tab_to(page, "Book this appointment")
    assert await _enter_and_load(page) == 200
    await expect(page).to_have_url(re.compile(r"/schedule/booked/\d+$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    await expect(page).to_have_title("Appointment booked · Harbor Counseling")
    await _starts_at_the_top(page)
    assert await Appointment.count() == 1


async def test_a_time_taken_meanwhile_focuses_and_announces_the_refusal(page: Page):
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    bob = await factories.client(env["practice"], "bob", status=ClientStatus.active)
    wednesday = _next_week() + timedelta(days=2)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto(
        f"/schedule?provider={env['provider']}&service={env['service']}&where={env['location']}"
        f"&week={_next_week().isoformat()}"
    )
    await check_a11y(page)
    await tab_to(page, _slot_name(wednesday, 10))
    assert await _enter_and_load(page) == 200
    start = (await page.locator("input[name=start]").input_value()).replace("Z", "+00:00")
    await factories.appointment(
        bob["client_id"], env["provider"], env["service"], datetime.fromisoformat(start),
        minutes=45, location_id=env["location"],
    )  # fmt: skip
    watch_of(page).allow_console_error(r"status of 409", r"/schedule/book$")
    await tab_to(page, "Book this appointment")
    assert await _enter_and_load(page) == 409
    alert = page.locator("#schedule").get_by_role("alert")
    await _message_focused_and_announced(page, alert, TAKEN)
    # The next Tab goes on into the picker, where another time can be chosen.
    await page.keyboard.press("Tab")
    await expect(page.locator("#pick-provider")).to_be_focused()


# --- 3. Paying with a saved card -------------------------------------------------------------------


async def test_pay_with_a_saved_card_by_keyboard_focuses_the_result(
    page: Page, live_server: LiveServer, http, settings, localstripe
):
    # Alice owes $150 and paid $50 with a card she saved (over HTTP, as tests/http does).
    await setup_client(http, settings)
    await pay_with_new_card(http, localstripe, amount="50.00")
    await contain_fake_stripe_js(page)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await tab_to(page, "Make a payment")
    async with page.expect_navigation(wait_until="load"):
        await page.keyboard.press("Enter")
    await expect(page.locator("#card-element input").first).to_be_visible()
    await check_a11y(page, exclude=STRIPE_FIELD)

    await _into_main(page)
    await page.keyboard.press("Tab")
    amount = page.get_by_label("Amount (USD)")
    await expect(amount).to_be_focused()
    await expect(amount).to_have_value("100.00")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("40.00")
    # One Tab stop for the card choice: the saved card, already chosen.
    await page.keyboard.press("Tab")
    saved = page.get_by_role("radio", name=re.compile(r"^Visa ending 4242"))
    await expect(saved).to_be_focused()
    await expect(saved).to_be_checked()
    await tab_to(page, "Pay now")
    await page.keyboard.press("Enter")

    result = page.locator("#pay-form").get_by_role("status")
    said = "Thank you. Your payment went through; you still owe $60.00."
    await _message_focused_and_announced(page, result, said)
    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    # The balance refreshes itself afterwards; focus and the announcement stay.
    await expect(page.locator("#w-balance")).to_contain_text("$60.00")
    await expect(result).to_be_focused()
    await announced(page, said)
    await check_a11y(page)
    # The next Tab goes on inside the result: its receipt.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="View your receipt")).to_be_focused()
    payments = await LedgerEntry.select().where(LedgerEntry.kind == EntryKind.payment)
    assert sorted(p["amount_cents"] for p in payments) == [4000, 5000]


# --- 4. Sending a message --------------------------------------------------------------------------


async def test_send_a_message_by_keyboard_focuses_and_announces_the_result(
    page: Page, live_server: LiveServer
):
    await alice_and_dr_ruiz()
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto("/messages/new")
    await check_a11y(page)
    await _into_main(page)
    await tab_to(page, "All messages")  # the first stop in <main>
    await page.keyboard.press("Tab")
    to = page.get_by_label("To")
    await expect(to).to_be_focused()
    await page.keyboard.press("ArrowDown")  # a closed select: the next choice
    await expect(to.locator("option:checked")).to_have_text(RUIZ)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Subject")).to_be_focused()
    await page.keyboard.type("Sleep diary")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()
    await page.keyboard.type("I slept better this week.")
    await tab_to(page, "Send message")
    assert await _enter_and_load(page) == 200

    await expect(page).to_have_url(re.compile(r"/messages/\d+\?done=sent$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sleep diary")
    await _message_focused_and_announced(
        page, page.locator("#sent-notice"), "Your message was sent."
    )
    # The next Tab is the reply box, right below the message.
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Your reply to Dr. Elena Ruiz, PsyD")).to_be_focused()
    assert await MessageThread.count() == 1
