"""My Profile's security half: devices, username, password, history, sessions, reset."""

from __future__ import annotations

import re
from datetime import timedelta

from portal.accounts.passwords import verify_password
from portal.core.clock import utcnow
from portal.tables import AuditEvent, Device, PasswordReset, Session, User
from tests import factories
from tests.conftest import client_for
from tests.web import csrf_from, mails, post_form, sign_in, signed_in

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
)


async def test_new_device_mail_once_per_device(http, app):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice")
    http.headers["user-agent"] = CHROME_ANDROID
    await sign_in(http, "alice")
    [mail] = await mails("new_device")
    assert mail["to_address"] == "alice@mail.example"
    assert "New sign-in" in mail["subject"]
    assert "Chrome on Android" in mail["body"]
    await post_form(http, "/logout")
    await sign_in(http, "alice")  # same browser, device cookie known
    assert len(await mails("new_device")) == 1
    async with signed_in(app, "alice"):
        pass  # another browser
    assert len(await mails("new_device")) == 2
    assert await Device.count() == 2


async def test_change_username_needs_the_password_and_a_free_name(http):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await factories.client(p, "bob")
    await sign_in(http, "alice")
    r = await post_form(
        http,
        "/profile/username",
        {"username": "bob", "current_password": factories.PASSWORD},
        page="/profile/username-password",
    )
    assert r.status_code == 422 and "taken" in r.text
    assert 'value="bob"' in r.text  # what was typed is kept
    r = await post_form(
        http,
        "/profile/username",
        {"username": "alice2", "current_password": "nope"},
        page="/profile/username-password",
    )
    assert r.status_code == 422 and "current password is not right" in r.text
    # With htmx: the card alone comes back.
    r = await post_form(
        http,
        "/profile/username",
        {"username": "Alice.R", "current_password": factories.PASSWORD},
        page="/profile/username-password",
        htmx=True,
        token_header=False,
    )
    assert r.status_code == 200 and "<html" not in r.text
    assert "alice.r" in r.text and "Your username was changed" in r.text
    assert (await User.select(User.username).where(User.id == c["user_id"]).first())[
        "username"
    ] == "alice.r"
    event = await AuditEvent.select().where(AuditEvent.action == "account.username_changed").first()
    detail = (
        event["detail"]
        if isinstance(event["detail"], dict)
        else __import__("json").loads(event["detail"])
    )
    assert detail == {"old": "alice", "new": "alice.r"}


