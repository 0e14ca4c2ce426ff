"""Abusing the account pages as an attacker did: floods of sign-ins and reset requests,
guessing inside a stolen session, probing usernames, locking the owner out, and a logout
whose cookie deletion the browser ignores. Each test asserts what the attacker or the
user sees: answers, mails, rows."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie

import httpx
import msgspec
import pytest

from portal.accounts import password_reset, rechecks
from portal.app import create_app
from portal.core.actor import Actor
from portal.core.diagnostics import count_queries
from portal.tables import AuditEvent, OutboxMail, PasswordReset, Session, User
from tests import factories
from tests.conftest import client_for
from tests.http.test_two_factor import enable_two_factor
from tests.totp import totp
from tests.unit.test_mail import smtp, worker_for  # noqa: F401 - the real SMTP server fixture
from tests.web import csrf_from, mails, post_form, sign_in

RESET_PAGE = "/password-reset"


@asynccontextmanager
async def browser_at(app, ip: str):
    """Another browser on the app, from another IP address."""
    transport = httpx.ASGITransport(app=app, client=(ip, 50001))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local", follow_redirects=False
    ) as client:
        yield client


def set_cookies(response) -> dict[str, dict]:
    """Each Set-Cookie of a response: name -> its attributes (lower-case keys), value."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            attrs = {k: v for k, v in morsel.items() if v}
            flags = header.lower()
            attrs["secure"] = "; secure" in flags
            attrs["httponly"] = "; httponly" in flags
            found[name] = {"value": morsel.value, **attrs}
    return found


# --- 1. Password hashing off the event loop ---------------------------------------------------


class WatchedHasher:
    """The real argon2 hasher, noting when each verification ends and on which thread."""

    def __init__(self, real, events: list[str]) -> None:
        self.real, self.events = real, events

    def verify(self, password_hash, password):  # noqa: ANN001, ANN201
        try:
            return self.real.verify(password_hash, password)
        finally:
            on_loop = threading.current_thread() is threading.main_thread()
            self.events.append("verified on the loop" if on_loop else "verified")

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.real, name)


async def test_healthz_answers_while_wrong_sign_ins_are_being_checked(http, monkeypatch):
    """Twenty wrong sign-ins at once: /healthz, asked once they are all under way, is
    answered before most of their argon2 verifications are done, because those run in
    the hashing threads. On the event loop, it waited for every one of them."""
    from portal.accounts import passwords

    events: list[str] = []
    monkeypatch.setattr(passwords, "_hasher", WatchedHasher(passwords._hasher, events))
    token = csrf_from((await http.get("/login")).text)

    async def wrong_sign_in(n: int) -> None:
        r = await http.post(
            "/login",
            data={"username": f"guess{n}", "password": "wrong guess", "_csrf_token": token},
        )
        assert r.status_code == 422

    sign_ins = [asyncio.create_task(wrong_sign_in(n)) for n in range(20)]
    for _ in range(20):  # every sign-in takes its first steps
        await asyncio.sleep(0)
    r = await http.get("/healthz")
    events.append("healthz")
    assert r.status_code == 200
    await asyncio.gather(*sign_ins)
    assert events.count("verified") == 20, events  # each in a hashing thread
    assert events.index("healthz") < len(sign_ins) // 2, events


# --- 2. Password reset abuse ------------------------------------------------------------------


async def _ask_reset(client, identifier: str):
    page = await client.get(RESET_PAGE)
    return await client.post(
        RESET_PAGE, data={"identifier": identifier, "_csrf_token": csrf_from(page.text)}
    )


def _links(rows: list[dict]) -> list[str]:
    return [re.search(r"(/password-reset/[A-Za-z0-9_\-]+)", m["body"]).group(1) for m in rows]


