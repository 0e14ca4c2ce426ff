"""My Profile's details in a real browser.

With JavaScript, the profile's menu loads each section into the page (htmx, the
address pushed, Back works), and editing a phone number and adding a contact swap only
their own section (no page load). Without JavaScript the menu links are pages, the
same forms post, the server redirects (303) and the section's page renders with the
change. On a phone the menu comes before the section.
"""

from __future__ import annotations

from playwright.async_api import Page, expect

from portal.tables import ClientContact, ClientPhone
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, sign_in, submit, watch_of


async def alice_with_a_phone() -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    c = await factories.client(p, "alice", first_name="Alice")
    row = await ClientPhone.insert(
        ClientPhone(client=c["client_id"], kind="mobile", number="+16175550142")
    ).returning(ClientPhone.id)
    return {"client": c, "phone_id": row[0]["id"]}


def menu_link(page: Page, name: str):
    return page.get_by_role("navigation", name="Profile menu").get_by_role("link", name=name)


async def open_section(page: Page, server: LiveServer, name: str, path: str) -> None:
    """Follow the profile menu's link to a section (htmx with JavaScript, a page without)."""
    await menu_link(page, name).click()
    await expect(page).to_have_url(f"{server.base_url}{path}")
    await expect(menu_link(page, name)).to_have_attribute("aria-current", "page")
    await expect(page.locator('nav[aria-label="Profile menu"] [aria-current]')).to_have_count(1)


async def open_profile(page: Page, server: LiveServer) -> None:
    assert await sign_in(page, "alice") == 200
    await expect(page).to_have_url(f"{server.base_url}/")
    await check_a11y(page)  # the dashboard signing in leads to
    await page.goto("/profile")
    await expect(page.get_by_role("heading", level=1)).to_have_text("My Profile")
    await expect(menu_link(page, "Overview")).to_have_attribute("aria-current", "page")
    await check_a11y(page)
    await open_section(page, server, "Phone numbers", "/profile/phones")
    await expect(page.locator("#phones ul.items")).to_contain_text("(617) 555-0142")
    await check_a11y(page)


async def stored_phones(client_id: int) -> list[tuple[str, str]]:
    rows = await ClientPhone.select(ClientPhone.kind, ClientPhone.number).where(
        ClientPhone.client == client_id
    )
    return [(r["kind"], r["number"]) for r in rows]


