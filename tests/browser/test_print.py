"""Printable pages offer a Print button with JavaScript (it opens the browser's print
dialog); without JavaScript there is no button that cannot work, and the page says how."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests import factories
from tests.browser.harness import LiveServer, check_a11y, sign_in


async def test_the_appointment_list_has_a_print_button_only_when_it_works(
    request: pytest.FixtureRequest, any_page: Page, live_server: LiveServer
):
    page = any_page
    javascript = request.node.callspec.params["any_page"]
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice", first_name="Alice")
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto("/appointments/print")
    await expect(
        page.get_by_text("Your browser's Print command prints this page too.")
    ).to_be_visible()
    button = page.get_by_role("button", name="Print this list")
    await check_a11y(page)
    if javascript:
        await expect(button).to_be_visible()
        await page.evaluate("() => { window.printed = 0; window.print = () => window.printed++; }")
        await button.click()
        assert await page.evaluate("() => window.printed") == 1
    else:
        await expect(button).to_have_count(0)  # hidden, so out of the accessibility tree too
