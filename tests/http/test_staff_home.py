"""The staff home: the days ahead, unread messages, forms submitted since the last visit and
self-registrations waiting, each as the access policy lets the staff member see them."""

from __future__ import annotations

from datetime import timedelta

from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.tables import Client, FormAssignment, FormTemplate, Message, MessageThread
from portal.tables.accounts import Role
from tests import factories
from tests.web import sign_in, signed_in


async def practice_week() -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    a = await factories.provider(p, "dra", display_name="Dr. Ana Ortiz")
    b = await factories.provider(p, "drb", display_name="Dr. Ben Li")
    svc = await factories.service(p)
    alice = await factories.client(p, "alice", first_name="Alice", last_name="Archer")
    cal = await factories.client(p, "cal", first_name="Cal", last_name="Cooper")
    now = utcnow()
    await factories.appointment(alice["client_id"], a["provider_id"], svc, now + timedelta(hours=3))
    await factories.appointment(cal["client_id"], b["provider_id"], svc, now + timedelta(days=3))
    # Beyond the week: not listed.
    await factories.appointment(alice["client_id"], a["provider_id"], svc, now + timedelta(days=9))
    owner = await factories.staff("owner", Role.owner)
    biller = await factories.staff("biller", Role.biller)
    return {"p": p, "a": a, "b": b, "alice": alice, "cal": cal, "owner": owner, "biller": biller}


async def test_the_owner_sees_the_week_and_a_provider_only_their_own(http, app):
    w = await practice_week()
    await sign_in(http, "owner")
    page = (await http.get("/staff")).text
    assert page.count('<h2 id="day-') == 7  # today and the six days after
    assert "Alice Archer" in page and "Cal Cooper" in page
    assert f'href="/staff/clients/{w["alice"]["client_id"]}"' in page
    assert page.count("Dr. Ana Ortiz") == 1  # the appointment in nine days is not listed
    assert 'role="search"' in page and 'name="q"' in page  # the client search on every page
    async with signed_in(app, "drb") as drb:
        mine = (await drb.get("/staff")).text
    assert "Cal Cooper" in mine and "Alice Archer" not in mine


async def test_the_biller_sees_no_schedule_nor_forms(http):
    await practice_week()
    await sign_in(http, "biller")
    page = (await http.get("/staff")).text
    assert "Alice Archer" not in page and "day-1-h" not in page
    assert "Forms submitted" not in page
    assert "No unread messages" in page


async def test_forms_submitted_since_the_last_visit(http):
    w = await practice_week()
    await sign_in(http, "dra")
    assert "No forms submitted" in (await http.get("/staff")).text  # this visit is remembered
    template = (
        await FormTemplate.insert(
            FormTemplate(
                practice=w["p"], slug="intake", title="New client intake", updated_at=utcnow()
            )
        ).returning(FormTemplate.id)
    )[0]["id"]
    for client in ("alice", "cal"):
        await FormAssignment.insert(
            FormAssignment(
                client=w[client]["client_id"],
                template=template,
                assigned_at=utcnow(),
                status="submitted",
                submitted_at=utcnow(),
            )
        )
    page = (await http.get("/staff")).text
    # Alice is Dr. Ortiz's client; Cal is not, so his form is not hers to see.
    assert "New client intake</a> from Alice Archer" in page
    assert "Cal Cooper" not in page
    assert "No forms submitted" in (await http.get("/staff")).text  # seen now


async def test_unread_messages_and_registrations_waiting(http):
    w = await practice_week()
    now = utcnow()
    thread = (
        await MessageThread.insert(
            MessageThread(
                client=w["alice"]["client_id"],
                staff=w["a"]["user_id"],
                subject="Question",
                created_at=now,
                last_message_at=now,
            )
        ).returning(MessageThread.id)
    )[0]["id"]
    await Message.insert(
        Message(thread=thread, sender=w["alice"]["user_id"], body="Hi", created_at=now)
    )
    await Client.update({Client.self_registered: True}).where(Client.id == w["cal"]["client_id"])
    await sign_in(http, "owner")
    page = (await http.get("/staff")).text
    assert "1 unread conversation</a>" in page
    assert 'Inbox <span class="badge">1<span' in page  # the menu's count
    assert f'<a href="/staff/clients/{w["cal"]["client_id"]}">Cal Cooper</a>' in page
    await sign_in(http, "biller")  # the thread was written to Dr. Ortiz, not to billing
    page = (await http.get("/staff")).text
    assert "No unread messages" in page and "Cal Cooper" not in page


async def test_queries_do_not_grow_with_the_week(http, app):
    w = await practice_week()
    await sign_in(http, "owner")
    svc = await factories.service(w["p"], name="Couples therapy")
    counts = []
    for extra in (0, 20):
        for i in range(extra):
            await factories.appointment(
                w["cal"]["client_id"],
                w["b"]["provider_id"],
                svc,
                utcnow() + timedelta(days=1, hours=i),
            )
        with count_queries(app.state.engine) as seen:
            assert (await http.get("/staff")).status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
    # Session, home-seen, the week, unread, forms, registrations, the visit's mark, the menu.
    assert counts[0] <= 9, counts
