"""The dashboard in a real browser: htmx swaps only what an action touched.

With JavaScript, cancelling or confirming an appointment swaps the appointments widget,
the tasks widget re-fetches itself on the `appointments-changed` event, and nothing else
on the page is re-rendered (no page load at all). Without JavaScript the same forms post,
the server redirects (303) and the whole dashboard renders again.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Locator, Page, Route, expect

from portal.core.clock import utcnow
from portal.tables.ledger import EntryKind
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, sign_in, submit, watch_of

TZ = ZoneInfo("America/New_York")
# The marked elements: kept as they were unless the action concerns them.
KEPT = ("#w-balance", "#w-two-factor", "main h1")
REPLACED = ("#w-appointments", "#w-tasks")


def when(starts_at: datetime) -> str:
    """How the page names an appointment's start (tasks, notices, hidden button text)."""
    return starts_at.astimezone(TZ).strftime("%a %-d %b at %-I:%M %p")


async def alice_with_two_visits() -> dict:
    """Alice, two upcoming in-person appointments she may cancel, and $150.00 owed."""
    p = await factories.practice(
        name="Harbor Counseling", phone="(617) 555-0142", two_factor_policy="nobody"
    )
    c = await factories.client(p, "alice", first_name="Alice")
    prov = await factories.provider(
        p, display_name="Dr. Elena Ruiz", clients_may_cancel=True, cancellation_window_hours=24
    )
    svc = await factories.service(p, name="Individual therapy")
    loc = await factories.location(p, name="Downtown office")
    on_the_hour = utcnow().replace(minute=0, second=0, microsecond=0)
    visits = []
    for days in (3, 5):
        starts_at = on_the_hour + timedelta(days=days)
        appt = await factories.appointment(
            c["client_id"], prov["provider_id"], svc, starts_at, location_id=loc
        )
        visits.append({"id": appt, "starts_at": starts_at, "when": when(starts_at)})
    await factories.ledger(c["client_id"], EntryKind.charge, 15000)
    return {"practice": p, "client": c, "visits": visits}


