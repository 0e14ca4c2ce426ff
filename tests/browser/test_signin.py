"""Signing in and out in a real browser, with and without JavaScript, by mouse and by keyboard."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests import factories
from tests.browser.harness import LiveServer, check_a11y, sign_in, submit, watch_of

FAILED = "That username and password do not match an active account."


async def _alice() -> None:
    p = await factories.practice(name="Harbor Counseling")
    await factories.client(p, "alice", first_name="Alice")


async def _sign_in_see_greeting_sign_out(page: Page, server: LiveServer) -> None:
    assert await sign_in(page, "alice") == 200
    await expect(page).to_have_url(f"{server.base_url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await expect(page.get_by_text("Harbor Counseling").first).to_be_visible()
    await check_a11y(page)

    assert await submit(page, "Sign out") == 200
    await expect(page).to_have_url(f"{server.base_url}/login")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await check_a11y(page)

    # Signed out on the server too: the dashboard sends us back to sign in.
    await page.goto("/")
    await expect(page).to_have_url(f"{server.base_url}/login?next=/")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    await check_a11y(page)


async def test_client_signs_in_sees_greeting_and_signs_out(page: Page, live_server: LiveServer):
    await _alice()
    await _sign_in_see_greeting_sign_out(page, live_server)


async def test_client_signs_in_and_out_without_javascript(nojs_page: Page, live_server: LiveServer):
    await _alice()
    await _sign_in_see_greeting_sign_out(nojs_page, live_server)
    # It really was the no-JS path: htmx never ran.
    assert await nojs_page.evaluate("typeof window.htmx") == "undefined"


async def test_wrong_password_shows_the_error_and_keeps_the_username(any_page: Page):
    page = any_page
    await _alice()
    # The 422 answer is on purpose; Chromium logs every 4xx document as a console error.
    watch_of(page).allow_console_error(r"status of 422", r"/login$")

    assert await sign_in(page, "alice", "not the password") == 422
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text(FAILED)
    username = page.get_by_label("Username")
    await expect(username).to_have_value("alice")
    await expect(username).to_have_attribute("aria-describedby", "login-errors")
    await expect(page.get_by_label("Password")).to_have_value("")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    await check_a11y(page)

    # The kept username and a right password now get in.
    await page.get_by_label("Password").fill(factories.PASSWORD)
    assert await submit(page, "Sign in") == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await check_a11y(page)


async def _skip_link_is_first_tab_stop_and_moves_focus_to_main(page: Page) -> None:
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()  # hidden until focused, then visible
    await page.keyboard.press("Enter")
    await expect(page.locator("main#main")).to_be_focused()
    await expect(page).to_have_url(re.compile(r"#main$"))


async def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page: Page):
    await _alice()
    await page.goto("/login")
    await check_a11y(page)
    await _skip_link_is_first_tab_stop_and_moves_focus_to_main(page)
    # The next Tab continues inside main: the first field of the form.
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Username")).to_be_focused()

    # Signed in, the header has a Sign out button: the skip link still comes first.
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(factories.PASSWORD)
    await page.get_by_label("Password").press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await check_a11y(page)
    await _skip_link_is_first_tab_stop_and_moves_focus_to_main(page)


async def test_no_console_errors_and_htmx_runs_under_the_csp(page: Page):
    await _alice()
    watch = watch_of(page)

    response = await page.goto("/login")
    assert response is not None
    csp = await response.header_value("content-security-policy")
    assert csp is not None and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp

    for expected_heading in ("Sign in", "Welcome, Alice"):
        await expect(page.get_by_role("heading", level=1)).to_have_text(expected_heading)
        await check_a11y(page)
        # The vendored htmx loaded under the CSP and read its <meta> configuration.
        assert await page.evaluate("typeof window.htmx") == "object"
        assert await page.evaluate("window.htmx.version") == "4.0.1"
        assert await page.evaluate("window.htmx.config.includeIndicatorCSS") is False
        assert watch.errors == [], "\n".join(watch.errors)
        if expected_heading == "Sign in":
            await page.get_by_label("Username").fill("alice")
            await page.get_by_label("Password").fill(factories.PASSWORD)
            assert await submit(page, "Sign in") == 200