async def test_change_password_rules_and_effects(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    async with signed_in(app, "alice") as laptop:
        await sign_in(http, "alice")
        assert await Session.count() == 2

        async def change(new, again=None, current=factories.PASSWORD):
            return await post_form(
                http,
                "/profile/password",
                {
                    "current_password": current,
                    "new_password": new,
                    "new_password_again": again or new,
                },
                page="/profile/username-password",
            )

        r = await change("short")
        assert r.status_code == 422 and "at least 8" in r.text
        r = await change("x" * 129)
        assert r.status_code == 422 and "at most 128" in r.text
        r = await change("password123")
        assert r.status_code == 422 and "most common" in r.text
        r = await change("a brand new passphrase", "a different one")
        assert r.status_code == 422 and "not the same" in r.text
        r = await change("a brand new passphrase", current="wrong")
        assert r.status_code == 422 and "current password is not right" in r.text
        r = await change("ünïcödé and spaces ✓ ok")
        assert r.status_code == 303
        assert r.headers["location"] == "/profile/username-password?done=password"
        page = await http.get(r.headers["location"])
        assert page.status_code == 200 and "Every other device was signed out." in page.text
        # An old link to the one-page profile's notice goes on to the section's page.
        r = await http.get("/profile?done=password")
        assert r.status_code == 303
        assert r.headers["location"] == "/profile/username-password?done=password"
        row = await User.select(User.password_hash).where(User.id == c["user_id"]).first()
        assert verify_password(row["password_hash"], "ünïcödé and spaces ✓ ok")
        # This session lives; the laptop's ended; every device is forgotten.
        assert (await http.get("/profile")).status_code == 200
        assert (await laptop.get("/")).status_code == 303
        assert await Session.count() == 1
        assert await Device.count() == 0
        assert len(await mails("password_changed")) == 1


async def test_login_history_shows_the_last_attempts_in_the_practice_zone(http):
    p = await factories.practice(time_zone="Europe/Berlin", two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice", "wrong one")
    http.headers["user-agent"] = CHROME_ANDROID
    await sign_in(http, "alice")
    page = await http.get("/profile/login-history")
    assert page.status_code == 200
    assert "When (Berlin time)" in page.text  # the zone as people say it
    assert "Wrong password" in page.text and "Signed in" in page.text
    assert "Chrome on Android" in page.text and "203.0.113.7" in page.text


async def test_login_history_is_capped_at_50(http):
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    from portal.accounts import auth as accounts
    from portal.tables.accounts import LoginOutcome

    for _ in range(60):
        await accounts.record_attempt(
            c["user_id"], "alice", LoginOutcome.success, ip="198.51.100.1", user_agent=""
        )
    await sign_in(http, "alice")
    page = await http.get("/profile/login-history")
    assert page.text.count("<tr>") - 1 == 50


async def test_active_sessions_and_sign_out_of_the_others(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    async with signed_in(app, "alice") as laptop:
        await sign_in(http, "alice")
        page = await http.get("/profile/sessions")
        assert page.text.count("This device") == 1
        token = csrf_from(page.text)
        r = await http.post(
            "/profile/sessions/sign-out-others",
            data={"_csrf_token": token},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200 and "signed out of every other session" in r.text
        assert (await laptop.get("/")).status_code == 303
        assert (await http.get("/")).status_code == 200


async def test_password_reset_same_answer_single_use_and_expiry(http, app):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    token = csrf_from((await http.get("/password-reset")).text)
    known = await http.post("/password-reset", data={"identifier": "alice", "_csrf_token": token})
    unknown = await http.post(
        "/password-reset", data={"identifier": "mallory", "_csrf_token": token}
    )
    by_email = await http.post(
        "/password-reset", data={"identifier": "ALICE@mail.example", "_csrf_token": token}
    )
    assert known.status_code == unknown.status_code == by_email.status_code == 200
    assert known.text == unknown.text == by_email.text.replace("ALICE@mail.example", "alice")
    reset_mails = await mails("password_reset")
    assert len(reset_mails) == 2  # username and email both found alice; mallory nothing
    # The newer link ended the older one: an account has one live link.
    link = re.search(r"http://testserver.local(/password-reset/\S+)", reset_mails[1]["body"]).group(
        1
    )
    assert await PasswordReset.count() == 2
    raw_token = link.rsplit("/", 1)[1]
    assert raw_token not in str(await PasswordReset.select(PasswordReset.token_hash))

    page = await http.get(link)
    assert page.status_code == 200
    r = await http.post(
        link, data={"password": "123456789", "password_again": "123456789", "_csrf_token": token}
    )
    assert r.status_code == 422 and "most common" in r.text
    r = await http.post(
        link,
        data={
            "password": "new and long enough",
            "password_again": "new and long enough",
            "_csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/login?reset=done"
    assert (await sign_in(http, "alice", "new and long enough")).status_code == 303
    # Used once; the older link for the account had died already.
    assert (await http.get(link)).status_code == 410
    other = re.search(r"(/password-reset/\S+)", reset_mails[0]["body"]).group(1)
    assert (await http.get(other)).status_code == 410
    r = await http.post(
        other,
        data={
            "password": "another long one",
            "password_again": "another long one",
            "_csrf_token": token,
        },
    )
    assert r.status_code == 410
    assert (
        await AuditEvent.count().where(
            AuditEvent.action == "password.reset", AuditEvent.actor == c["user_id"]
        )
        == 1
    )


async def test_password_reset_link_expires_after_30_minutes(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await post_form(http, "/password-reset", {"identifier": "alice"}, page="/password-reset")
    [mail] = await mails("password_reset")
    link = re.search(r"(/password-reset/\S+)", mail["body"]).group(1)
    await PasswordReset.update({PasswordReset.expires_at: utcnow() - timedelta(seconds=1)}).where(
        PasswordReset.id.is_not_null()
    )
    assert (await http.get(link)).status_code == 410
    r = await post_form(
        http,
        link,
        {"password": "fine long password", "password_again": "fine long password"},
        page="/password-reset",
    )
    assert r.status_code == 410
    assert (await sign_in(http, "alice")).status_code == 303  # the old password still works


async def test_reset_does_not_bypass_two_factor(http, app):
    from tests.http.test_two_factor import enable_two_factor

    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    await enable_two_factor(http)
    async with client_for(app) as b:
        await post_form(b, "/password-reset", {"identifier": "alice"}, page="/password-reset")
        [mail] = await mails("password_reset")
        link = re.search(r"(/password-reset/\S+)", mail["body"]).group(1)
        r = await post_form(
            b,
            link,
            {"password": "fresh long password", "password_again": "fresh long password"},
            page="/password-reset",
        )
        assert r.status_code == 303
        # Every session ended, and the next sign-in still asks for the code.
        assert (await http.get("/")).status_code == 303
        r = await sign_in(b, "alice", "fresh long password")
        assert r.headers["location"] == "/login/two-factor"


async def test_audit_and_mail_never_hold_secrets(http):
    from tests.http.test_two_factor import enable_two_factor

    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    secret, codes = await enable_two_factor(http)
    await post_form(
        http,
        "/profile/password",
        {
            "current_password": factories.PASSWORD,
            "new_password": "another passphrase",
            "new_password_again": "another passphrase",
        },
        page="/profile/username-password",
    )
    everything = str(await AuditEvent.select()) + str(await mails())
    for secret_text in [factories.PASSWORD, "another passphrase", secret, *codes]:
        assert secret_text not in everything


async def test_reset_by_email_matches_exactly_never_as_a_pattern(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")  # alice@mail.example
    await factories.client(p, "bob")  # bob@mail.example
    for pattern in ("%@mail.example", "_lice@mail.example", "%"):
        await post_form(http, "/password-reset", {"identifier": pattern}, page="/password-reset")
    assert await mails("password_reset") == []
    await post_form(
        http, "/password-reset", {"identifier": "Bob@Mail.Example"}, page="/password-reset"
    )
    [mail] = await mails("password_reset")
    assert mail["to_address"] == "bob@mail.example"
