"""Whole scenes for tests that walk every page: a practice like the demo's, and Alice with
a bit of everything (visits past and coming, a ledger, accepted terms, a message thread
with attachments), so every page and form shows its full markup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.messaging import sending
from portal.messaging.sending import Upload
from portal.practice import terms
from portal.practice.info import current_practice
from portal.scheduling import availability
from portal.tables import Client
from portal.tables.ledger import EntryKind
from portal.tables.people import ClientStatus
from portal.tables.scheduling import AppointmentStatus
from tests import factories

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def alice_with_everything(settings, load_forms: Callable[[], Awaitable]) -> dict:  # noqa: ANN001
    """The scene; `load_forms` loads the form templates Alice is given. Returns the ids the
    pages need: provider, service, location."""
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    loc = await factories.location(p, name="Downtown office")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz", npi="1234567893")
    svc = await factories.service(p)
    alice = await factories.client(p, "alice", first_name="Alice", status=ClientStatus.active)
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    hours = [{"days": every_day, "from": "09:00", "to": "17:00", "place": "Downtown office"},
             {"days": every_day, "from": "18:00", "to": "20:00", "place": "telehealth"}]  # fmt: skip
    await availability.apply({"provider": [{"username": "ruiz", "self_schedule": ["new", "active"], "min_notice_hours": 1, "horizon_days": 30, "hours": hours}]})  # fmt: skip
    cid, pid = alice["client_id"], ruiz["provider_id"]
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    await factories.appointment(cid, pid, svc, hour + timedelta(days=3), location_id=loc)
    await factories.appointment(cid, pid, svc, hour + timedelta(days=9, hours=9))
    past = await factories.appointment(
        cid, pid, svc, hour - timedelta(days=20), location_id=loc,
        status=AppointmentStatus.completed,
    )  # fmt: skip
    on = (hour - timedelta(days=20)).date()
    await factories.ledger(cid, EntryKind.charge, 15000, on=on, appointment=past)
    await factories.ledger(cid, EntryKind.payment, 5000, on=on)
    await factories.payments_configured(p, settings)
    await load_forms()
    practice = await current_practice()
    actor = Actor(alice["user_id"], "client", "", settings.portal_url, practice)
    await terms.accept(await terms.publish("1", "Be kind.\n\nPay on time."), actor)
    row = await Client.select().where(Client.id == cid).first()
    thread = await sending.start_thread(
        row, actor=actor, to=ruiz["user_id"], subject="Thursday", body="Could we move it?",
        files=[Upload("letter.pdf", PDF)],
    )  # fmt: skip
    staff = Actor(ruiz["user_id"], "provider", "", settings.portal_url, practice)
    await sending.reply(thread, actor=staff, body="Of course.", files=[Upload("sheet.pdf", PDF)])
    return {"provider": pid, "service": svc, "location": loc}
