"""What an attacker would try: stolen or stale tokens, forged posts, guessing, framing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.app import create_app
from portal.core.clock import utcnow
from portal.tables import LoginAttempt, Session
from tests import factories
from tests.conftest import client_for
from tests.web import csrf_token, post_form, sign_in


async def test_session_cookie_flags_over_http(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    r = await sign_in(http, "alice")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("portal_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


async def test_https_deployment_uses_secure_host_prefixed_cookies_and_hsts(settings):
    import msgspec

    secure = msgspec.structs.replace(
        settings,
        server=msgspec.structs.replace(settings.server, public_url="https://portal.example"),
    )
    app = create_app(secure)
    p = await factories.practice()
    await factories.client(p, "alice")
    async with client_for(app, "https://portal.example") as http:
        login = await http.get("/login")
        assert "__Host-csrftoken=" in login.headers["set-cookie"]
        assert "Secure" in login.headers["set-cookie"]
        assert login.headers["strict-transport-security"].startswith("max-age=")
        r = await sign_in(http, "alice")
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-portal_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie


async def test_a_new_token_at_every_sign_in_and_the_old_one_dies(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    first = http.cookies["portal_session"]
    await sign_in(http, "alice")
    second = http.cookies["portal_session"]
    assert first != second
    # The first session ended when the second began in the same browser.
    http.cookies.set("portal_session", first)
    assert (await http.get("/")).status_code == 303


async def test_token_is_dead_after_sign_out(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    stolen = http.cookies["portal_session"]
    await post_form(http, "/logout")
    http.cookies.set("portal_session", stolen)
    r = await http.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    ("idle", "age", "alive"),
    [
        (timedelta(minutes=29), timedelta(minutes=29), True),
        (timedelta(minutes=31), timedelta(minutes=31), False),  # idle expiry
        (timedelta(minutes=1), timedelta(hours=12, minutes=1), False),  # absolute expiry
    ],
)
async def test_idle_and_absolute_expiry(http, idle, age, alive):
    p = await factories.practice()
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    now = utcnow()
    await Session.update({Session.last_seen_at: now - idle, Session.created_at: now - age}).where(
        Session.id.is_not_null()
    )
    r = await http.get("/")
    assert (r.status_code == 200) is alive
    assert await Session.count() == (1 if alive else 0)


async def test_post_without_csrf_token_is_refused(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    await http.get("/login")
    r = await http.post("/login", data={"username": "alice", "password": factories.PASSWORD})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert await Session.count() == 0
    await sign_in(http, "alice")
    r = await http.post("/logout")
    assert r.status_code == 403
    assert await Session.count() == 1


async def test_csrf_token_from_another_browser_is_refused(http, app):
    p = await factories.practice()
    await factories.client(p, "alice")
    async with client_for(app) as other:
        foreign = await csrf_token(other)
    await http.get("/login")
    r = await http.post(
        "/login",
        data={"username": "alice", "password": factories.PASSWORD, "_csrf_token": foreign},
    )
    assert r.status_code == 403


async def test_security_headers_on_pages_and_errors(http):
    for path in ("/login", "/no-such-page"):
        r = await http.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("text/html")
    assert "Page not found" in (await http.get("/no-such-page")).text


async def test_error_for_htmx_is_a_fragment_not_json(http):
    r = await http.get("/no-such-page", headers={"HX-Request": "true"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" not in r.text and "Page not found" in r.text


async def test_throttling_per_account_holds_even_with_the_right_password(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    for _ in range(5):
        r = await sign_in(http, "alice", "guess")
        assert "do not match" in r.text
    r = await sign_in(http, "alice")
    assert r.status_code == 422
    assert "Too many unsuccessful attempts" in r.text
    assert await Session.count() == 0
    # The lock is kept in the database: it holds for any process.
    outcomes = [o["outcome"] for o in await LoginAttempt.select(LoginAttempt.outcome)]
    assert outcomes.count("locked") == 1
    # After the window the right password works again.
    await LoginAttempt.update({LoginAttempt.at: utcnow() - timedelta(minutes=16)}).where(
        LoginAttempt.id.is_not_null()
    )
    assert (await sign_in(http, "alice")).status_code == 303


async def test_throttling_per_ip_across_usernames(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    for n in range(20):
        await sign_in(http, f"guess{n}", "guess")
    r = await sign_in(http, "alice")
    assert r.status_code == 422 and "Too many unsuccessful attempts" in r.text


async def test_static_files_are_fingerprinted_immutable_and_compressed(http, app):
    page = (await http.get("/login")).text
    import re

    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert any(u.endswith(".css") for u in urls) and any("htmx-4.0.1" in u for u in urls)
    for url in urls:
        plain = await http.get(url, headers={"accept-encoding": "identity"})
        assert plain.status_code == 200
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-encoding" not in plain.headers
        br = await http.get(url, headers={"accept-encoding": "gzip, br"})
        assert br.headers["content-encoding"] == "br"
        # httpx decodes the body itself; the wire size shows it was compressed.
        assert br.content == plain.content
        assert int(br.headers["content-length"]) < len(plain.content)
        gz = await http.get(url, headers={"accept-encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert gz.content == plain.content
        assert int(gz.headers["content-length"]) < len(plain.content)
        again = await http.get(url, headers={"if-none-match": plain.headers["etag"]})
        assert again.status_code == 304
    # A stale fingerprint is not served (it would be cached for a year).
    assert (await http.get("/static/app.000000000000.css")).status_code == 404


async def test_pages_are_compressed_when_the_browser_accepts_it(http):
    r = await http.get("/login", headers={"accept-encoding": "br"})
    assert r.headers.get("content-encoding") == "br"


def test_reset_tokens_are_redacted_from_access_logs(caplog):
    import logging

    from portal.core import redact

    redact.install()
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/password-reset/SeCrEtToKeN_123",
            "1.1",
            200,
        )
    assert "SeCrEtToKeN_123" not in caplog.text
    assert "/password-reset/[redacted]" in caplog.text


def test_registration_and_invitation_tokens_are_redacted_too():
    from portal.core.redact import redact

    assert (
        redact("GET /register/verify/AbC_123-x HTTP/1.1")
        == "GET /register/verify/[redacted] HTTP/1.1"
    )
    assert redact("GET /invitations/AbC_123-x") == "GET /invitations/[redacted]"
    # The invitation's step routes carry no secret in their path and stay readable.
    assert redact("POST /invitations/account") == "POST /invitations/account"
    assert redact("POST /invitations/date-of-birth") == "POST /invitations/date-of-birth"


def test_staff_client_searches_are_redacted_from_access_logs(caplog):
    import logging

    from portal.core import redact

    redact.install()
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        for path in ("/staff/clients?q=Quinn%2C+Robert&status=new",
                     "/staff/clients?status=active&q=03%2F14%2F1985&page=2",
                     "/staff/clients?q=617-555-0142&q=again"):  # fmt: skip
            logging.getLogger("uvicorn.access").info(
                '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200
            )
    for secret in ("Quinn", "Robert", "1985", "555", "again"):
        assert secret not in caplog.text
    assert "/staff/clients?q=[redacted]&status=new HTTP/1.1" in caplog.text
    assert "/staff/clients?status=active&q=[redacted]&page=2" in caplog.text
    assert "/staff/clients?q=[redacted]&q=[redacted] " in caplog.text


def test_search_redaction_keeps_everything_else():
    from portal.core.redact import redact

    assert redact("GET /staff/clients?status=new&page=2") == "GET /staff/clients?status=new&page=2"
    assert redact("GET /staff/clients?faq=1&q=x") == "GET /staff/clients?faq=1&q=[redacted]"
    assert redact("GET /staff/clients?%71=Alice") == "GET /staff/clients?%71=[redacted]"
    # Not a staff page: nothing there is a staff search (and the token rule still holds).
    assert redact("GET /help?q=fees") == "GET /help?q=fees"
    assert redact("GET /password-reset/AbC?q=1") == "GET /password-reset/[redacted]?q=1"
