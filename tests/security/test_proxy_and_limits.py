"""Forwarded addresses: believed only from the proxies named in `server.trusted_proxies`.

Through a real `portal run` (started by `tests/browser/harness.py`'s `start_server` on
the test database), as an attacker on the same machine would reach it: from loopback,
with an `X-Forwarded-For` of their choosing. What is recorded is read back from the
database: the login history's `login_attempt.ip`, which the per-IP sign-in limit counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from portal.cli import proxy_options
from portal.settings import load
from portal.tables import AuditEvent, LoginAttempt
from tests import factories
from tests.browser import harness
from tests.web import csrf_from, sign_in

# Start-up of an app process on a loaded two-core machine can take a while.
START_TIMEOUT = 120.0
GARBAGE = "<img src=x onerror=alert(1)>"
LOCKED = "Too many unsuccessful attempts"
BASE_URL = "http://testserver.local"  # the test settings' public_url


@asynccontextmanager
async def portal_run(settings, root, **env: str) -> AsyncIterator[harness.LiveServer]:
    """`portal run` (one worker) on the test database, with these PORTAL_* settings."""
    server = await asyncio.to_thread(
        harness.start_server,
        root=str(root),
        database_url=settings.database.url,
        secret_key=settings.security.secret_key,
        timeout=START_TIMEOUT,
        env=env,
        workers=1,
    )
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        print(f"--- {server.base_url} ---\n{server.log()}")  # shown when the test fails


async def wrong_sign_in(browser: httpx.AsyncClient, username: str, forwarded: str) -> str:
    """A failed sign-in claiming to come from `forwarded`; the address it was recorded with."""
    page = await browser.get("/login")
    r = await browser.post(
        "/login",
        data={
            "username": username,
            "password": "wrong-password",
            "_csrf_token": csrf_from(page.text),
        },
        headers={"X-Forwarded-For": forwarded},
    )
    assert r.status_code == 422, r.text
    row = (
        await LoginAttempt.select(LoginAttempt.ip)
        .where(LoginAttempt.username == username)
        .order_by(LoginAttempt.id, ascending=False)
        .first()
    )
    return row["ip"]


async def stored_addresses() -> set[str]:
    ips = {r["ip"] for r in await LoginAttempt.select(LoginAttempt.ip)}
    return ips | {r["ip"] for r in await AuditEvent.select(AuditEvent.ip)}


async def test_no_proxy_trusted_the_header_is_ignored_and_the_ip_limit_holds(settings, tmp_path):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    async with (
        portal_run(settings, tmp_path, PORTAL_SECURITY_MAX_FAILURES_PER_IP="5") as server,
        httpx.AsyncClient(base_url=server.base_url) as attacker,
    ):
        # Recorded with the real peer address, whatever the header says.
        assert await wrong_sign_in(attacker, "mallory", "203.0.113.9") == "127.0.0.1"
        assert await wrong_sign_in(attacker, "mallory1", GARBAGE) == "127.0.0.1"
        # Ten rotated addresses are one address: counted together, so it is locked...
        for n in range(10):
            assert await wrong_sign_in(attacker, f"guess{n}", f"198.51.100.{n + 1}") == "127.0.0.1"
        # ... and naming yet another one does not sign it in.
        page = await attacker.get("/login")
        r = await attacker.post(
            "/login",
            data={"username": "alice", "password": factories.PASSWORD,
                  "_csrf_token": csrf_from(page.text)},
            headers={"X-Forwarded-For": "192.0.2.55"},
        )  # fmt: skip
        assert r.status_code == 422 and LOCKED in r.text
        assert "portal_session" not in attacker.cookies
    assert await stored_addresses() == {"127.0.0.1"}


async def test_a_trusted_proxy_is_believed_but_only_an_address_is_stored(settings, tmp_path):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    async with (
        portal_run(settings, tmp_path, PORTAL_SERVER_TRUSTED_PROXIES="127.0.0.1") as server,
        httpx.AsyncClient(base_url=server.base_url) as proxy,
    ):
        assert await wrong_sign_in(proxy, "mallory", "203.0.113.9") == "203.0.113.9"
        # A proxy appending to a client's own header: the address the proxy added counts.
        assert await wrong_sign_in(proxy, "mallory2", "10.9.9.9, 203.0.113.10") == "203.0.113.10"
        # Garbage the proxy passed on is no address: never stored as one.
        assert await wrong_sign_in(proxy, "mallory3", GARBAGE) == ""
        assert await wrong_sign_in(proxy, "mallory4", "999.1.1.1") == ""
    stored = await stored_addresses()
    assert stored == {"203.0.113.9", "203.0.113.10", ""}, stored
    assert not any("<" in ip for ip in stored)


async def test_an_address_that_is_no_ip_is_never_stored_whatever_the_server(app):
    """Whatever put it there (a server believing any header), `client_ip` stores only IPs."""
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    for peer, stored in ((GARBAGE, ""), ("::ffff:203.0.113.9", "203.0.113.9"), ("2001:DB8::1", "2001:db8::1")):  # fmt: skip
        transport = httpx.ASGITransport(app=app, client=(peer, 1234))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
            r = await sign_in(browser, "alice", "wrong-password")
            assert r.status_code == 422
        [row] = (
            await LoginAttempt.select(LoginAttempt.ip)
            .order_by(LoginAttempt.id, ascending=False)
            .limit(1)
        )
        assert row["ip"] == stored, peer


def test_forwarded_headers_are_off_unless_a_proxy_is_named(tmp_path):
    base = {"PORTAL_ROOT": str(tmp_path)}
    assert proxy_options(load(environ=base)) == {"proxy_headers": False, "forwarded_allow_ips": []}
    named = load(environ={**base, "PORTAL_SERVER_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert proxy_options(named) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["127.0.0.1", "10.0.0.0/8"],
    }
