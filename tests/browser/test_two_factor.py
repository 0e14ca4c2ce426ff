"""Two-factor sign-in in a real browser: set it up from the page, then sign in with a code.

The codes come from the tests' own RFC 6238 (tests/totp.py), computed from the secret the
setup page shows, exactly as an authenticator app would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from playwright.async_api import Browser, Page, expect

from tests import factories
from tests.browser.conftest import _watched_page
from tests.browser.harness import LiveServer, check_a11y, sign_in, submit, watch_of
from tests.totp import totp

WRONG_CODE = "That code is not right. Check the time on your phone, then try the current code."

NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> AsyncIterator[NewPage]:
    """Opens watched pages in further fresh contexts (own cookie jars): another device.

    Each is made the way the `page` fixtures make theirs, with the same teardown: every
    document loaded must have been checked with axe, and no console error left unallowed.
    """
    async with AsyncExitStack() as stack:

        async def open_page(*, js_enabled: bool) -> Page:
            return await stack.enter_async_context(
                _watched_page(request, browser, live_server, js_enabled=js_enabled)
            )

        yield open_page


STEP = 30  # seconds per TOTP code


async def away_from_a_step_change(margin: float = 3.0) -> float:
    """Wait, if needed, until the current 30-second step has `margin` seconds left; the time.

    A code typed in the last moment of its step reaches the server in the next one: then
    "the previous step's code" would be two steps old and rightly refused.
    """
    left = STEP - time.time() % STEP
    if left < margin:
        await asyncio.sleep(left + 0.1)
    return time.time()


def wrong_code(secret: str) -> str:
    """A six-digit code that is certainly not accepted around now (any nearby step)."""
    now = time.time()
    near = {totp(secret, now + STEP * k) for k in range(-3, 4)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


async def enable_two_factor(page: Page, server: LiveServer) -> str:
    """On the signed-in page: set up two-factor from what the page shows; returns the secret.

    Turns it on with the previous 30-second step's code (accepted), so the current step's
    code is still unused for the sign-in that follows.
    """
    await page.goto("/profile/two-factor")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    await expect(
        page.get_by_role("img", name="QR code for setting up your authenticator app")
    ).to_be_visible()
    await check_a11y(page)

    shown = await page.locator("#totp-secret").inner_text()
    secret = shown.replace(" ", "").strip()
    assert len(secret) >= 16 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), shown

    now = await away_from_a_step_change()
    await page.get_by_label("Code from your app").fill(totp(secret, now - STEP))
    assert await submit(page, "Turn on two-factor sign-in") == 200
    await expect(page).to_have_url(f"{server.base_url}/profile/two-factor/enable")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in is on")
    codes = page.locator("#recovery-codes li code")
    await expect(codes).to_have_count(10)
    assert len(set(await codes.all_inner_texts())) == 10
    await check_a11y(page)
    return secret


async def sign_out(page: Page, server: LiveServer) -> None:
    assert await submit(page, "Sign out") == 200
    await expect(page).to_have_url(f"{server.base_url}/login")
    await check_a11y(page)


async def sign_in_with_code(page: Page, server: LiveServer, secret: str) -> None:
    """Password, then the code step (a wrong code first, then the right one)."""
    # The 422 for the wrong code is on purpose; Chromium logs every 4xx document.
    watch_of(page).allow_console_error(r"status of 422", r"/login/two-factor$")

    assert await sign_in(page, "alice") == 200
    await expect(page).to_have_url(f"{server.base_url}/login/two-factor")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    await check_a11y(page)

    # A wrong code: the error is on the page, announced, and tied to the field.
    await page.get_by_label("Code", exact=True).fill(wrong_code(secret))
    assert await submit(page, "Continue") == 422
    await expect(page.get_by_role("alert")).to_have_text(WRONG_CODE)
    code_field = page.get_by_label("Code", exact=True)
    await expect(code_field).to_have_attribute("aria-invalid", "true")
    await expect(code_field).to_have_attribute("aria-describedby", "form-errors")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    await check_a11y(page)

    # The current code, typed as the app shows it, gets in.
    await code_field.fill(totp(secret, await away_from_a_step_change()))
    assert await submit(page, "Continue") == 200
    await expect(page).to_have_url(f"{server.base_url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    # Two-factor is on now: the dashboard no longer asks to set it up.
    await expect(page.get_by_text("Protect your account")).to_have_count(0)
    await check_a11y(page)


@pytest.mark.parametrize("js_enabled", [True, False], ids=["js", "nojs"])
async def test_enable_two_factor_then_sign_in_with_a_code_in_a_fresh_browser(
    js_enabled: bool, new_page: NewPage, live_server: LiveServer
):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice", first_name="Alice")

    first = await new_page(js_enabled=js_enabled)
    assert await sign_in(first, "alice") == 200
    await expect(first.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await check_a11y(first)
    secret = await enable_two_factor(first, live_server)
    await sign_out(first, live_server)

    # Another device: a fresh context, no cookies, so the code step is asked for.
    second = await new_page(js_enabled=js_enabled)
    await sign_in_with_code(second, live_server, secret)
    if not js_enabled:
        # It really was the no-JS path: htmx never ran.
        assert await second.evaluate("typeof window.htmx") == "undefined"


async def test_half_signed_in_browser_opens_nothing_but_the_code_step(
    page: Page, new_page: NewPage, live_server: LiveServer
):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice", first_name="Alice")
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await enable_two_factor(page, live_server)

    other = await new_page(js_enabled=True)
    assert await sign_in(other, "alice") == 200
    await expect(other).to_have_url(f"{live_server.base_url}/login/two-factor")
    await check_a11y(other)
    # Password alone is not signed in: the dashboard sends back to sign in.
    await other.goto("/")
    await expect(other).to_have_url(f"{live_server.base_url}/login?next=/")
    await check_a11y(other)