async def open_dashboard(page: Page, server: LiveServer) -> None:
    assert await sign_in(page, "alice") == 200
    await expect(page).to_have_url(f"{server.base_url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await check_a11y(page)


def visit_items(page: Page) -> Locator:
    return page.locator("#w-appointments li[id^='appointment-']")


async def mark(page: Page, selectors: tuple[str, ...]) -> None:
    """Give the elements (and the window) a JS property a re-render or reload would lose."""
    await page.evaluate(
        """selectors => {
          window.__marker = 1;
          for (const s of selectors) document.querySelector(s).__marker = 1;
        }""",
        list(selectors),
    )


async def marked(page: Page, selector: str) -> bool:
    return await page.evaluate("s => document.querySelector(s)?.__marker === 1", selector)


async def assert_same_document(page: Page, server: LiveServer, loads_before: int) -> None:
    """No navigation happened: same URL, no `load`, the window's marker survives."""
    assert page.url == f"{server.base_url}/"
    assert len(watch_of(page).loads) == loads_before, watch_of(page).loads
    assert await page.evaluate("window.__marker") == 1


async def wait_until_refetched(page: Page, selector: str) -> None:
    """Until the element's marker is gone: it was swapped for a freshly fetched one."""
    await page.wait_for_function(
        "s => { const el = document.querySelector(s); return el && el.__marker !== 1 }",
        arg=selector,
    )


async def test_cancel_with_htmx_swaps_the_widget_and_refreshes_tasks_only(
    page: Page, live_server: LiveServer
):
    env = await alice_with_two_visits()
    first, second = env["visits"]
    await open_dashboard(page, live_server)
    tasks = page.locator("#w-tasks")
    await expect(tasks).to_contain_text(f"Confirm your appointment on {first['when']}")
    await expect(tasks).to_contain_text(f"Confirm your appointment on {second['when']}")
    await expect(page.locator("#w-balance")).to_contain_text("$150.00")
    await expect(page.locator("#w-two-factor")).to_contain_text("Protect your account")
    await expect(visit_items(page)).to_have_count(2)

    await mark(page, KEPT + REPLACED)
    loads_before = len(watch_of(page).loads)

    item = page.locator(f"#appointment-{first['id']}")
    await item.locator("summary").click()
    await item.get_by_label("Reason (optional)").fill("Travelling that week")
    await item.get_by_role("button", name="Cancel this appointment").click()

    widget = page.locator("#w-appointments")
    await expect(widget.get_by_role("status")).to_have_text(f"Cancelled: {first['when']}.")
    await expect(visit_items(page)).to_have_count(1)
    await expect(page.locator(f"#appointment-{second['id']}")).to_be_visible()
    await expect(page.locator(f"#appointment-{first['id']}")).to_have_count(0)
    assert not await marked(page, "#w-appointments")  # swapped by the response

    # The tasks widget heard `appointments-changed` and fetched itself again.
    await wait_until_refetched(page, "#w-tasks")
    await expect(tasks).not_to_contain_text(f"Confirm your appointment on {first['when']}")
    await expect(tasks).to_contain_text(f"Confirm your appointment on {second['when']}")

    # Nothing else was touched: same elements, same document.
    for selector in KEPT:
        assert await marked(page, selector), f"{selector} was re-rendered"
    await expect(page.locator("#w-balance")).to_contain_text("$150.00")
    await assert_same_document(page, live_server, loads_before)
    await check_a11y(page)


async def test_confirm_with_htmx_shows_the_confirmed_tag(page: Page, live_server: LiveServer):
    env = await alice_with_two_visits()
    first, second = env["visits"]
    await open_dashboard(page, live_server)
    await mark(page, KEPT)
    loads_before = len(watch_of(page).loads)

    item = page.locator(f"#appointment-{first['id']}")
    await expect(item).to_contain_text("Not confirmed yet")
    await item.get_by_role("button", name=f"Confirm {first['when']}", exact=True).click()

    item = page.locator(f"#appointment-{first['id']}")
    await expect(item.locator(".tag")).to_have_text("Confirmed")
    await expect(item).not_to_contain_text("Not confirmed yet")
    await expect(page.locator("#w-appointments").get_by_role("status")).to_have_text(
        f"Confirmed: {first['when']}."
    )
    other = page.locator(f"#appointment-{second['id']}")
    await expect(other).to_contain_text("Not confirmed yet")
    await expect(other.locator(".tag")).to_have_count(0)

    await expect(page.locator("#w-tasks")).not_to_contain_text(
        f"Confirm your appointment on {first['when']}"
    )
    for selector in KEPT:
        assert await marked(page, selector), f"{selector} was re-rendered"
    await assert_same_document(page, live_server, loads_before)
    await check_a11y(page)


async def test_cancel_without_javascript_posts_and_redirects_to_the_dashboard(
    nojs_page: Page, live_server: LiveServer
):
    page = nojs_page
    env = await alice_with_two_visits()
    first, second = env["visits"]
    await open_dashboard(page, live_server)
    await expect(visit_items(page)).to_have_count(2)

    item = page.locator(f"#appointment-{first['id']}")
    await item.locator("summary").click()  # <details> opens without JavaScript
    await item.get_by_label("Reason (optional)").fill("Travelling that week")
    posts: list[tuple[str, int, str | None]] = []
    page.on(
        "response",
        lambda r: (
            posts.append((r.url, r.status, r.headers.get("location")))
            if r.request.method == "POST"
            else None
        ),
    )
    async with page.expect_navigation(wait_until="load") as navigation:
        await item.get_by_role("button", name="Cancel this appointment").click()
    response = await navigation.value
    assert response is not None and response.status == 200
    assert response.request.method == "GET"
    done = f"/?done=cancelled-{first['id']}"  # a key, never free text, for the message
    assert posts == [(f"{live_server.base_url}/appointments/{first['id']}/cancel", 303, done)]
    await expect(page).to_have_url(f"{live_server.base_url}{done}")
    await expect(page.locator("main > [role=status]")).to_have_text(f"Cancelled: {first['when']}.")

    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await expect(visit_items(page)).to_have_count(1)
    await expect(page.locator(f"#appointment-{second['id']}")).to_be_visible()
    await expect(page.locator("#w-tasks")).not_to_contain_text(
        f"Confirm your appointment on {first['when']}"
    )
    await check_a11y(page)
    assert await page.evaluate("typeof window.htmx") == "undefined"


async def test_not_now_hides_the_two_factor_prompt(any_page: Page, live_server: LiveServer):
    page = any_page
    js = watch_of(page).js_enabled
    await alice_with_two_visits()
    await open_dashboard(page, live_server)
    prompt = page.get_by_role("region", name="Protect your account")
    await expect(prompt).to_be_visible()
    if js:
        await mark(page, ("#w-balance", "#w-tasks", "#w-appointments", "main h1"))
        loads_before = len(watch_of(page).loads)
        await page.get_by_role("button", name="Not now").click()
        await expect(prompt).to_have_count(0)
        # In its place, what happened (focused and announced: tests/browser/test_keyboard.py).
        await expect(page.locator("#w-two-factor").get_by_role("status")).to_contain_text(
            "We won't ask again for 30 days."
        )
        for selector in ("#w-balance", "#w-tasks", "#w-appointments", "main h1"):
            assert await marked(page, selector), f"{selector} was re-rendered"
        await assert_same_document(page, live_server, loads_before)
    else:
        assert await submit(page, "Not now") == 200
        await expect(page).to_have_url(f"{live_server.base_url}/")
        await expect(prompt).to_have_count(0)
    await check_a11y(page)

    # It stays hidden on the next visit.
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice")
    await expect(page.get_by_text("Protect your account")).to_have_count(0)
    await check_a11y(page)


async def test_cancel_by_keyboard(any_page: Page, live_server: LiveServer):
    page = any_page
    js = watch_of(page).js_enabled
    env = await alice_with_two_visits()
    first, second = env["visits"]
    await open_dashboard(page, live_server)
    item = page.locator(f"#appointment-{first['id']}")
    details = item.locator("details")
    summary = item.locator("summary")
    await expect(summary).to_have_accessible_name(f"Cancel {first['when']}")
    await expect(details).not_to_have_attribute("open", "")

    await summary.focus()
    await page.keyboard.press("Enter")
    await expect(details).to_have_attribute("open", "")
    reason = item.get_by_label("Reason (optional)")
    await expect(reason).to_be_visible()
    await check_a11y(page)  # the opened form, too

    await page.keyboard.press("Tab")
    await expect(reason).to_be_focused()
    await page.keyboard.type("Travelling that week")
    await page.keyboard.press("Tab")
    button = item.get_by_role("button", name="Cancel this appointment")
    await expect(button).to_be_focused()
    if js:
        await page.keyboard.press("Enter")
        await expect(page.locator("#w-appointments").get_by_role("status")).to_have_text(
            f"Cancelled: {first['when']}."
        )
    else:
        async with page.expect_navigation(wait_until="load"):
            await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{live_server.base_url}/?done=cancelled-{first['id']}")
        await expect(page.get_by_role("status")).to_have_text(f"Cancelled: {first['when']}.")
    await expect(visit_items(page)).to_have_count(1)
    await expect(page.locator(f"#appointment-{second['id']}")).to_be_visible()
    await check_a11y(page)


async def test_a_slow_confirm_shows_it_is_busy_and_cannot_be_sent_twice(
    page: Page, live_server: LiveServer
):
    env = await alice_with_two_visits()
    first = env["visits"][0]
    await open_dashboard(page, live_server)
    held, posts = asyncio.Event(), []

    async def slow(route: Route) -> None:
        posts.append(route.request.url)
        await held.wait()
        await route.continue_()

    await page.route("**/appointments/*/confirm", slow)
    row = page.locator(f"#task-confirm-{first['id']}")
    button = row.get_by_role("button", name=f"Confirm {first['when']}")
    await button.click()
    # In flight: htmx marks the form (the spinner's CSS hangs on it) and disables the button.
    await expect(row.locator("form")).to_have_class(re.compile(r"\bhtmx-request\b"))
    await expect(button).to_be_disabled()
    await button.click(force=True)  # a second press does nothing
    held.set()
    await expect(page.locator("#w-appointments").get_by_role("status")).to_have_text(
        f"Confirmed: {first['when']}."
    )
    assert len(posts) == 1, posts
    await page.unroute("**/appointments/*/confirm")
    await check_a11y(page)


LOOK = """el => { const s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, height: r.height, border: parseFloat(s.borderTopWidth),
          font: s.fontSize, underline: s.textDecorationLine.includes("underline")}; }"""


async def test_confirm_and_cancel_are_peers_and_the_head_keeps_off_the_divider(
    page: Page, live_server: LiveServer
):
    env = await alice_with_two_visits()
    await open_dashboard(page, live_server)
    item = page.locator(f"#appointment-{env['visits'][0]['id']}")
    confirm = await item.get_by_role("button", name=re.compile("^Confirm")).evaluate(LOOK)
    cancel = await item.locator("details.cancel > summary").evaluate(LOOK)
    # The same size and shape: two outlined buttons, not a big button and a small red link.
    assert abs(confirm["height"] - cancel["height"]) <= 1, (confirm, cancel)
    assert confirm["font"] == cancel["font"]
    assert cancel["border"] >= 1 and confirm["border"] >= 1
    assert not cancel["underline"]
    # "Schedule new appointment" sits above the first divider line, not on it.
    schedule = await page.get_by_role("link", name="Schedule new appointment").evaluate(LOOK)
    first = await visit_items(page).first.evaluate(LOOK)
    assert schedule["bottom"] + 4 <= first["top"], (schedule, first)
    await check_a11y(page)
