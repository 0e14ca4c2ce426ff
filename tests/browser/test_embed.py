"""Embedding in Chromium, from host pages on other origins (a small real server on two more
ports: Chromium treats a page Playwright fulfils as a public address, which may not reach
the loopback portal): the iframe way with third-party cookies blocked, resized to its
content and telling the host what was done; a host not on the allow-list; a spent secret;
a revoked token; and the same-site way with the staff member's own portal sign-in.

Origins: the portal runs at http://127.0.0.1:<port>. http://localhost:<A> is another site
(the iframe is third-party there), http://127.0.0.1:<A> the same site on another origin (the
htmx way), http://localhost:<B> a site the practice has not allowed.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from portal.core.clock import utcnow
from portal.embedding import tokens
from portal.practice import info
from portal.tables import ApiToken, Appointment, Practice
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from tests import factories
from tests.browser import harness
from tests.browser.harness import LiveServer, check_a11y, sign_in, watch_of
from tests.unit.test_embedding import manager

PAGES: dict[str, str] = {}  # what the host server answers at "/", by port


class _Host(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = PAGES.get(str(self.server.server_address[1]), "").encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def _serve() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


_A, _B = _serve(), _serve()
HOST = f"http://localhost:{_A}"
SAME = f"http://127.0.0.1:{_A}"
BARRED = f"http://localhost:{_B}"


async def world() -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await Practice.update({Practice.settings: {"embed_origins": [HOST, SAME]}}).where(
        Practice.id == p
    )
    info.changed()
    ana = await factories.provider(p, "drana", display_name="Dr. Ana")
    alice = await factories.client(p, "alice", first_name="Alice", last_name="Archer")
    service = await factories.service(p)
    visit = await factories.appointment(
        alice["client_id"], ana["provider_id"], service, utcnow() + timedelta(days=3)
    )
    await factories.ledger(alice["client_id"], EntryKind.charge, 12500, description="Session")
    marcus = await factories.staff("marcus", Role.manager)
    _, token = await tokens.create(
        {"name": "EHR", "user": str(ana["user_id"]), "scopes": ["read", "embed"], "days": "1"},
        actor=manager(marcus),
    )
    return {"client": alice["client_id"], "visit": visit, "token": token, "marcus": marcus}


async def secret(server: LiveServer, w: dict, origin: str = HOST, **body) -> str:
    payload = {"client": w["client"], "widgets": ["balance", "appointments"], "actions": True,
               "origin": origin, **body}  # fmt: skip
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{server.base_url}/api/embed-sessions", content=json.dumps(payload),
                            headers={"Authorization": f"Bearer {w['token']}"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["secret"]


def host_page(server: LiveServer, body: str, *, htmx: bool = False) -> str:
    """A staff system's page: ours, so it records the events the embed raises."""
    head = ""
    if htmx:
        head = ('<meta name="htmx-config" content=\'{"mode":"cors"}\'>'
                f'<script src="{server.base_url}/static/{_htmx_name(server)}" defer></script>')  # fmt: skip
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Intranet</title>{head}
<script src="{server.base_url}/embed/embed.js" defer></script></head>
<body><main><h1>Intranet</h1>{body}</main>
<script>
window.portalEvents = [];
["portal:ready", "portal:resize", "portal:confirmed", "portal:cancelled", "portal:paid",
 "portal:refused"]
  .forEach(function (n) {{ document.addEventListener(n, function (e) {{
    window.portalEvents.push({{type: n, detail: e.detail || {{}}}}); }}); }});
</script></body></html>"""


def _htmx_name(server: LiveServer) -> str:
    from portal.core.assets import Assets

    return Assets().url("htmx-4.0.1.min.js").removeprefix("/static/")


async def open_host(page: Page, origin: str, html: str) -> None:
    PAGES[origin.rsplit(":", 1)[1]] = html
    await page.goto(f"{origin}/")


async def until(probe, *, seconds: float = 5.0):  # noqa: ANN001, ANN201 - any awaitable probe
    """What `probe()` gives once it is truthy (Playwright for Python has no expect.poll)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await probe()
        if value or asyncio.get_running_loop().time() > deadline:
            assert value, "timed out waiting"
            return value
        await asyncio.sleep(0.1)


