"""Two-factor sign-in end to end over HTTP, with codes from the test's own RFC 6238."""

from __future__ import annotations

import re
import time

from portal.practice import info as practice_info
from portal.tables import AuditEvent, LoginAttempt, RecoveryCode, Session, User
from tests import factories
from tests.conftest import client_for
from tests.totp import secret_from_page, totp
from tests.web import csrf_from, post_form, sign_in, signed_in


async def enable_two_factor(http) -> tuple[str, list[str]]:
    """Set up two-factor for the signed-in user; returns the secret and recovery codes.

    Enables with the previous step's code (accepted), so the current step's code
    is still unused for the sign-in that follows.
    """
    page = await http.get("/profile/two-factor")
    assert page.status_code == 200
    secret = secret_from_page(page.text)
    assert "<svg" in page.text  # the QR code, inline
    r = await http.post(
        "/profile/two-factor/enable",
        data={"code": totp(secret, time.time() - 30), "_csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 200, r.text
    import re

    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", r.text)
    assert len(codes) == 10
    return secret, codes


async def send_code(http, code: str, **extra):
    """The code step of signing in, posted as its page posts it."""
    return await post_form(
        http, "/login/two-factor", {"code": code, **extra}, page="/login/two-factor"
    )


async def test_enable_sign_out_and_sign_in_with_a_code(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, codes = await enable_two_factor(http)
    # Recovery codes are stored hashed, never as given.
    stored = [r["code_hash"] for r in await RecoveryCode.select(RecoveryCode.code_hash)]
    assert len(stored) == 10 and not set(codes) & set(stored)
    await post_form(http, "/logout", page="/profile")

    # A fresh browser: password, then the code step.
    async with client_for(app) as fresh:
        r = await sign_in(fresh, "alice")
        assert r.headers["location"] == "/login/two-factor"
        # The half-signed-in session opens nothing else.
        assert (await fresh.get("/")).status_code == 303
        page = await fresh.get("/login/two-factor")
        assert page.status_code == 200 and "authenticator app" in page.text
        r = await fresh.post(
            "/login/two-factor", data={"code": totp(secret), "_csrf_token": csrf_from(page.text)}
        )
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert (await fresh.get("/")).status_code == 200
    outcomes = [
        a["outcome"]
        for a in await LoginAttempt.select(LoginAttempt.outcome)
        .where(LoginAttempt.user == c["user_id"])
        .order_by(LoginAttempt.id)
    ]
    assert outcomes == ["success", "code_requested", "success"]


async def test_replayed_code_is_refused_logged_and_explained(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, _ = await enable_two_factor(http)
    code = totp(secret)
    async with signed_in(app, "alice") as first:
        r = await send_code(first, code)
        assert r.status_code == 303
    async with signed_in(app, "alice") as second:
        r = await send_code(second, code)
        assert r.status_code == 422
        assert "already used" in r.text
        assert (await second.get("/")).status_code == 303
    assert (
        await LoginAttempt.count().where(
            LoginAttempt.user == c["user_id"], LoginAttempt.outcome == "replayed_code"
        )
        == 1
    )
    assert await AuditEvent.count().where(AuditEvent.action == "two_factor.replayed_code") == 1


async def test_recovery_code_works_once(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    _, codes = await enable_two_factor(http)
    async with signed_in(app, "alice") as b:
        r = await send_code(b, codes[3].upper())
        assert r.status_code == 303
    async with signed_in(app, "alice") as b:
        r = await send_code(b, codes[3])
        assert r.status_code == 422 and "not right" in r.text
    assert await RecoveryCode.count().where(RecoveryCode.used_at.is_not_null()) == 1


async def test_wrong_codes_are_throttled(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, _ = await enable_two_factor(http)
    async with signed_in(app, "alice") as b:
        for _ in range(5):
            r = await send_code(b, "000000")
            assert r.status_code == 422
        r = await send_code(b, totp(secret))
        assert r.status_code == 422 and "Too many wrong codes" in r.text
        # The pending session is gone: the right code cannot be tried again on it.
        assert await Session.count().where(Session.pending_two_factor.eq(True)) == 0


async def test_remember_this_device_skips_the_code_on_that_device_only(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, _ = await enable_two_factor(http)
    async with signed_in(app, "alice") as phone:
        r = await send_code(phone, totp(secret), remember="yes")
        assert r.status_code == 303
        await post_form(phone, "/logout")
        r = await sign_in(phone, "alice")
        assert r.headers["location"] == "/"  # remembered: no code
    async with client_for(app) as other:
        r = await sign_in(other, "alice")
        assert r.headers["location"] == "/login/two-factor"


async def test_disabling_needs_password_and_code(http):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, _ = await enable_two_factor(http)
    r = await post_form(
        http,
        "/profile/two-factor/disable",
        {"password": "wrong", "code": "123456"},
        page="/profile/two-factor",
    )
    assert r.status_code == 422
    assert "password is not right" in r.text
    assert (await User.select(User.totp_enabled_at).where(User.id == c["user_id"]).first())[
        "totp_enabled_at"
    ] is not None
    r = await post_form(
        http,
        "/profile/two-factor/disable",
        {"password": factories.PASSWORD, "code": totp(secret)},
        page="/profile/two-factor",
    )
    assert r.status_code == 303
    row = (
        await User.select(User.totp_enabled_at, User.totp_secret)
        .where(User.id == c["user_id"])
        .first()
    )
    assert row["totp_enabled_at"] is None and row["totp_secret"] == ""
    assert await RecoveryCode.count() == 0


async def test_secret_is_stored_encrypted(http):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, _ = await enable_two_factor(http)
    row = await User.select(User.totp_secret).where(User.id == c["user_id"]).first()
    assert row["totp_secret"] and secret not in row["totp_secret"]


async def test_practice_policy_sends_staff_to_setup_first(http, app):
    await factories.practice(two_factor_policy="staff")
    await factories.staff("owner")
    r = await sign_in(http, "owner")
    assert r.headers["location"] == "/profile/two-factor"
    # Nothing else opens until it is set up; htmx requests are redirected whole.
    r = await http.get("/staff")
    assert r.status_code == 303 and r.headers["location"] == "/profile/two-factor"
    r = await http.get("/staff", headers={"HX-Request": "true"})
    assert r.headers["hx-redirect"] == "/profile/two-factor"
    page = await http.get("/profile/two-factor")
    assert "requires two-factor" in page.text
    await enable_two_factor(http)
    assert (await http.get("/staff")).status_code == 200
    # And it cannot be turned off while the policy requires it.
    page = await http.get("/profile/two-factor")
    assert "cannot be turned off" in page.text


async def test_policy_everyone_includes_clients_and_nobody_includes_none(http):
    p = await factories.practice(two_factor_policy="everyone")
    await factories.client(p, "alice")
    r = await sign_in(http, "alice")
    assert r.headers["location"] == "/profile/two-factor"
    await post_form(http, "/logout", page="/profile/two-factor")
    from portal.tables import Practice

    await Practice.update({Practice.two_factor_policy: "nobody"}).where(Practice.id == p)
    practice_info.changed()  # as the settings page will: the running app reads it anew
    r = await sign_in(http, "alice")
    assert r.headers["location"] == "/"


async def test_wrong_setup_code_is_explained_and_nothing_enabled(http):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    page = await http.get("/profile/two-factor")
    r = await http.post(
        "/profile/two-factor/enable", data={"code": "000000", "_csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 422 and "does not match" in r.text
    # The same secret is offered again, so the app set up already still works.
    assert secret_from_page(r.text) == secret_from_page(page.text)
    row = await User.select(User.totp_enabled_at).where(User.id == c["user_id"]).first()
    assert row["totp_enabled_at"] is None


async def test_the_setup_page_offers_the_phone_a_link_to_its_authenticator_app(http):
    """On a phone the QR code is on the screen of the app that should scan it: a link with
    the same otpauth:// address opens the app instead."""
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    page = (await http.get("/profile/two-factor")).text
    link = re.search(r'<a class="button" href="(otpauth://totp/[^"]+)">Add the account', page)
    assert link, "no otpauth link"
    uri = urlsplit(unescape(link.group(1)))
    secret = secret_from_page(page)
    assert parse_qs(uri.query)["secret"] == [secret]
    assert parse_qs(uri.query)["issuer"] == ["Harbor Counseling"]
