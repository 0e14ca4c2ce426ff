"""Hostile values the fuzz test found (tests/security/test_fuzz.py), each kept as its own
plain test: never a 500, a clear message, nothing stored."""

from __future__ import annotations

from datetime import timedelta

from portal.core.clock import utcnow
from portal.tables import LoginAttempt, Message
from tests import factories
from tests.web import post_form, sign_in


async def setup(http) -> dict:
    p = await factories.practice(two_factor_policy="nobody")
    c = await factories.client(p, "alice", first_name="Alice")
    prov = await factories.provider(p, display_name="Dr. Elena Ruiz")
    service = await factories.service(p)
    # A visit with the provider makes them someone Alice may write to.
    await factories.appointment(
        c["client_id"], prov["provider_id"], service, utcnow() + timedelta(days=3)
    )
    await sign_in(http, "alice")
    return {"practice": p, "client": c, "provider": prov}


async def test_digits_that_are_not_ascii_are_no_id(http):
    """`"²".isdigit()` is true; `int("²")` raised, and the page answered 500."""
    await setup(http)
    for path in (
        "/messages/new?to=²",
        "/schedule?provider=²&service=²",
        "/schedule/review?provider=²",
    ):
        r = await http.get(path)
        assert r.status_code in (200, 422), (path, r.status_code)
    r = await post_form(http, "/messages", {"to": "²", "subject": "Hi", "body": "Hello"})
    assert r.status_code == 422
    assert "Choose who to write to." in r.text
    assert await Message.count() == 0


async def test_a_nul_character_in_a_form_is_refused_with_a_message(http):
    """PostgreSQL cannot store NUL in text: the sign-in and a reply answered 500 there."""
    await factories.client(await factories.practice(), "bob")
    before = await LoginAttempt.count()
    r = await post_form(http, "/login", {"username": "bob\x00", "password": "x\x00"}, page="/login")
    assert r.status_code == 400
    assert "NUL character" in r.text
    assert await LoginAttempt.count() == before


async def test_two_factor_actions_when_it_is_off_say_why(http):
    """Turning off, or replacing the codes of, a two-factor sign-in that is off: a 422 page
    with no message before; now a clear refusal."""
    await setup(http)
    for path, words in (
        ("/profile/two-factor/disable", "already off"),
        ("/profile/two-factor/recovery-codes", "no recovery codes"),
    ):
        r = await post_form(
            http, path, {"password": "x", "code": "123456"}, page="/profile/two-factor"
        )
        assert r.status_code == 409, (path, r.status_code)
        assert words in r.text
