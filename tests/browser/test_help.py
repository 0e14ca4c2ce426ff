"""Help in a real browser: the guide passes axe, its contents move to each section, and the
menu's Client Portal Guide link downloads the PDF."""

from __future__ import annotations

from playwright.async_api import Page, expect

from portal.handlers.help import PDF_NAME, SECTIONS
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, sign_in


async def test_help_page_contents_and_pdf(any_page: Page, live_server: LiveServer):
    page = any_page
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice", first_name="Alice")
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)

    await page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Help").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Help: using the client portal")
    await check_a11y(page)

    contents = page.get_by_role("navigation", name="Contents")
    await expect(contents.get_by_role("link")).to_have_count(len(SECTIONS))
    section_id, title = SECTIONS[-2]
    await contents.get_by_role("link", name=title, exact=True).click()
    await expect(page).to_have_url(f"{live_server.base_url}/help#{section_id}")
    await expect(page.get_by_role("heading", name=title, exact=True)).to_be_in_viewport()

    async with page.expect_download() as info:
        menu = page.get_by_role("navigation", name="Main menu")
        await menu.get_by_role("link", name="Client Portal Guide (PDF)").click()
    download = await info.value
    assert download.suggested_filename == PDF_NAME
    assert (await download.path()).read_bytes().startswith(b"%PDF-")
