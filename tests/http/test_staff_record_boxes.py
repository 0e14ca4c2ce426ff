"""The record's profile carries the invitation box, and the approval box for a client who
registered through the portal, for the roles that may invite and approve (not the biller)."""

from __future__ import annotations

from portal.core.clock import utcnow
from portal.tables import Client
from tests.http.test_staff_record import base, get, scene
from tests.web import sign_in


async def test_the_invitation_box_is_on_the_record_for_those_who_may_invite(http):
    s = await scene()
    # Alice has an account already: the box says so and offers no invitation.
    await sign_in(http, "priya")  # the scheduler
    page = (await get(http, base(s))).text
    assert 'id="invitation"' in page and "already has a portal account" in page
    assert 'id="approval"' not in page  # she did not register herself

    # A client staff created, with no account: the box offers to invite.
    carla = (
        await Client.insert(
            Client(
                practice=s["practice"], first_name="Carla", last_name="Diaz", created_at=utcnow()
            )
        ).returning(Client.id)
    )[0]["id"]
    page = (await get(http, f"/staff/clients/{carla}")).text
    assert "has no portal account yet" in page
    assert f'action="/staff/clients/{carla}/invitation"' in page

    await sign_in(http, "tom")  # the biller sees the profile, without either box
    page = (await get(http, base(s))).text
    assert "First name" in page and 'id="invitation"' not in page


async def test_a_self_registered_client_waits_for_approval_on_the_record(http):
    s = await scene()
    await Client.update({Client.self_registered: True}).where(Client.id == s["cid"])
    await sign_in(http, "olivia")
    page = (await get(http, base(s))).text
    assert 'id="approval"' in page
    assert f'action="/staff/clients/{s["cid"]}/approval"' in page