async def test_a_flood_of_reset_requests_mails_each_account_at_most_three_links(app):
    p = await factories.practice(two_factor_policy="nobody")
    for name in ("alice", "bob", "carol"):
        await factories.client(p, name)
    # 30 requests, each from its own address so only the per-account limit applies.
    for n in range(30):
        async with browser_at(app, f"198.51.100.{n + 1}") as b:
            name = ("alice", "bob", "carol")[n % 3]
            identifier = name if n % 2 else f"{name.upper()}@mail.example"
            r = await _ask_reset(b, identifier)
            assert r.status_code == 200 and "If an account matches" in r.text
    sent = await mails("password_reset")
    per_account = {m["to_address"]: 0 for m in sent}
    for m in sent:
        per_account[m["to_address"]] += 1
    assert per_account == {
        "alice@mail.example": password_reset.MAX_PER_ACCOUNT,
        "bob@mail.example": password_reset.MAX_PER_ACCOUNT,
        "carol@mail.example": password_reset.MAX_PER_ACCOUNT,
    }
    # One live link per account: the newest.
    live = await PasswordReset.count().where(PasswordReset.used_at.is_null())
    assert live == 3


async def test_one_address_gets_its_share_of_requests_then_only_the_answer(app):
    p = await factories.practice(two_factor_policy="nobody")
    names = [f"client{n}" for n in range(15)]
    for name in names:
        await factories.client(p, name)
    async with browser_at(app, "192.0.2.50") as b:
        answers = {(await _ask_reset(b, name)).text for name in names}
    assert len(answers) == 1  # the same answer to every request
    assert len(await mails("password_reset")) == password_reset.MAX_PER_IP
    # Another address is not held by this one's limit.
    async with browser_at(app, "192.0.2.51") as other:
        await _ask_reset(other, "client14")
    assert len(await mails("password_reset")) == password_reset.MAX_PER_IP + 1


