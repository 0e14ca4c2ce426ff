"""The staff side in a browser, as the owner of the demo practice, on a 320 px phone, with
JavaScript on and off: every staff page reachable from the staff menu and the pages
themselves (links and GET forms) answers 200, passes axe-core, and scrolls sideways
nowhere outside an element that scrolls itself (WCAG 1.4.10). The menu is the staff's own.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from portal.demo.practice import seed
from portal.tables import Practice
from tests.browser.harness import LiveServer, check_a11y, sign_in
from tests.browser.test_reflow import _TARGETS, DEMO_PASSWORD, WIDTH, kind, overflow

# Downloads and files, and pages that are not the staff side's.
SKIP = re.compile(
    r"(\.pdf|\.ics|/pdf)$|^/static/|/attachments/|/insurance/\d+/(front|back)$|^/logout|"
    r"^/help/client-portal-guide|^/$"
)
PER_KIND = 2
STAFF_MENU = [
    "Staff home",
    "Clients",
    "Inbox",
    "Agenda",
    "Availability",
    "Providers",
    "Forms",
    "Practice settings",
    "Services",
    "Locations",
    "Custom demographics",
    "Self-registration",
    "Payment processing",
    "Embedding",
    "My Profile",
    "Help",
]


async def demo_owner(page: Page) -> None:
    await seed(DEMO_PASSWORD)
    # The demo asks staff to set up two-factor at their first sign-in; this walk is about
    # the pages behind it.
    await Practice.update({Practice.two_factor_policy: "nobody"}).where(Practice.id > 0)
    await page.set_viewport_size({"width": WIDTH, "height": 640})
    assert await sign_in(page, "owner", DEMO_PASSWORD) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Staff home")
    await check_a11y(page)


async def test_every_staff_page_at_320px_with_and_without_javascript(
    any_page: Page, live_server: LiveServer
):
    page = any_page
    await demo_owner(page)
    menu = page.get_by_role("navigation", name="Main menu")
    await expect(menu.get_by_role("link")).to_have_count(len(STAFF_MENU) + 1)  # + the guide
    for entry in STAFF_MENU:
        await expect(
            menu.get_by_role("link", name=re.compile(f"^{re.escape(entry)}"))
        ).to_be_visible()

    failures: dict[str, list[str]] = {}
    queue, seen, per_kind, visited = deque(["/staff"]), {"/staff"}, {}, []
    while queue:
        path = queue.popleft()
        response = await page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        await check_a11y(page)
        here = urlsplit(page.url)
        visited.append(here.path + (f"?{here.query}" if here.query else ""))
        for target in await page.evaluate(_TARGETS):
            bare = target.split("?", 1)[0]
            if target in seen or SKIP.search(bare) or not bare.startswith("/staff"):
                continue
            k = kind(target)
            if per_kind.get(k, 0) >= PER_KIND:
                continue
            seen.add(target)
            per_kind[k] = per_kind.get(k, 0) + 1
            queue.append(target)
        if problems := await overflow(page):
            failures[visited[-1]] = problems

    print(f"visited {len(visited)} staff pages at {WIDTH} px:", *visited, sep="\n  ")
    reached = {kind(p) for p in visited}
    for must in (
        "/staff",
        "/staff/clients",
        "/staff/clients/new",
        "/staff/clients/{id}",
        "/staff/clients/{id}/profile",
        "/staff/clients/{id}/demographics",
        "/staff/clients/{id}/appointments",
        "/staff/clients/{id}/insurance",
        "/staff/clients/{id}/forms",
        "/staff/clients/{id}/messages",
        "/staff/clients/{id}/billing",
        "/staff/clients/{id}/security",
        "/staff/inbox",
        "/staff/inbox/{id}",
        "/staff/settings/demographics",
        "/staff/settings/registration",
        "/staff/settings/payments",
        "/staff/settings/embedding",
        "/staff/settings/practice",
        "/staff/settings/services",
        "/staff/settings/locations",
    ):
        assert must in reached, f"{must} was never reached from the staff menu and pages"
    report = "\n".join(f"{url}:\n    " + "\n    ".join(p) for url, p in failures.items())
    assert not failures, f"staff pages wider than {WIDTH} px:\n{report}"


async def test_the_client_search_finds_a_client_by_keyboard(
    any_page: Page, live_server: LiveServer
):
    page = any_page
    await demo_owner(page)
    search = page.get_by_role("searchbox", name="Find a client")
    await search.focus()
    await page.keyboard.type("Quinn")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/staff/clients\?q=Quinn"))
    await expect(page.get_by_role("searchbox", name="Find a client")).to_have_value("Quinn")
    link = page.get_by_role("link", name=re.compile("Quinn"))
    await expect(link).to_have_count(1)
    await check_a11y(page)
    await link.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Nora Quinn")
    await expect(page.locator("#invitation")).to_contain_text("has no portal account yet")
    await check_a11y(page)
