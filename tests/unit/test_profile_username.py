"""Changing one's username is a domain rule: valid characters, a new and free name, the
current password; audited with the old and new name."""

from __future__ import annotations

import json

import pytest

from portal.accounts.auth import CurrentUser
from portal.accounts.users import change_username
from portal.core.actor import Actor
from portal.core.errors import Invalid
from portal.tables import AuditEvent, Session, User
from portal.tables.accounts import Role
from tests import factories


async def _alice() -> tuple[CurrentUser, Actor]:
    p = await factories.practice()
    alice = await factories.client(p, "alice")
    await factories.client(p, "bob")
    user = CurrentUser(alice["user_id"], "alice", "alice@mail.example", Role.client, 0)
    return user, Actor(user.id, "client", "203.0.113.7", "http://portal.example", None)


async def test_username_rules_change_nothing():
    user, actor = await _alice()
    cases = [
        ("", factories.PASSWORD, {"username": "Enter a username."}),
        ("al ice", factories.PASSWORD, {"username": "Use letters, digits and . _ - @ only."}),
        (" ALICE ", factories.PASSWORD, {"username": "That is already your username."}),
        ("Bob", factories.PASSWORD, {"username": "That username is taken. Choose another."}),
        ("alice2", "wrong", {"current_password": "Your current password is not right."}),
    ]
    for typed, password, errors in cases:
        with pytest.raises(Invalid) as caught:
            await change_username(user, typed, password, actor)
        assert caught.value.errors == errors, typed
    assert await User.exists().where(User.username == "alice")
    assert await AuditEvent.count().where(AuditEvent.action == "account.username_changed") == 0


async def test_a_new_name_is_normalised_saved_and_audited():
    user, actor = await _alice()
    assert await change_username(user, " Alice.R ", factories.PASSWORD, actor) == "alice.r"
    assert (await User.select(User.username).where(User.id == user.id).first()) == {
        "username": "alice.r"
    }
    event = await AuditEvent.select().where(AuditEvent.action == "account.username_changed").first()
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert detail == {"old": "alice", "new": "alice.r"}
    assert event["actor"] == user.id and event["ip"] == "203.0.113.7"
    assert await Session.count() == 0  # a username change ends no session
