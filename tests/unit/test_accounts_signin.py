"""The sign-in's password step and the password reset's new password are domain rules:
what is checked, in which order, and what the page is told."""

from __future__ import annotations

import pytest

from portal.accounts import password_reset, signin
from portal.accounts.auth import token_hash
from portal.accounts.passwords import verify_password
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid
from portal.settings import SecuritySettings
from portal.tables import LoginAttempt, PasswordReset, User
from tests import factories

SECURITY = SecuritySettings(max_failures_per_account=3, throttle_window_minutes=15)
ANON = Actor(None, "anonymous", "198.51.100.9", "http://portal.example", None)


async def _check(username: str, password: str) -> dict:
    return await signin.check_password(
        username, password, ip="198.51.100.9", user_agent="test", security=SECURITY
    )


async def test_missing_fields_are_named_and_nothing_is_tried():
    await factories.client(await factories.practice(), "alice")
    with pytest.raises(Invalid) as caught:
        await _check("", "")
    assert list(caught.value.errors.values()) == ["Enter your username.", "Enter your password."]
    with pytest.raises(Invalid) as caught:
        await _check("alice", "x" * 1025)  # too long to be ours: the same answer as a wrong one
    assert caught.value.message == signin.FAILED
    assert await LoginAttempt.count() == 0


async def test_a_wrong_pair_says_one_thing_and_repeated_failures_lock():
    await factories.client(await factories.practice(), "alice")
    for username in ("alice", "nobody"):
        with pytest.raises(Invalid) as caught:
            await _check(username, "wrong password")
        assert caught.value.message == signin.FAILED  # never which accounts exist
    for _ in range(2):
        with pytest.raises(Invalid):
            await _check("alice", "wrong password")
    with pytest.raises(Invalid) as caught:
        await _check("alice", factories.PASSWORD)  # even the right one, while locked
    assert caught.value.message == signin.LOCKED.format(minutes=15)


async def test_the_right_pair_gives_the_user():
    alice = await factories.client(await factories.practice(), "alice")
    user = await _check(" Alice ", factories.PASSWORD)
    assert user["id"] == alice["user_id"]


async def _reset_link(user_id: int) -> str:
    token = "reset-token-for-test"
    now = utcnow()
    await PasswordReset.insert(
        PasswordReset(
            user=user_id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + password_reset.VALID_FOR,
        )  # fmt: skip
    )
    return token


async def test_a_reset_checks_the_new_password_before_using_the_link():
    alice = await factories.client(await factories.practice(), "alice")
    token = await _reset_link(alice["user_id"])
    for new, again, problem in [
        ("", "", "Enter a new password."),
        ("alice", "alice", None),  # the password rules' own message
        ("Tide-pool-lantern-9", "Tide-pool-lantern-8", "The two passwords are not the same."),
    ]:
        with pytest.raises(Invalid) as caught:
            await password_reset.complete(token, new, again, ANON)
        if problem:
            assert caught.value.message == problem
    assert await password_reset.valid_reset(token) is not None  # still usable
    assert await password_reset.complete(token, "Tide-pool-lantern-9", "Tide-pool-lantern-9", ANON)
    row = await User.select(User.password_hash).where(User.id == alice["user_id"]).first()
    assert verify_password(row["password_hash"], "Tide-pool-lantern-9")
    # Used once: the same link does nothing more.
    assert (
        await password_reset.complete(token, "Other-pool-lantern-1", "Other-pool-lantern-1", ANON)
        is None
    )