async def events(page: Page, kind: str) -> list[dict]:
    return [e for e in await page.evaluate("window.portalEvents") if e["type"] == kind]


@pytest.fixture
async def cookieless(browser: Browser, live_server: LiveServer):  # noqa: ARG001 - browser: Chromium is there
    """A page in a Chromium that blocks third-party cookies, as Safari and Firefox do."""
    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=harness.find_chromium(),
            args=[*harness.chromium_args(), "--test-third-party-cookie-phaseout"],
        )
        context = await b.new_context()
        page = await context.new_page()
        watch = harness.watch(page, js_enabled=True, browser=b, base_url=live_server.base_url)
        yield page
        await harness.settle(page)
        problems = watch.problems()
        await watch.close()
        await b.close()
        assert not problems, problems


async def test_the_iframe_way_needs_no_cookie_resizes_and_tells_the_host(cookieless, live_server):
    page = cookieless
    w = await world()
    html = host_page(live_server, f'<div id="w" data-portal-widget="balance appointments" '
                                  f'data-height="100" data-session="{await secret(live_server, w)}"></div>')  # fmt: skip
    await open_host(page, HOST, html)
    frame = page.frame_locator("#w iframe")
    await expect(frame.locator("body")).to_contain_text("$125.00")
    await expect(frame.locator("body")).to_contain_text("Upcoming appointments")
    await until(lambda: page.evaluate("document.querySelector('#w iframe').offsetHeight > 300"))
    assert await events(page, "portal:ready")
    await check_a11y(page)
    await frame.get_by_role("button", name="Confirm").click()
    await expect(frame.locator(".pe-notice")).to_contain_text("Confirmed.")
    await expect(frame.locator(".pe-notice")).to_be_focused()  # not lost to the body
    await until(lambda: events(page, "portal:confirmed"))
    assert (await events(page, "portal:confirmed"))[0]["detail"] == {"appointment": w["visit"]}
    row = await Appointment.select(Appointment.status).where(Appointment.id == w["visit"]).first()
    assert row["status"] == "confirmed"
    # The frame ran on its own token: no portal cookie was needed, nor kept.
    assert not [c for c in await page.context.cookies() if c["domain"] == "127.0.0.1"]
    # Revoked, the token stops the frame at its next request.
    [t] = await ApiToken.select()
    await tokens.revoke(t["id"], actor=manager(w["marcus"]))
    watch_of(page).allow_console_error("status of 401", r"/embed/clients/")
    await frame.locator("summary").first.click()
    await frame.get_by_label("Reason (kept in the client's record)").fill("Called in")
    await frame.get_by_role("button", name="Cancel this appointment").click()
    await expect(frame.locator("body")).to_contain_text("This view cannot open here")
    row = await Appointment.select(Appointment.status).where(Appointment.id == w["visit"]).first()
    assert row["status"] == "confirmed"


async def test_a_host_not_allowed_gets_no_frame_and_no_cors_and_says_so(page, live_server):
    w = await world()
    made = await secret(live_server, w)  # for HOST, put on BARRED's page
    watch_of(page).allow_console_error("frame-ancestors|Refused to frame|Content Security Policy")
    watch_of(page).allow_console_error("CORS|Access-Control|Failed to fetch|ERR_FAILED")
    # The secret is refused too (spent from a page of another origin than its session's).
    watch_of(page).allow_console_error("status of 401", "chrome-error")
    html = host_page(live_server, f'<div id="w" data-portal-widget="balance" data-timeout="3000" '
                     f'data-session="{made}"></div>'
                     f'<div id="h" hx-get="{live_server.base_url}/embed/clients/{w["client"]}/balance" '
                     'hx-trigger="load" hx-config=\'{"credentials":"include"}\'>'
                     '<p>Not loaded.</p></div>', htmx=True)  # fmt: skip
    await open_host(page, BARRED, html)
    await expect(page.locator("#w")).to_contain_text("cannot open here", timeout=8000)
    await expect(page.locator("#w a")).to_have_text("Open in the portal (new tab)")
    assert await events(page, "portal:refused")
    await expect(page.locator("#h")).to_contain_text("Not loaded.")
    await check_a11y(page)


