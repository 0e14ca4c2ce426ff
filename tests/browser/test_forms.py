"""My Docs & Forms in a real browser: complete the demo intake form, with and without JavaScript.

With JavaScript the draft, the refused submit and the final submit each swap the form
in place (no page load) and the menu's count follows out of band; without JavaScript the
same forms post and the server answers 303 to the form's page (or 422 with the page).
"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from portal.demo.practice import DEMO_FORMS
from portal.forms import loader as forms
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, sign_in, submit, watch_of

PHONE = {"width": 390, "height": 844}


async def alice_with_the_demo_forms() -> None:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice", first_name="Alice", last_name="Tester")
    await forms.load_file(DEMO_FORMS)


def menu_entry(page: Page):
    return page.get_by_role("navigation", name="Main menu").locator("#menu-forms a")


async def press(page: Page, button: str, *, js: bool, status: int = 200) -> None:
    """Click a form button: htmx swaps in place with JavaScript; otherwise the page loads."""
    if js:
        await page.get_by_role("button", name=button, exact=True).click()
    else:
        assert await submit(page, button) == status


async def test_complete_the_intake_form(any_page: Page, live_server: LiveServer):
    page = any_page
    js = watch_of(page).js_enabled
    # Refusing the incomplete submit answers 422 on purpose; Chromium logs it.
    watch_of(page).allow_console_error(r"status of 422", r"/forms/\d+/submit$")
    await alice_with_the_demo_forms()
    await page.set_viewport_size(PHONE)

    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    # The dashboard's tasks list each open form; the menu counts them.
    task = page.get_by_role("link", name="Complete the New client intake form")
    await expect(task).to_be_visible()
    await expect(
        page.get_by_role("link", name="Complete the Consent to treatment form")
    ).to_be_visible()
    await expect(menu_entry(page)).to_have_text("My Docs & Forms 2 to complete")

    await menu_entry(page).click()
    await expect(page).to_have_url(f"{live_server.base_url}/forms")
    await expect(page.get_by_role("heading", level=1)).to_have_text("My Docs & Forms")
    # On a phone the page never scrolls sideways: the menu (badges too) scrolls in itself.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await check_a11y(page)
    await page.get_by_role("link", name="New client intake").click()
    await expect(page).to_have_url(re.compile(r"/forms/\d+$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("New client intake")
    await check_a11y(page)
    if js:
        await page.evaluate("window.__marker = 1")

    # Part of it, then a draft.
    await page.get_by_label("What brings you to counseling?").fill("Trouble sleeping since spring.")
    await page.get_by_label("No, this is my first time").check()
    await page.get_by_label("Trouble sleeping").check()
    await page.get_by_label("Worry or anxiety").check()
    await press(page, "Save draft", js=js)
    await expect(page.get_by_role("status")).to_contain_text("Your draft was saved.")
    await expect(page.get_by_label("What brings you to counseling?")).to_have_value(
        "Trouble sleeping since spring."
    )
    await expect(page.get_by_label("Worry or anxiety")).to_be_checked()
    await check_a11y(page)

    # Submitting with answers missing: refused, each problem said, the answers kept.
    await page.get_by_label("Current medications").fill("None")
    await press(page, "Submit form", js=js, status=422)
    alert = page.locator("#form-errors")
    await expect(alert).to_contain_text("Please check these 3 answers")
    await expect(alert).to_contain_text("Emergency contact: name — Answer this question.")
    await expect(alert).to_contain_text("Signature — Type your full name to sign.")
    signature = page.get_by_label("Signature")
    await expect(signature).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Current medications")).to_have_value("None")
    await expect(page.get_by_label("No, this is my first time")).to_be_checked()
    await check_a11y(page)

    await page.get_by_label("Emergency contact: name").fill("Sam Tester")
    await page.get_by_label("Emergency contact: phone number").fill("(617) 555-0100")
    await page.get_by_label("Date of your last physical exam").fill("2025-06-01")
    await page.get_by_label("The practice may email me").check()
    await signature.fill("Alice Tester")
    await press(page, "Submit form", js=js)

    # Read-only now, with the signature's time, and one form left in the menu.
    await expect(page.get_by_role("status")).to_contain_text("Your form was submitted")
    await expect(page.get_by_text(re.compile(r"^Signed by Alice Tester on \d"))).to_be_visible()
    await expect(page.get_by_text("1 June 2025")).to_be_visible()
    await expect(page.get_by_role("button", name="Submit form")).to_have_count(0)
    await expect(page.get_by_role("textbox")).to_have_count(0)
    await expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    await expect(menu_entry(page)).to_have_text("My Docs & Forms 1 to complete")
    await check_a11y(page)
    if js:
        # It all happened in place: the page the form was opened on never reloaded.
        assert await page.evaluate("window.__marker") == 1

    await page.get_by_role("link", name="All forms").click()
    await expect(page).to_have_url(f"{live_server.base_url}/forms")
    completed = page.get_by_role("region", name="Completed")
    await expect(
        completed.get_by_role("link", name="New client intake", exact=True)
    ).to_be_visible()
    await expect(completed.get_by_role("link", name="PDF of New client intake")).to_be_visible()
    to_complete = page.get_by_role("region", name="To complete")
    await expect(to_complete.get_by_role("link")).to_have_text(["Consent to treatment"])
    await check_a11y(page)
