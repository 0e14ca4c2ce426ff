"""Signing in and out over HTTP: what a user (or a guesser) sees."""

from __future__ import annotations

from portal.tables import AuditEvent, LoginAttempt, Session
from tests import factories
from tests.web import csrf_token, post_form, sign_in


async def test_client_signs_in_sees_greeting_and_signs_out(http):
    p = await factories.practice(name="Harbor Counseling")
    await factories.client(p, "alice", first_name="Alice")

    r = await sign_in(http, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/"

    page = await http.get("/")
    assert page.status_code == 200
    assert "Welcome, Alice" in page.text
    assert "Harbor Counseling" in page.text

    r = await post_form(http, "/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = await http.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_username_is_case_insensitive_and_trimmed(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    r = await sign_in(http, "  ALICE ")
    assert r.status_code == 303


async def test_staff_land_on_staff_home_and_clients_cannot_enter_it(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.staff("owner")
    await factories.client(p, "alice")

    r = await sign_in(http, "owner")
    assert r.headers["location"] == "/staff"
    home = await http.get("/staff")
    assert home.status_code == 200 and "Staff home" in home.text
    # The client dashboard sends staff to their own home.
    assert (await http.get("/")).headers["location"] == "/staff"

    await post_form(http, "/logout", page="/staff")
    await sign_in(http, "alice")
    r = await http.get("/staff")
    assert r.status_code == 403
    assert "for practice staff" in r.text
    assert r.headers["content-type"].startswith("text/html")


async def test_wrong_password_and_unknown_user_get_the_same_answer(http):
    p = await factories.practice()
    await factories.client(p, "alice")

    wrong = await sign_in(http, "alice", "not the password")
    unknown = await sign_in(http, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 422
    strip = lambda html: html.replace("alice", "").replace("nobody", "")  # noqa: E731
    assert strip(wrong.text).split("<main")[1] == strip(unknown.text).split("<main")[1]
    assert "do not match" in wrong.text
    # The username typed is kept; the password never comes back.
    assert 'value="alice"' in wrong.text
    assert "not the password" not in wrong.text

    outcomes = await LoginAttempt.select(LoginAttempt.username, LoginAttempt.outcome)
    assert {(o["username"], o["outcome"]) for o in outcomes} == {
        ("alice", "wrong_password"),
        ("nobody", "unknown_user"),
    }


async def test_inactive_account_cannot_sign_in(http):
    from portal.tables import User

    p = await factories.practice()
    c = await factories.client(p, "alice")
    await User.update({User.active: False}).where(User.id == c["user_id"])
    r = await sign_in(http, "alice")
    assert r.status_code == 422 and "do not match" in r.text


async def test_missing_fields_are_explained_and_input_kept(http):
    await factories.practice()
    token = await csrf_token(http)
    r = await http.post("/login", data={"username": "alice", "_csrf_token": token})
    assert r.status_code == 422
    assert "Enter your password." in r.text
    assert 'value="alice"' in r.text


async def test_next_parameter_is_followed_only_within_the_site(http):
    p = await factories.practice()
    await factories.client(p, "alice")
    r = await sign_in(http, "alice", next="//evil.example/phish")
    assert r.headers["location"] == "/"
    await post_form(http, "/logout")
    r = await sign_in(http, "alice", next="https://evil.example/")
    assert r.headers["location"] == "/"


async def test_signed_out_request_is_sent_to_login_with_its_destination(http):
    r = await http.get("/staff")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/staff"


async def test_expired_session_on_htmx_request_redirects_the_whole_page(http):
    r = await http.get(
        "/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/"},
    )
    # A 3xx would be followed by fetch and its login page swapped into a widget:
    # htmx gets an HX-Redirect it acts on instead.
    assert r.status_code == 401
    assert r.headers["hx-redirect"] == "/login?next=/"
    assert r.text == ""


async def test_sign_in_and_out_are_audited_and_sessions_stored_hashed(http):
    p = await factories.practice()
    c = await factories.client(p, "alice")
    await sign_in(http, "alice")
    token = http.cookies.get("portal_session")
    rows = await Session.select(Session.token_hash)
    assert len(rows) == 1 and token not in rows[0]["token_hash"]
    await post_form(http, "/logout")
    assert await Session.count() == 0
    actions = (
        await AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.actor == c["user_id"])
        .order_by(AuditEvent.id)
    )
    assert [a["action"] for a in actions] == ["device.new", "session.start", "session.end"]


async def test_healthz_checks_the_database(http):
    r = await http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}