async def test_edit_a_phone_and_add_a_contact_with_htmx(page: Page, live_server: LiveServer):
    env = await alice_with_a_phone()
    # The first try is refused on purpose (422); Chromium logs every 4xx response.
    watch_of(page).allow_console_error(r"status of 422", r"/profile/(phones/\d+|contacts)$")
    await page.add_init_script("window.__marker = 1")
    await open_profile(page, live_server)
    # The section came in with htmx: the page the client opened is still there.
    assert await page.evaluate("window.__marker") == 1
    assert watch_of(page).loads[-1].endswith("/profile")
    await expect(page).to_have_title("Phone numbers · My Profile · Harbor Counseling")
    await page.evaluate("window.__marker = 2")
    loads_before = len(watch_of(page).loads)

    phones = page.locator("#phones")
    await phones.locator("details.edit summary").click()
    number = page.locator(f"#phone-{env['phone_id']}-number")
    await expect(number).to_be_visible()
    await number.fill("555")
    await phones.get_by_role("button", name="Save phone number").click()
    error = page.locator(f"#phone-{env['phone_id']}-number-error")
    await expect(error).to_contain_text("That is not a valid phone number")
    number = page.locator(f"#phone-{env['phone_id']}-number")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await expect(number).to_have_value("555")  # what was typed is kept
    await check_a11y(page)

    await page.locator(f"#phone-{env['phone_id']}-kind").select_option("work")
    await number.fill("617.555.0199")
    await page.locator("#phones").get_by_role("button", name="Save phone number").click()
    await expect(page.locator("#phones").get_by_role("status")).to_have_text("Phone number saved.")
    listed = page.locator("#phones ul.items > li")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("Work (617) 555-0199")
    assert await stored_phones(env["client"]["client_id"]) == [("work", "+16175550199")]

    await open_section(page, live_server, "Contacts", "/profile/contacts")
    await expect(page.locator("#phones")).to_have_count(0)
    contacts = page.locator("#contacts")
    add = contacts.locator("details.add")
    if await add.get_attribute("open") is None:
        await add.locator("summary").click()
    await page.locator("#contact-new-relationship").fill("Mother")
    await contacts.get_by_role("button", name="Add contact").click()
    # The browser's own check stops an empty required name; a name with no way to reach
    # the person gets the server's message.
    await page.locator("#contact-new-name").fill("Pat Tester")
    await contacts.get_by_role("button", name="Add contact").click()
    await expect(page.locator("#contact-new-phone-error")).to_have_text(
        "Give a phone number or an email address so the practice can reach them."
    )
    await expect(page.locator("#contact-new-relationship")).to_have_value("Mother")
    await check_a11y(page)

    await page.locator("#contacts details.add").get_by_label("Phone number").fill("(617) 555-0150")
    await page.locator("#contact-new-party").check()
    await page.locator("#contacts").get_by_role("button", name="Add contact").click()
    contacts = page.locator("#contacts")
    await expect(contacts.get_by_role("status")).to_have_text("Contact added.")
    item = contacts.locator("li", has_text="Pat Tester")
    await expect(item).to_contain_text("Mother")
    await expect(item).to_contain_text("(617) 555-0150")
    await expect(item.locator(".tag")).to_have_text("Responsible party")

    rows = await ClientContact.select(
        ClientContact.name, ClientContact.phone, ClientContact.is_responsible_party
    )
    assert rows == [{"name": "Pat Tester", "phone": "+16175550150", "is_responsible_party": True}]
    # All of it happened in the page the client opened: no navigation, no reload.
    assert len(watch_of(page).loads) == loads_before
    assert await page.evaluate("window.__marker") == 2
    await check_a11y(page)
    # Back: the phones section again, at its address, marked in the menu.
    await page.go_back()
    await expect(page).to_have_url(f"{live_server.base_url}/profile/phones")
    await expect(page.locator("#phones")).to_contain_text("(617) 555-0199")
    await expect(menu_link(page, "Phone numbers")).to_have_attribute("aria-current", "page")
    await check_a11y(page)


async def test_on_a_phone_the_section_menu_comes_before_the_form(
    page: Page, live_server: LiveServer
):
    await alice_with_a_phone()
    await page.set_viewport_size({"width": 390, "height": 844})
    await open_profile(page, live_server)
    menu = await page.locator("#profile-menu").bounding_box()
    form = await page.locator("#profile-section form").first.bounding_box()
    assert menu["y"] + menu["height"] <= form["y"]
    # In the keyboard order too: the menu's links come before the section's fields.
    first_field = page.locator("#profile-section").locator("input, select, button, summary").first
    order = await page.evaluate(
        "([a, b]) => a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING",
        [await menu_link(page, "Overview").element_handle(), await first_field.element_handle()],
    )
    assert order


async def test_edit_a_phone_without_javascript(nojs_page: Page, live_server: LiveServer):
    page = nojs_page
    env = await alice_with_a_phone()
    watch_of(page).allow_console_error(r"status of 422", rf"/profile/phones/{env['phone_id']}$")
    await open_profile(page, live_server)

    details = page.locator("#phones details.edit")
    await details.locator("summary").click()  # <details> opens without JavaScript
    number = page.locator(f"#phone-{env['phone_id']}-number")
    await number.fill("12")
    assert await submit(page, "Save phone number") == 422
    # The phones page again, the message in the phones section, the edit form open.
    await expect(page.get_by_role("heading", level=1)).to_have_text("My Profile")
    await expect(page.locator(f"#phone-{env['phone_id']}-number-error")).to_contain_text(
        "That is not a valid phone number"
    )
    await expect(number).to_have_value("12")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await check_a11y(page)

    await number.fill("+44 20 7946 0958")
    assert await submit(page, "Save phone number") == 200
    await expect(page).to_have_url(f"{live_server.base_url}/profile/phones?done=phone-changed")
    await expect(page.locator("#phones").get_by_role("status")).to_have_text("Phone number saved.")
    await expect(page.locator("#phones")).to_contain_text("+44 20 7946 0958")
    assert await stored_phones(env["client"]["client_id"]) == [("mobile", "+442079460958")]
    await check_a11y(page)
    assert await page.evaluate("typeof window.htmx") == "undefined"