async def test_only_the_newest_reset_link_works(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    for _ in range(3):
        await _ask_reset(http, "alice")
    first, second, newest = _links(await mails("password_reset"))
    for old in (first, second):
        assert (await http.get(old)).status_code == 410
        r = await post_form(
            http, old, {"password": "a fresh passphrase", "password_again": "a fresh passphrase"},
            page=RESET_PAGE,
        )  # fmt: skip
        assert r.status_code == 410
    assert (await http.get(newest)).status_code == 200
    r = await post_form(
        http, newest, {"password": "a fresh passphrase", "password_again": "a fresh passphrase"},
        page=RESET_PAGE,
    )  # fmt: skip
    assert r.status_code == 303
    assert (await sign_in(http, "alice", "a fresh passphrase")).status_code == 303


async def test_a_sent_reset_mail_leaves_no_live_link_in_the_outbox(http, smtp, tmp_path):  # noqa: F811
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await factories.client(p, "bob")
    await _ask_reset(http, "alice")
    await _ask_reset(http, "bob@mail.example")
    assert (await worker_for(smtp, tmp_path).run_once()).sent == 2
    received = [m.get_payload(decode=True).decode() for m in smtp.messages]
    tokens = [re.search(r"/password-reset/([A-Za-z0-9_\-]+)", body).group(1) for body in received]
    assert len(tokens) == 2
    outbox = str(await OutboxMail.select())
    for token in tokens:
        assert token not in outbox
        # The mail that arrived still works.
        assert (await http.get(f"/password-reset/{token}")).status_code == 200
    bodies = [row["body"] for row in await OutboxMail.select(OutboxMail.body)]
    assert all("/password-reset/[redacted]" in body for body in bodies)


async def test_reset_answers_are_the_same_for_known_and_unknown_accounts(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    known = await _ask_reset(http, "alice")
    unknown = await _ask_reset(http, "mallory")
    known_email = await _ask_reset(http, "alice@mail.example")
    unknown_email = await _ask_reset(http, "mallory@mail.example")
    answers = [known, unknown, known_email, unknown_email]
    assert {r.status_code for r in answers} == {200}
    assert len({r.text for r in answers}) == 1
    assert len({tuple(sorted(set(r.headers) - {"date"})) for r in answers}) == 1
    # And the same work before the answer: the very same queries, for any identifier.
    actor = Actor(None, "anonymous", "192.0.2.9", "http://testserver.local", None)
    engine = User._meta.db
    seen = []
    for identifier in ("alice", "mallory", "alice@mail.example", "mallory@mail.example"):
        with count_queries(engine) as queries:
            await password_reset.request(identifier, actor)
        seen.append(queries)
    # (Values aside: the time of day differs from one request to the next.)
    shapes = [[re.sub(r"'[^']*'|\b\d+\b", "?", q) for q in queries] for queries in seen]
    assert all(shape == shapes[0] for shape in shapes), shapes
    assert not any("portal_user" in q or "outbox_mail" in q for q in shapes[0])


# --- 3. and 4. Re-checks inside a session -----------------------------------------------------


WRONG = "not my password"


async def _wrong_username_change(http, password: str = WRONG, **kw):
    return await post_form(
        http,
        "/profile/username",
        {"username": "alice2", "current_password": password},
        page="/profile",
        **kw,
    )


async def test_wrong_passwords_on_username_change_end_the_session(http):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    for _ in range(rechecks.MAX_FAILURES - 1):
        r = await _wrong_username_change(http)
        assert r.status_code == 422 and "current password is not right" in r.text
    r = await _wrong_username_change(http)
    assert r.status_code == 303 and r.headers["location"] == "/login?ended=rechecks"
    assert set_cookies(r)["portal_session"]["max-age"] == "0"
    # The session is over: the right password now gets nowhere.
    r = await _wrong_username_change(http, factories.PASSWORD)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    row = await User.select(User.username).where(User.id == c["user_id"]).first()
    assert row["username"] == "alice"
    assert await Session.count() == 0
    page = await http.get("/login?ended=rechecks")
    assert "signed out because the current password or a code was entered wrongly" in page.text
    failures = await AuditEvent.count().where(
        AuditEvent.action == rechecks.FAILED, AuditEvent.actor == c["user_id"]
    )
    assert failures == rechecks.MAX_FAILURES
    # A real sign-in starts afresh, and the right password is accepted again.
    await sign_in(http, "alice")
    r = await post_form(
        http,
        "/profile/username",
        {"username": "alice2", "current_password": factories.PASSWORD},
        page="/profile",
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/profile/username-password?done=username"


async def test_wrong_codes_on_new_recovery_codes_end_the_session(http):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, _ = await enable_two_factor(http)
    wrong = totp(secret, time.time() + 3600)  # an hour ahead: never accepted now
    for _ in range(rechecks.MAX_FAILURES - 1):
        r = await post_form(
            http, "/profile/two-factor/recovery-codes", {"code": wrong}, page="/profile/two-factor"
        )
        assert r.status_code == 422 and "current 6-digit code" in r.text
    # With htmx, as the page posts it: the whole page goes to the sign-in page.
    r = await post_form(
        http,
        "/profile/two-factor/recovery-codes",
        {"code": wrong},
        page="/profile/two-factor",
        htmx=True,
    )
    assert r.headers["hx-redirect"] == "/login?ended=rechecks"
    assert set_cookies(r)["portal_session"]["max-age"] == "0"
    r = await post_form(
        http, "/profile/two-factor/recovery-codes", {"code": totp(secret)}, page="/login"
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert await Session.count().where(Session.user == c["user_id"]) == 0
    assert (
        await AuditEvent.count().where(
            AuditEvent.action == rechecks.FAILED, AuditEvent.actor == c["user_id"]
        )
        == rechecks.MAX_FAILURES
    )


async def test_password_change_and_two_factor_off_count_towards_the_same_limit(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, _ = await enable_two_factor(http)
    wrong_code = totp(secret, time.time() + 3600)
    posts = [
        ("/profile/password", {"current_password": "guess 1", "new_password": "a new passphrase",
                               "new_password_again": "a new passphrase"}, "/profile"),
        ("/profile/two-factor/disable", {"password": "guess 2", "code": wrong_code},
         "/profile/two-factor"),
        ("/profile/two-factor/disable", {"password": factories.PASSWORD, "code": wrong_code},
         "/profile/two-factor"),
        ("/profile/username", {"username": "alice2", "current_password": "guess 3"}, "/profile"),
    ]  # fmt: skip
    for path, data, page in posts:
        assert (await post_form(http, path, data, page=page)).status_code == 422
    r = await post_form(
        http, "/profile/two-factor/disable", {"password": "guess 4", "code": totp(secret)},
        page="/profile/two-factor",
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/login?ended=rechecks"
    assert await User.count().where(User.totp_enabled_at.is_not_null()) == 1


async def test_a_taken_username_is_not_told_before_the_password_is_right(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await factories.client(p, "bob")
    await sign_in(http, "alice")
    taken = await post_form(
        http, "/profile/username", {"username": "bob", "current_password": "a guess"},
        page="/profile",
    )  # fmt: skip
    free = await post_form(
        http, "/profile/username", {"username": "nobody-has-it", "current_password": "a guess"},
        page="/profile",
    )  # fmt: skip
    assert taken.status_code == free.status_code == 422
    assert "taken" not in taken.text
    assert "current password is not right" in taken.text

    def as_read(r, typed: str) -> str:
        return r.text.replace(csrf_from(r.text), "").replace(f'value="{typed}"', "")

    assert as_read(taken, "bob") == as_read(free, "nobody-has-it")
    # With the right password, the same name is refused as taken.
    r = await post_form(
        http, "/profile/username", {"username": "bob", "current_password": factories.PASSWORD},
        page="/profile",
    )  # fmt: skip
    assert r.status_code == 422 and "taken" in r.text


# --- 5. Locking the owner out on purpose -------------------------------------------------------


async def test_the_owners_known_browser_signs_in_through_the_account_lock(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    assert (await sign_in(http, "alice")).status_code == 303  # the owner's own browser
    await post_form(http, "/logout")
    assert http.cookies.get("portal_device")
    async with browser_at(app, "192.0.2.66") as attacker:
        for _ in range(5):
            r = await sign_in(attacker, "alice", "a wrong guess")
            assert r.status_code == 422
        r = await sign_in(attacker, "alice")
        assert "Too many unsuccessful attempts" in r.text  # locked for new browsers
    async with client_for(app) as new_browser:  # the owner, on a browser without the cookie
        r = await sign_in(new_browser, "alice")
        assert r.status_code == 422 and "Too many unsuccessful attempts" in r.text
    r = await sign_in(http, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert (await http.get("/")).status_code == 200


async def test_a_known_browser_is_still_held_by_its_addresss_limit(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    await post_form(http, "/logout")
    for n in range(20):  # from the owner's own address
        await sign_in(http, f"guess{n}", "a wrong guess")
    r = await sign_in(http, "alice")
    assert r.status_code == 422 and "Too many unsuccessful attempts" in r.text


# --- 6. Cookie deletion under HTTPS ------------------------------------------------------------


async def test_logout_under_https_deletes_the_host_cookie_as_it_was_set(settings):
    secure = msgspec.structs.replace(
        settings,
        server=msgspec.structs.replace(settings.server, public_url="https://portal.example"),
    )
    app = create_app(secure)
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    async with client_for(app, "https://portal.example") as http:
        set_at_sign_in = set_cookies(await sign_in(http, "alice"))["__Host-portal_session"]
        r = await post_form(http, "/logout")
        assert r.status_code == 303
        deleted = set_cookies(r)["__Host-portal_session"]
        assert deleted["value"] == "" and deleted["max-age"] == "0"
        for attribute in ("secure", "httponly", "path", "samesite"):
            assert deleted[attribute] == set_at_sign_in[attribute], attribute
        assert deleted["secure"] is True and deleted["path"] == "/"
        assert "domain" not in deleted


@pytest.mark.parametrize("https", [False, True])
async def test_every_session_cookie_deletion_carries_the_cookies_attributes(settings, https):
    """The ended two-factor step and the re-check sign-out delete it the same way."""
    url = "https://portal.example" if https else "http://testserver.local"
    app = create_app(
        msgspec.structs.replace(
            settings, server=msgspec.structs.replace(settings.server, public_url=url)
        )
    )
    name = "__Host-portal_session" if https else "portal_session"
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    async with client_for(app, url) as http:
        await sign_in(http, "alice")
        for _ in range(rechecks.MAX_FAILURES):
            r = await _wrong_username_change(http)
        deleted = set_cookies(r)[name]
        assert deleted["max-age"] == "0" and deleted["path"] == "/"
        assert deleted["secure"] is https and deleted["httponly"] is True
