"""Reflow (WCAG 1.4.10) on a 320 px wide phone, and the menu there.

The demo client (the demo practice's data: a ledger with payments, forms, messages,
profile details) plus an insurance policy with a replaced one. The test signs in and
walks every page it can reach from the menu and from the pages themselves (links, and
GET forms such as the statement, superbill and FSA statement under /account), opening
every `<details>` on each. Nothing may stick out past the right edge of the viewport,
except inside an element that scrolls sideways itself (`overflow-x: auto | scroll`).
"""

from __future__ import annotations

import os
import re
from collections import deque
from datetime import date
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.demo.practice import seed
from portal.insurance import policy
from portal.practice import terms
from portal.tables import Client, User
from tests.browser.harness import LiveServer, check_a11y, sign_in

WIDTH = 320
DEMO_PASSWORD = "a demo passphrase for tests"
MENU_ENTRIES = [
    "Dashboard",
    "My Profile",
    "My Messages",
    "My Account",
    "Make Payment",
    "My Docs & Forms",
    "My Insurance",
    "Help",
    "Client Portal Guide (PDF)",
]
# Not pages: files, downloads and the JSON/ICS/PDF answers.
SKIP = re.compile(
    r"(\.pdf|\.ics|/pdf|/calendar\.ics)$|^/static/|^/messages/attachments/|"
    r"^/profile/photo-id/|^/insurance/cards/|^/logout"
)
PER_KIND = 2  # pages of one kind (/messages/{id}, /account/receipts/{id}) visited at most
MAX_LINES = 25  # offending elements printed per page
# PORTAL_REFLOW_SCREENSHOTS=DIR: a full-page screenshot of every page visited, to look at.
SCREENSHOTS = os.environ.get("PORTAL_REFLOW_SCREENSHOTS", "")

# Links and GET forms of the current document: same-origin paths (with the form's query).
_TARGETS = """() => {
  const out = [];
  for (const a of document.querySelectorAll('a[href]')) {
    if (a.hasAttribute('download')) continue;
    const u = new URL(a.href, location.href);
    if (u.origin === location.origin) out.push(u.pathname + u.search);
  }
  for (const f of document.querySelectorAll('form')) {
    if ((f.getAttribute('method') || 'get').toLowerCase() !== 'get') continue;
    const u = new URL(f.action, location.href);
    u.search = new URLSearchParams(new FormData(f)).toString();
    if (u.origin === location.origin) out.push(u.pathname + u.search);
  }
  return out;
}"""

# What sticks out past the viewport's right edge, outside any sideways scroller.
_OVERFLOW = """() => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  const vw = document.documentElement.clientWidth;
  const scrollsItself = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const x = getComputedStyle(a).overflowX;
      if (x === 'auto' || x === 'scroll') return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].map(c => '.' + c).join('');
  const path = el => {
    const parts = [];
    for (let a = el; a && a !== document.body && parts.length < 4; a = a.parentElement) parts.unshift(name(a));
    return parts.join(' > ');
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > vw + 0.5 && !scrollsItself(el)) {
      const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
      out.push(`${path(el)}: right ${Math.round(r.right)} px, width ${Math.round(r.width)} px "${text}"`);
    }
  }
  return {vw, scrollWidth: document.documentElement.scrollWidth, out};
}"""


def kind(path: str) -> str:
    """/messages/12 and /messages/14 are one kind of page; so are differing queries."""
    return re.sub(r"/\d+", "/{id}", path.split("?", 1)[0])


async def demo_client_with_insurance() -> None:
    await seed(DEMO_PASSWORD)
    user = await User.select(User.id).where(User.username == "client").first()
    client = await Client.select(Client.id).where(Client.user == user["id"]).first()
    actor = Actor(user_id=user["id"], role="client", ip="", portal_url="", practice=None)
    await terms.accept((await terms.current())["id"], actor)
    for payer, member_id in (
        ("Blue Harbor Health", "XKW 123-4567"),
        ("Commonwealth Mutual Health Insurance Company", "COMMONWEALTH-MUTUAL-0001234567890"),
    ):
        details = policy.Details(
            payer=payer,
            member_id=member_id,
            group_number="88-1200",
            plan="PPO Gold",
            subscriber_name="Samantha Alexandra Montgomery-Whitfield",
            subscriber_date_of_birth=date(1984, 2, 29),
            subscriber_relationship="spouse",
        )
        await policy.save(client["id"], details, cards={}, actor=actor, now=utcnow())


