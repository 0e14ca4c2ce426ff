"""My Profile's security rules as domain calls: a password change, two-factor on and off,
new recovery codes, signing out the other sessions. Each refusal names its form field and
changes nothing; each change is audited."""

from __future__ import annotations

import dataclasses
import time
from zoneinfo import ZoneInfo

import pytest

from portal.accounts import twofactor
from portal.accounts.auth import CurrentUser, check_password, start_session, token_hash
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.core.errors import Invalid
from portal.practice.info import PracticeInfo
from portal.profile import security
from portal.tables import AuditEvent, OutboxMail, Session
from portal.tables.accounts import Role
from tests import factories
from tests.totp import totp


def _practice(policy: str) -> PracticeInfo:
    return PracticeInfo(1, "Harbor Counseling", ZoneInfo("UTC"), "", "", "", 15, policy)


async def _alice(sessions: int = 1) -> tuple[CurrentUser, Actor]:
    p = await factories.practice(two_factor_policy="nobody")
    alice = await factories.client(p, "alice")
    tokens = [
        await start_session(alice["user_id"], ip="203.0.113.7", user_agent="test")
        for _ in range(sessions)
    ]
    session = await Session.select(Session.id).where(Session.token_hash == token_hash(tokens[0]))
    user = CurrentUser(
        alice["user_id"], "alice", "alice@mail.example", Role.client, session[0]["id"]
    )
    actor = Actor(user.id, "client", "203.0.113.7", "http://portal.example", _practice("nobody"))
    return user, actor


async def _count(action: str) -> int:
    return await AuditEvent.count().where(AuditEvent.action == action)


async def test_password_change_rules_then_the_change():
    user, actor = await _alice(sessions=2)
    good = "a brand new passphrase"
    cases = [
        ("wrong", good, good, {"current_password": "Your current password is not right."}),
        (factories.PASSWORD, good, good + "!", {"new_password_again": "The two new passwords are not the same."}),
        (factories.PASSWORD, factories.PASSWORD, factories.PASSWORD, {"new_password": "Choose a password different from your current one."}),
    ]  # fmt: skip
    for current, new, again, errors in cases:
        with pytest.raises(Invalid) as caught:
            await security.change_password(user, current, new, again, actor)
        assert caught.value.errors == errors
    with pytest.raises(Invalid) as caught:
        await security.change_password(user, factories.PASSWORD, "short", "short", actor)
    assert "at least 8" in caught.value.errors["new_password"]
    assert await check_password(user.id, factories.PASSWORD)

    await security.change_password(user, factories.PASSWORD, good, good, actor)
    assert await check_password(user.id, good)
    assert await Session.count() == 1  # the other session ended
    assert await _count("account.password_changed") == 1
    assert await OutboxMail.count().where(OutboxMail.kind == "password_changed") == 1


async def test_two_factor_on_recovery_codes_and_off(settings):
    user, actor = await _alice()
    cipher = Cipher(settings.secret())
    with pytest.raises(Invalid) as caught:
        await security.turn_on_two_factor(user, "", cipher, actor)
    assert caught.value.errors == {"code": "Enter the 6-digit code your app shows."}
    state = await security.two_factor_state(user, actor.practice, cipher)
    assert not state.enabled and state.qr_svg and state.secret
    secret = state.secret.replace(" ", "")
    with pytest.raises(Invalid) as caught:
        await security.turn_on_two_factor(user, "000000", cipher, actor)
    assert caught.value.errors["code"].startswith("That code does not match.")

    previous = totp(secret, time.time() - 30)
    assert len(await security.turn_on_two_factor(user, previous, cipher, actor)) == 10
    user = dataclasses.replace(user, two_factor_on=True)  # as the next request's session says
    # The code that turned it on cannot be used again.
    with pytest.raises(Invalid) as caught:
        await security.new_recovery_codes(user, previous, cipher, actor)
    assert caught.value.errors == {"code": security.REPLAYED}
    with pytest.raises(Invalid) as caught:
        await security.new_recovery_codes(user, "", cipher, actor)
    assert caught.value.errors == {"code": "Enter the current 6-digit code from your app."}
    codes = await security.new_recovery_codes(user, totp(secret), cipher, actor)
    assert len(codes) == 10 and await _count("two_factor.recovery_codes_replaced") == 1

    # Off: refused while the practice requires it; then the password and a code are needed.
    required = Actor(user.id, "client", actor.ip, actor.portal_url, _practice("everyone"))
    with pytest.raises(Invalid) as caught:
        await security.turn_off_two_factor(user, factories.PASSWORD, codes[0], cipher, required)
    assert "requires two-factor" in caught.value.errors["code"]
    with pytest.raises(Invalid) as caught:
        await security.turn_off_two_factor(user, "wrong", "123", cipher, actor)
    assert caught.value.errors == {
        "password": "Your password is not right.",
        "code": "That code is not right.",
    }
    assert await twofactor.is_enabled(user.id)
    await security.turn_off_two_factor(user, factories.PASSWORD, codes[1], cipher, actor)
    assert not await twofactor.is_enabled(user.id)
    assert await _count("two_factor.disabled") == 1


async def test_signing_out_the_other_sessions_keeps_this_one():
    user, actor = await _alice(sessions=3)
    assert [s["current"] for s in await security.sessions(user)].count(True) == 1
    assert await security.sign_out_others(user, actor) == 2
    [kept] = await security.sessions(user)
    assert kept["id"] == user.session_id and kept["current"]
    event = await AuditEvent.select().where(AuditEvent.action == "session.others_ended").first()
    assert event["actor"] == user.id and event["ip"] == "203.0.113.7"
