"""The browser harness catches what it promises to catch (so a green run means something)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.browser.harness import check_a11y, watch_of

# An image without a text alternative: WCAG 1.1.1, axe rule `image-alt`.
_BAD_IMAGE = (
    "document.querySelector('main').insertAdjacentHTML('beforeend',"
    ' \'<img id="no-alt" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">\')'
)


async def test_check_a11y_fails_with_a_readable_report(any_page: Page):
    page = any_page
    await page.goto("/login")
    await check_a11y(page)
    await page.evaluate(_BAD_IMAGE)
    with pytest.raises(AssertionError) as failure:
        await check_a11y(page)
    report = str(failure.value)
    assert "image-alt (critical): Images must have alternative text" in report
    assert "at #no-alt" in report
    assert "/login" in report


async def test_a_loaded_page_left_unchecked_is_noticed(any_page: Page, live_server):
    page = any_page
    watch = watch_of(page)
    await page.goto("/login")
    await page.goto("/login?again=1")
    await check_a11y(page)  # checks the current document only
    assert watch.unchecked() == [f"{live_server.base_url}/login"]
    watch.checked.add(0)  # let this test pass its own teardown


async def test_csp_violations_and_script_errors_are_caught(page: Page):
    watch = watch_of(page)
    await page.goto("/login")
    await check_a11y(page)
    assert watch.errors == []
    # An inline script, as an injected or careless template would add: the CSP blocks it.
    await page.evaluate(
        """() => {
          const s = document.createElement('script');
          s.textContent = 'window.inlineRan = true';
          document.body.append(s);
        }"""
    )
    # An exception thrown by page script.
    await page.evaluate("setTimeout(() => { throw new Error('boom from the page') })")
    await page.wait_for_timeout(200)
    assert await page.evaluate("window.inlineRan") is None
    errors = watch.take_errors()
    assert any("Content Security Policy" in e for e in errors), errors
    assert any("boom from the page" in e for e in errors), errors