async def overflow(page: Page) -> list[str]:
    found = await page.evaluate(_OVERFLOW)
    problems = found["out"][:MAX_LINES]
    if len(found["out"]) > MAX_LINES:
        problems.append(f"... and {len(found['out']) - MAX_LINES} more")
    if found["scrollWidth"] > WIDTH:
        problems.insert(0, f"document scrollWidth {found['scrollWidth']} px > {WIDTH} px")
    return problems


async def test_no_page_scrolls_sideways_at_320px(page: Page, live_server: LiveServer):
    await demo_client_with_insurance()
    await page.set_viewport_size({"width": WIDTH, "height": 640})
    failures: dict[str, list[str]] = {}

    # Before signing in: the sign-in page.
    await page.goto("/login")
    await check_a11y(page)
    if problems := await overflow(page):
        failures["/login"] = problems
    assert await sign_in(page, "client", DEMO_PASSWORD) == 200
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    await check_a11y(page)

    queue, seen, per_kind, visited = deque(["/"]), {"/"}, {}, []
    while queue:
        path = queue.popleft()
        response = await page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        await check_a11y(page)
        here = urlsplit(page.url)
        visited.append(here.path + (f"?{here.query}" if here.query else ""))
        for target in await page.evaluate(_TARGETS):
            k = kind(target)
            if target in seen or SKIP.search(target.split("?", 1)[0]):
                continue
            if per_kind.get(k, 0) >= PER_KIND:
                continue
            seen.add(target)
            per_kind[k] = per_kind.get(k, 0) + 1
            queue.append(target)
        if problems := await overflow(page):
            failures[visited[-1]] = problems
        if SCREENSHOTS:
            name = re.sub(r"[^a-z0-9]+", "-", visited[-1].lower()).strip("-") or "dashboard"
            await page.screenshot(
                path=f"{SCREENSHOTS}/{len(visited):02d}-{name}.png", full_page=True
            )

    print(f"visited {len(visited)} pages at {WIDTH} px:", *visited, sep="\n  ")
    reached = {kind(p) for p in visited}
    for must in (
        "/",
        "/profile",
        "/profile/login-history",
        "/messages",
        "/messages/{id}",
        "/account",
        "/account/receipts/{id}",
        "/account/statement",
        "/account/superbill",
        "/account/fsa",
        "/pay",
        "/forms",
        "/forms/{id}",
        "/insurance",
        "/help",
    ):
        assert must in reached, f"{must} was never reached from the menu and pages"
    report = "\n".join(
        f"{url}:\n    " + "\n    ".join(problems) for url, problems in failures.items()
    )
    if report:
        print(report)
    assert not failures, f"pages wider than {WIDTH} px:\n{report}"


async def test_every_menu_entry_is_on_screen_at_320px_without_javascript(
    nojs_page: Page, live_server: LiveServer
):
    page = nojs_page
    await demo_client_with_insurance()
    await page.set_viewport_size({"width": WIDTH, "height": 640})
    assert await sign_in(page, "client", DEMO_PASSWORD) == 200
    await check_a11y(page)
    menu = page.get_by_role("navigation", name="Main menu")
    links = menu.get_by_role("link")
    await expect(links).to_have_count(len(MENU_ENTRIES))
    for i, entry in enumerate(MENU_ENTRIES):
        link = links.nth(i)
        await expect(link).to_contain_text(entry)
        box = await link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (entry, box)
        # On the first screen: no scrolling, sideways or down, to find an entry.
        assert box["y"] + box["height"] <= 640, (entry, box)
        assert box["height"] >= 24, (entry, box)  # WCAG 2.5.8 target size
    # The counts stay visible: unread messages and forms to complete.
    for entry, words in (("My Messages", "unread"), ("My Docs & Forms", "to complete")):
        badge = menu.get_by_role("link", name=re.compile(re.escape(entry))).locator(".badge")
        await expect(badge).to_be_visible()
        await expect(badge).to_contain_text(words)
        box = await badge.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH, (entry, box)
    # The icons are decorative: hidden from screen readers, the names are the words.
    await expect(menu.get_by_role("link", name="My Account", exact=True)).to_be_visible()
    assert await menu.locator("svg.icon[aria-hidden='true']").count() == len(MENU_ENTRIES)
    if SCREENSHOTS:  # and the left column on a desktop, to compare
        await page.set_viewport_size({"width": 1280, "height": 800})
        await page.screenshot(path=f"{SCREENSHOTS}/desktop-dashboard.png")