async def test_a_spent_secret_shows_the_clear_message_in_the_frame(page, live_server):
    w = await world()
    made = await secret(live_server, w)
    async with httpx.AsyncClient() as http:  # someone opened it already
        assert (
            await http.post(f"{live_server.base_url}/embed/start", data={"secret": made})
        ).status_code == 200
    watch_of(page).allow_console_error("status of 401", r"/embed/start")
    html = host_page(
        live_server, f'<div id="w" data-portal-widget="balance" data-session="{made}"></div>'
    )
    await open_host(page, HOST, html)
    frame = page.frame_locator("#w iframe")
    await expect(frame.locator("body")).to_contain_text("already opened")
    await expect(frame.get_by_role("link", name="Open in the portal")).to_be_visible()
    await until(lambda: events(page, "portal:refused"))
    await check_a11y(page)


async def test_the_same_site_way_uses_the_staff_member_s_own_sign_in(page, live_server):
    w = await world()
    assert await sign_in(page, "drana") == 200
    await check_a11y(page)
    async with httpx.AsyncClient() as http:  # the server-side way, read-only, on the same page
        server_side = (await http.get(f"{live_server.base_url}/embed/clients/{w['client']}/balance",
                                      headers={"Authorization": f"Bearer {w['token']}"})).text  # fmt: skip
    assert "<form" not in server_side
    url = f"{live_server.base_url}/embed/clients/{w['client']}/appointments"
    html = host_page(live_server, f'<div id="s">{server_side}</div>'
                     f'<div id="h" hx-get="{url}" hx-trigger="load" '
                     'hx-config:inherited=\'{"credentials":"include"}\'><p>Loading…</p></div>',
                     htmx=True)  # fmt: skip
    await open_host(page, SAME, html)
    await expect(page.locator("#s")).to_contain_text("$125.00")
    await expect(page.locator("#h")).to_contain_text("Upcoming appointments")
    await check_a11y(page)
    await page.locator("#h").get_by_role("button", name="Confirm").click()
    await expect(page.locator("#h .pe-notice")).to_contain_text("Confirmed.")
    await expect(page.locator("#h .pe-notice")).to_be_focused()
    await until(lambda: events(page, "portal:confirmed"))
    row = await Appointment.select(Appointment.status).where(Appointment.id == w["visit"]).first()
    assert row["status"] == "confirmed"
    await check_a11y(page)


async def test_a_biller_records_a_desk_payment_in_the_frame_and_the_host_hears_it(
    page, live_server
):
    w = await world()
    bill = await factories.staff("tom", Role.biller)
    _, token = await tokens.create(
        {"name": "Desk", "user": str(bill), "scopes": ["embed"], "days": "1"},
        actor=manager(w["marcus"]),
    )
    made = await secret(live_server, {**w, "token": token}, widgets=["balance"])
    html = host_page(
        live_server, f'<div id="w" data-portal-widget="balance" data-session="{made}"></div>'
    )
    await open_host(page, HOST, html)
    frame = page.frame_locator("#w iframe")
    await expect(frame.locator("body")).to_contain_text("$125.00")
    await frame.get_by_text("Record a payment taken at the desk").click()
    await frame.get_by_label("Amount in dollars").fill("25")
    await frame.get_by_label("Paid by").select_option("cash")
    await frame.get_by_role("button", name="Record payment").click()
    await expect(frame.locator(".pe-notice")).to_contain_text("Payment of $25.00 recorded.")
    await expect(frame.locator(".pe-amount")).to_contain_text("$100.00")
    [paid] = await until(lambda: events(page, "portal:paid"))
    assert paid["detail"]["cents"] == 2500
    await check_a11y(page)
