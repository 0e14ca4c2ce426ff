"""My Insurance in a real browser, with JavaScript (htmx swaps the panel) and without (post,
303, page): the task leads there, a renamed non-image is refused with the details kept,
real card images are saved and come back byte for byte, and re-entering keeps history."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests import factories
from tests.browser.harness import LiveServer, check_a11y, file_payload, sign_in, submit, watch_of


async def save(page: Page, js: bool, button: str = "Save insurance") -> int:
    """Submit the details form; the status of the answer (htmx swap, or the page loaded)."""
    if not js:
        return await submit(page, button)
    async with page.expect_response(
        lambda r: r.request.method == "POST" and re.search(r"/insurance(/none)?$", r.url)
    ) as answer:
        await page.get_by_role("button", name=button, exact=True).click()
    return (await answer.value).status


async def fill_details(page: Page, payer: str, member_id: str) -> None:
    await page.get_by_label("Insurance company (payer)").fill(payer)
    await page.get_by_label("Plan name").fill("PPO Gold")
    await page.get_by_label("Member ID").fill(member_id)
    await page.get_by_label("Group number").fill("88-1200")
    await page.get_by_label("Subscriber's relationship to you").select_option("spouse")
    await page.get_by_label("Subscriber's full name").fill("Sam Tester")
    await page.get_by_label("Subscriber's date of birth").fill("1984-02-29")


async def test_enter_and_re_enter_insurance(any_page: Page, live_server: LiveServer):
    page = any_page
    js = watch_of(page).js_enabled
    # The refused upload answers 422 on purpose; Chromium logs every 4xx it receives.
    watch_of(page).allow_console_error(r"status of 422", r"/insurance$")
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice", first_name="Alice")

    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.get_by_role("link", name="Add your insurance").click()
    await expect(page).to_have_url(f"{live_server.base_url}/insurance")
    await expect(page.get_by_role("heading", level=1)).to_have_text("My Insurance")
    await expect(page.get_by_role("button", name="No Insurance")).to_be_visible()
    await check_a11y(page)

    # "I Have Insurance" opens the form (a disclosure: it works without JavaScript too).
    await expect(page.get_by_label("Member ID")).to_be_hidden()
    await page.get_by_text("I Have Insurance", exact=True).click()
    await expect(page.get_by_label("Member ID")).to_be_visible()
    await check_a11y(page)

    # A text file renamed .jpg is refused by its content; what was typed stays.
    await fill_details(page, "Blue Harbor Health", "XKW 123-4567")
    await page.get_by_label("Front of your card").set_input_files(
        file_payload("card.jpg", b"Not a picture, just words.\n", "image/jpeg")
    )
    assert await save(page, js) == 422
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("“card.jpg” is not a JPG, PNG, GIF, BMP file")
    front = page.get_by_label("Front of your card")
    await expect(front).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Member ID")).to_have_value("XKW 123-4567")
    await expect(page.get_by_label("Subscriber's relationship to you")).to_have_value("spouse")
    await expect(page.get_by_label("Subscriber's date of birth")).to_have_value("1984-02-29")
    await check_a11y(page)

    # Real images this time.
    front_png, back_gif = (
        factories.image("PNG", "navy", (8, 5)),
        factories.image("GIF", "orange", (8, 5)),
    )
    await front.set_input_files(file_payload("front.png", front_png, "image/png"))
    await page.get_by_label("Back of your card").set_input_files(
        file_payload("back.gif", back_gif, "image/gif")
    )
    assert await save(page, js) == 200
    await expect(page.get_by_role("status")).to_have_text(
        "Your insurance was saved. The practice sees it as your primary insurance."
    )
    current = page.locator("section", has=page.get_by_role("heading", name="Primary insurance"))
    for shown in ("Blue Harbor Health", "PPO Gold", "XKW 123-4567", "88-1200", "Sam Tester",
                  "Sam Tester (your spouse or partner)", "born 29 February 1984"):  # fmt: skip
        await expect(current).to_contain_text(shown)
    expected_url = "/insurance" if js else "/insurance?done=saved"
    await expect(page).to_have_url(f"{live_server.base_url}{expected_url}")
    await check_a11y(page)

    # The card image comes back as it was sent.
    async with page.expect_download() as download_info:
        await current.get_by_role("link", name=re.compile("^Front of card")).click()
    download = await download_info.value
    assert download.suggested_filename == "front.png"
    assert (await download.path()).read_bytes() == front_png

    # Re-enter: a new payer and member ID without new images: the new policy has none (the
    # old card's images stay with the old policy, listed as earlier).
    await page.get_by_text("Re-enter insurance", exact=True).click()
    await expect(page.get_by_label("Insurance company (payer)")).to_have_value("Blue Harbor Health")
    await page.get_by_label("Insurance company (payer)").fill("Lighthouse Mutual")
    await page.get_by_label("Member ID").fill("LM-998877")
    await check_a11y(page)
    assert await save(page, js) == 200
    await expect(page.get_by_role("status")).to_contain_text("Your insurance was saved.")
    await expect(current).to_contain_text("Lighthouse Mutual")
    await expect(current).not_to_contain_text("Blue Harbor Health")
    await expect(current.get_by_role("link", name=re.compile("of card"))).to_have_count(0)
    earlier = page.locator("section", has=page.get_by_role("heading", name="Earlier insurance"))
    await expect(earlier).to_contain_text("Blue Harbor Health")
    await expect(earlier).to_contain_text("XKW 123-4567")
    await check_a11y(page)
    if js:
        # It was htmx all along: no page was loaded for the three posts.
        assert watch_of(page).loads[-1] == f"{live_server.base_url}/insurance"
        assert await page.evaluate("typeof window.htmx") == "object"

    # The task is gone from the dashboard.
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await expect(page.get_by_role("link", name="Add your insurance")).to_have_count(0)
    await check_a11y(page)


async def test_no_insurance(any_page: Page, live_server: LiveServer):
    page = any_page
    js = watch_of(page).js_enabled
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice", first_name="Alice")
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto("/insurance")
    await check_a11y(page)
    assert await save(page, js, "No Insurance") == 200
    await expect(page.get_by_role("status")).to_have_text(
        "Saved: you have no insurance (self or private pay)."
    )
    await expect(page.get_by_role("heading", name="No insurance", exact=True)).to_be_visible()
    await expect(page.get_by_text("I have insurance now", exact=True)).to_be_visible()
    await check_a11y(page)
