"""The keyboard and screen-reader path through htmx swaps (static/portal.js).

After a swap, focus goes to what changed (its status message, or an error summary) and
never falls back to <body>; the page's one live region (#announce) repeats the message.
"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.harness import LiveServer, check_a11y, sign_in, watch_of
from tests.browser.test_dashboard import alice_with_two_visits, open_dashboard
from tests.browser.test_forms import alice_with_the_demo_forms

PHONE = {"width": 390, "height": 844}

# What has focus: the element's id, its role and its text (the same words a user hears).
FOCUSED = """() => {
  const el = document.activeElement;
  return {
    id: el.id, tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || "",
    text: el.textContent.replace(/\\s+/g, " ").trim(),
    widget: el.closest("section.widget")?.id || "",
  };
}"""


async def focused(page: Page) -> dict:
    return await page.evaluate(FOCUSED)


async def tab_to(page: Page, name: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element's text is `name` (the way a keyboard user gets there)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if (await focused(page))["text"] == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def announced(page: Page, text: str) -> None:
    await expect(page.locator("#announce")).to_have_text(text)


async def test_confirm_from_the_tasks_by_keyboard_focuses_the_message(
    page: Page, live_server: LiveServer
):
    env = await alice_with_two_visits()
    first, second = env["visits"]
    await page.set_viewport_size(PHONE)
    await open_dashboard(page, live_server)
    # The phone's order is the DOM's: the tasks come before the balance and the visits.
    order = await page.evaluate(
        "() => [...document.querySelectorAll('section.widget')].map(s => s.id)"
    )
    assert order == ["w-tasks", "w-balance", "w-two-factor", "w-appointments"], order
    await expect(page.locator("#announce")).to_have_text("")

    await tab_to(page, f"Confirm {first['when']}")
    assert (await focused(page))["widget"] == "w-tasks"
    await page.keyboard.press("Enter")

    message = f"Confirmed: {first['when']}."
    notice = page.locator("#w-appointments").get_by_role("status")
    await expect(notice).to_have_text(message)
    await expect(notice).to_be_focused()
    now = await focused(page)
    assert now["role"] == "status" and now["widget"] == "w-appointments", now
    await announced(page, message)
    # The task is done: its row goes (the widget fetched itself again), focus stays put.
    await expect(page.locator(f"#task-confirm-{first['id']}")).to_have_count(0)
    await expect(page.locator(f"#task-confirm-{second['id']}")).to_be_visible()
    await expect(notice).to_be_focused()
    # The next Tab goes on inside the appointments, not back to the top or another column.
    await page.keyboard.press("Tab")
    assert (await focused(page))["widget"] == "w-appointments"
    await check_a11y(page)


async def test_confirm_and_cancel_in_the_widget_by_keyboard(page: Page, live_server: LiveServer):
    env = await alice_with_two_visits()
    first, second = env["visits"]
    await open_dashboard(page, live_server)
    item = page.locator(f"#appointment-{second['id']}")
    await item.get_by_role("button", name=f"Confirm {second['when']}").focus()
    await page.keyboard.press("Enter")
    notice = page.locator("#w-appointments").get_by_role("status")
    await expect(notice).to_have_text(f"Confirmed: {second['when']}.")
    await expect(notice).to_be_focused()
    await announced(page, f"Confirmed: {second['when']}.")

    # Cancel, by keyboard: the summary opens the form, Enter sends it.
    item = page.locator(f"#appointment-{first['id']}")
    await item.locator("summary").focus()
    await page.keyboard.press("Enter")
    await item.get_by_role("button", name="Cancel this appointment").focus()
    await page.keyboard.press("Enter")
    await expect(notice).to_have_text(f"Cancelled: {first['when']}.")
    await expect(notice).to_be_focused()
    await announced(page, f"Cancelled: {first['when']}.")
    assert await page.evaluate("document.activeElement !== document.body")
    await check_a11y(page)


async def test_not_now_focuses_its_message(page: Page, live_server: LiveServer):
    await alice_with_two_visits()
    await open_dashboard(page, live_server)
    await page.get_by_role("button", name="Not now").focus()
    await page.keyboard.press("Enter")
    message = page.locator("#w-two-factor").get_by_role("status")
    await expect(message).to_contain_text("We won't ask again for 30 days.")
    await expect(message).to_be_focused()
    await expect(page.locator("#announce")).to_contain_text("We won't ask again for 30 days.")
    await check_a11y(page)


async def test_a_refused_submit_focuses_the_error_summary(page: Page, live_server: LiveServer):
    watch_of(page).allow_console_error(r"status of 422", r"/forms/\d+/submit$")
    await alice_with_the_demo_forms()
    await page.set_viewport_size(PHONE)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto("/forms")
    await check_a11y(page)
    await page.get_by_role("link", name="New client intake").click()
    await expect(page).to_have_url(re.compile(r"/forms/\d+$"))
    await check_a11y(page)

    submit = page.get_by_role("button", name="Submit form", exact=True)
    await submit.focus()
    await page.keyboard.press("Enter")
    summary = page.locator("#form-errors")
    await expect(summary).to_contain_text("Please check these")
    await expect(summary).to_be_focused()
    await expect(summary).to_be_in_viewport()
    await expect(page.locator("#announce")).to_contain_text("Please check these")
    await check_a11y(page)
