"""Staff API tokens and embed sessions (portal.embedding) on the real database: who may
make a token, what a token may do and for whom, and an embed secret that works once, for
minutes, and stops with its token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid, NotFound, Refused
from portal.embedding import sessions, tokens
from portal.tables import ApiToken, AuditEvent, EmbedSession
from portal.tables.accounts import Role
from tests import factories

ORIGIN = "https://intranet.example"


def manager(user_id: int, role: str = "manager") -> Actor:
    return Actor(user_id=user_id, role=role, ip="10.0.0.1", portal_url="", practice=None)


async def world() -> dict:
    p = await factories.practice()
    ana = await factories.provider(p, "drana")
    ben = await factories.provider(p, "drben")
    alice = await factories.client(p, "alice")
    bob = await factories.client(p, "bob")
    service = await factories.service(p)
    await factories.appointment(alice["client_id"], ana["provider_id"], service,
                                utcnow() + timedelta(days=3))  # fmt: skip
    return {
        "marcus": await factories.staff("marcus", Role.manager),
        "priya": await factories.staff("priya", Role.scheduler),
        "ana": ana["user_id"], "ben": ben["user_id"],
        "alice": alice["client_id"], "bob": bob["client_id"],
    }  # fmt: skip


async def token_for(w: dict, user: int, scopes=("read", "embed"), days: str = "30") -> str:
    _, token = await tokens.create(
        {"name": "EHR", "user": str(user), "scopes": list(scopes), "days": days},
        actor=manager(w["marcus"]),
    )
    return token


async def test_only_an_owner_or_manager_makes_a_token_and_bad_input_is_named_by_field():
    w = await world()
    with pytest.raises(Refused):
        await tokens.create({"name": "x", "user": str(w["ana"]), "scopes": ["read"]},
                            actor=manager(w["priya"], "scheduler"))  # fmt: skip
    with pytest.raises(Invalid) as caught:
        await tokens.create({"name": " ", "user": str(w["alice"] + 999), "scopes": ["admin"],
                             "days": "400"}, actor=manager(w["marcus"]))  # fmt: skip
    assert set(caught.value.errors) == {"name", "user", "scopes", "days"}
    assert await ApiToken.count() == 0
    token = await token_for(w, w["ana"])
    assert token.startswith("pt_") and len(token) > 40
    [row] = await ApiToken.select()
    assert row["token_hash"] != token and token not in str(row)  # stored hashed only
    assert row["prefix"] == token[:7] and row["scopes"] == "embed,read"
    assert await AuditEvent.count().where(AuditEvent.action == "api_token.created") == 1


async def test_a_token_is_refused_when_unknown_revoked_expired_or_out_of_scope():
    w = await world()
    token = await token_for(w, w["ana"], scopes=("read",))
    use = await tokens.use(f"Bearer {token}", "read", what="GET /embed/x", ip="10.0.0.2")
    assert use.staff.role is Role.provider and use.staff.provider_id is not None
    [used] = await AuditEvent.select().where(AuditEvent.action == "api_token.used")
    assert used["actor"] == w["ana"] and used["ip"] == "10.0.0.2"
    for header in ("", f"Basic {token}", "Bearer pt_nope", f"Bearer {token}x"):
        with pytest.raises(Refused):
            await tokens.use(header, "read", what="x", ip="")
    with pytest.raises(Refused):  # read-only: no embed sessions
        await tokens.use(f"Bearer {token}", "embed", what="x", ip="")
    [row] = await ApiToken.select()
    await tokens.revoke(row["id"], actor=manager(w["marcus"]))
    with pytest.raises(Refused):
        await tokens.use(f"Bearer {token}", "read", what="x", ip="")
    other = await token_for(w, w["ana"])
    await ApiToken.update({ApiToken.expires_at: utcnow() - timedelta(seconds=1)}).where(
        ApiToken.revoked_at.is_null()
    )
    with pytest.raises(Refused):
        await tokens.use(f"Bearer {other}", "read", what="x", ip="")
    with pytest.raises(NotFound):
        await tokens.revoke(999999, actor=manager(w["marcus"]))


async def test_a_token_never_exceeds_its_staff_member_s_rights():
    w = await world()
    ana = await tokens.use(f"Bearer {await token_for(w, w['ana'])}", "embed", what="x", ip="")
    body = {"client": w["bob"], "widgets": ["balance"], "origin": ORIGIN}
    with pytest.raises(NotFound):  # Bob is not Dr. Ana's client
        await sessions.start(ana, body, origins=[ORIGIN], ip="")
    priya = await tokens.use(f"Bearer {await token_for(w, w['priya'])}", "embed", what="x", ip="")
    with pytest.raises(Refused):  # a scheduler sees no balance
        await sessions.start(priya, {**body, "client": w["alice"]}, origins=[ORIGIN], ip="")
    assert await EmbedSession.count() == 0


async def test_an_embed_secret_works_once_for_minutes_and_stops_with_its_token():
    w = await world()
    use = await tokens.use(f"Bearer {await token_for(w, w['ana'])}", "embed", what="x", ip="")
    body = {"client": w["alice"], "widgets": ["balance", "appointments"], "actions": True,
            "origin": ORIGIN, "theme": {"accent": "#0a5533", "radius": 4}}  # fmt: skip
    for bad, field in [({"origin": "https://evil.example"}, "origin"),
                       ({"widgets": ["balance", "passwords"]}, "widgets"),
                       ({"theme": {"accent": "red;}"}}, "theme"), ({"client": "1"}, "client")]:  # fmt: skip
        with pytest.raises(Invalid) as caught:
            await sessions.start(use, {**body, **bad}, origins=[ORIGIN], ip="")
        assert list(caught.value.errors) == [field]
    made = await sessions.start(use, body, origins=[ORIGIN], ip="")
    secret = made["secret"]
    assert made["secret_expires_at"] - utcnow() <= timedelta(minutes=sessions.SECRET_MINUTES)
    frame_token = await sessions.redeem(secret)
    with pytest.raises(Refused):  # single use
        await sessions.redeem(secret)
    f = await sessions.frame(frame_token, allowed=(ORIGIN,))
    assert (f.client_id, f.widgets, f.actions) == (w["alice"], ("balance", "appointments"), True)
    assert sessions.theme_variables(f.theme) == {"--accent": "#0a5533", "--radius": "4px"}
    assert sessions.theme_variables("radius=\u00b2;accent=red;font=x") == {}  # never raises
    # An expired secret is refused like a used one.
    late = await sessions.start(use, body, origins=[ORIGIN], ip="")
    await EmbedSession.update(
        {EmbedSession.secret_expires_at: utcnow() - timedelta(seconds=1)}
    ).where(EmbedSession.redeemed_at.is_null())
    with pytest.raises(Refused):
        await sessions.redeem(late["secret"])
    # Off the allow-list, its frames stop (the site may no longer show the portal).
    with pytest.raises(Refused) as caught:
        await sessions.frame(frame_token, allowed=("https://other.example",))
    assert "taken it off" in caught.value.message
    # Revoking the token ends the frame at once.
    [row] = await ApiToken.select()
    await tokens.revoke(row["id"], actor=manager(w["marcus"]))
    with pytest.raises(Refused):
        await sessions.frame(frame_token, allowed=(ORIGIN,))
