"""The access policy (portal.staff.access): who on the staff reaches which client, which part
of the record, and which message thread; reads are audited; the rest does not exist (404)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import NotFound
from portal.staff.access import (
    Part,
    client_clause,
    may_reach,
    open_record,
    staff_member,
    thread_clause,
)
from portal.tables import AuditEvent, Client, ClientProvider, MessageThread
from portal.tables.accounts import Role
from tests import factories


async def practice_of_three() -> dict:
    """Two providers; Alice sees Dr. A, Bea is assigned to Dr. A, Cal sees Dr. B."""
    p = await factories.practice()
    a = await factories.provider(p, "dra", display_name="Dr. A")
    b = await factories.provider(p, "drb", display_name="Dr. B")
    svc = await factories.service(p)
    alice = await factories.client(p, "alice")
    bea = await factories.client(p, "bea")
    cal = await factories.client(p, "cal")
    soon = utcnow() + timedelta(days=2)
    await factories.appointment(alice["client_id"], a["provider_id"], svc, soon)
    await factories.appointment(cal["client_id"], b["provider_id"], svc, soon)
    await ClientProvider.insert(ClientProvider(client=bea["client_id"], provider=a["provider_id"]))
    staff = {}
    for role in (Role.owner, Role.manager, Role.scheduler, Role.biller):
        staff[role.value] = await factories.staff(role.value, role)
    return {"p": p, "a": a, "b": b, "alice": alice, "bea": bea, "cal": cal, "staff": staff}


def actor_for(user_id: int) -> Actor:
    return Actor(user_id=user_id, role="staff", ip="127.0.0.1", portal_url="", practice=None)


async def reachable(member) -> set[int]:
    rows = await Client.select(Client.id).where(client_clause(member, "client.id"))
    return {r["id"] for r in rows}


async def test_a_provider_reaches_their_own_clients_and_nobody_else():
    w = await practice_of_three()
    dra = await staff_member(w["a"]["user_id"], Role.provider)
    assert dra.provider_id == w["a"]["provider_id"]
    ids = {w[n]["client_id"] for n in ("alice", "bea", "cal")}
    # Alice by her appointment, Bea by assignment; Cal is Dr. B's.
    assert await reachable(dra) == {w["alice"]["client_id"], w["bea"]["client_id"]}
    assert not await may_reach(dra, w["cal"]["client_id"])
    for role in ("owner", "manager", "scheduler", "biller"):
        member = await staff_member(w["staff"][role], Role(role))
        assert await reachable(member) == ids, role


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("owner", set(Part), set()),
        ("manager", set(Part), set()),
        ("provider", set(Part) - {Part.manage}, {Part.manage}),
        ("scheduler", {Part.contact, Part.appointments}, {Part.forms, Part.billing}),
        ("biller", {Part.billing, Part.insurance, Part.contact}, {Part.forms, Part.demographics}),
    ],
)
async def test_each_role_opens_only_its_parts(role, allowed, refused):
    w = await practice_of_three()
    user_id = w["a"]["user_id"] if role == "provider" else w["staff"][role]
    member = await staff_member(user_id, Role(role))
    alice = w["alice"]["client_id"]
    for part in allowed:
        row = await open_record(member, alice, part, actor_for(user_id))
        assert row["id"] == alice
    for part in refused:
        with pytest.raises(NotFound):
            await open_record(member, alice, part, actor_for(user_id))


async def test_every_read_is_audited_and_a_refusal_reads_nothing():
    w = await practice_of_three()
    dra = await staff_member(w["a"]["user_id"], Role.provider)
    await open_record(dra, w["alice"]["client_id"], Part.forms, actor_for(dra.user_id))
    with pytest.raises(NotFound):
        await open_record(dra, w["cal"]["client_id"], Part.contact, actor_for(dra.user_id))
    events = await AuditEvent.select().where(AuditEvent.action == "staff.read")
    assert len(events) == 1
    (event,) = events
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert event["actor"] == dra.user_id and event["ip"] == "127.0.0.1"
    assert detail == {"client": w["alice"]["client_id"], "part": "forms", "role": "provider"}


async def test_threads_follow_their_address():
    w = await practice_of_three()
    now = utcnow()

    async def thread(client: str, staff_user: int, desk: str = "") -> int:
        rows = await MessageThread.insert(
            MessageThread(
                client=w[client]["client_id"],
                staff=staff_user,
                subject="Hello",
                created_at=now,
                last_message_at=now,
                desk=desk,
            )
        ).returning(MessageThread.id)
        return rows[0]["id"]

    to_dra = await thread("alice", w["a"]["user_id"])
    to_drb = await thread("cal", w["b"]["user_id"])
    billing = await thread("alice", w["staff"]["biller"], desk="billing")
    scheduling = await thread("bea", w["staff"]["scheduler"], desk="scheduling")

    async def seen(user_id: int, role: Role) -> set[int]:
        member = await staff_member(user_id, role)
        rows = await MessageThread.select(MessageThread.id).where(thread_clause(member))
        return {r["id"] for r in rows}

    everything = {to_dra, to_drb, billing, scheduling}
    assert await seen(w["staff"]["owner"], Role.owner) == everything
    assert await seen(w["staff"]["manager"], Role.manager) == everything
    assert await seen(w["a"]["user_id"], Role.provider) == {to_dra}
    assert await seen(w["b"]["user_id"], Role.provider) == {to_drb}
    assert await seen(w["staff"]["biller"], Role.biller) == {billing}
    assert await seen(w["staff"]["scheduler"], Role.scheduler) == {scheduling}
    # Another biller belongs to the billing desk too.
    other = await factories.staff("biller2", Role.biller)
    assert await seen(other, Role.biller) == {billing}
    # An assignment never hands a client's thread to someone the policy keeps from them:
    # Alice's thread assigned to Dr. B (not her provider) or to the biller stays hidden...
    for assignee in (w["b"]["user_id"], w["staff"]["biller"]):
        await MessageThread.update({MessageThread.assigned_to: assignee}).where(
            MessageThread.id == to_dra
        )
        assert to_dra not in await seen(w["b"]["user_id"], Role.provider)
        assert to_dra not in await seen(w["staff"]["biller"], Role.biller)
    # ...until Alice is his client too.
    await MessageThread.update({MessageThread.assigned_to: w["b"]["user_id"]}).where(
        MessageThread.id == to_dra
    )
    await ClientProvider.insert(
        ClientProvider(client=w["alice"]["client_id"], provider=w["b"]["provider_id"])
    )
    assert await seen(w["b"]["user_id"], Role.provider) == {to_drb, to_dra}


async def test_a_client_account_is_not_staff():
    w = await practice_of_three()
    with pytest.raises(NotFound):
        await staff_member(w["alice"]["user_id"], Role.client)
