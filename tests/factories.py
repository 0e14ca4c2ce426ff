"""Test data made through the same tables the app uses (no mocks)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from PIL import Image

from portal.accounts.auth import create_user
from portal.core.clock import utcnow
from portal.practice import info as practice_info
from portal.tables import Appointment, Client, LedgerEntry, Location, Practice, Provider, Service
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from portal.tables.scheduling import AppointmentStatus

PASSWORD = "a sturdy test passphrase"


def image(fmt: str, colour: str = "navy", size: tuple[int, int] = (6, 4)) -> bytes:
    """A real image file of that format, made by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


async def practice(time_zone: str = "America/New_York", **kw) -> int:
    row = await Practice.insert(
        Practice(name=kw.pop("name", "Test Practice"), time_zone=time_zone, **kw)
    ).returning(Practice.id)
    practice_info.changed()
    return row[0]["id"]


async def location(practice_id: int, **kw) -> int:
    values = dict(
        name="Main office",
        address_line1="1 Main Street",
        city="Boston",
        region="MA",
        postal_code="02110",
    )
    values.update(kw)
    row = await Location.insert(Location(practice=practice_id, **values)).returning(Location.id)
    return row[0]["id"]


async def client(
    practice_id: int, username: str = "alice", *, password: str = PASSWORD, **kw
) -> dict:
    user_id = await create_user(username, f"{username}@mail.example", password, Role.client)
    values = dict(first_name=username.title(), last_name="Tester", created_at=utcnow())
    values.update(kw)
    row = await Client.insert(Client(practice=practice_id, user=user_id, **values)).returning(
        Client.id
    )
    return {"user_id": user_id, "client_id": row[0]["id"], "username": username}


async def staff(
    username: str = "owner", role: Role = Role.owner, *, password: str = PASSWORD
) -> int:
    return await create_user(username, f"{username}@practice.example", password, role)


async def provider(practice_id: int, username: str = "drsmith", **kw) -> dict:
    user_id = await create_user(username, f"{username}@practice.example", PASSWORD, Role.provider)
    values = dict(display_name=kw.pop("display_name", "Dr. Smith"))
    values.update(kw)
    row = await Provider.insert(Provider(practice=practice_id, user=user_id, **values)).returning(
        Provider.id
    )
    return {"user_id": user_id, "provider_id": row[0]["id"]}


async def service(practice_id: int, **kw) -> int:
    values = dict(
        name="Individual therapy", cpt_code="90834", duration_minutes=45, price_cents=15000
    )
    values.update(kw)
    row = await Service.insert(Service(practice=practice_id, **values)).returning(Service.id)
    return row[0]["id"]


async def appointment(
    client_id: int,
    provider_id: int,
    service_id: int,
    starts_at: datetime,
    *,
    minutes: int = 45,
    location_id: int | None = None,
    status: AppointmentStatus = AppointmentStatus.scheduled,
    **kw,
) -> int:
    row = await Appointment.insert(
        Appointment(
            client=client_id,
            provider=provider_id,
            service=service_id,
            location=location_id,
            telehealth=location_id is None,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            status=status,
            created_at=utcnow(),
            **kw,
        )
    ).returning(Appointment.id)
    return row[0]["id"]


async def ledger(client_id: int, kind: EntryKind, cents: int, on: date | None = None, **kw) -> int:
    row = await LedgerEntry.insert(
        LedgerEntry(
            client=client_id,
            kind=kind,
            amount_cents=cents,
            entry_date=on or utcnow().date(),
            description=kw.pop("description", kind.value.title()),
            created_at=utcnow(),
            **kw,
        )
    ).returning(LedgerEntry.id)
    return row[0]["id"]


WEBHOOK_SECRET = "whsec_test_portal_webhooks"


async def payments_configured(practice_id: int, settings, max_credit_cents: int = 50000) -> None:
    """The practice's Stripe keys, as an owner would enter them (localstripe takes any sk_/pk_)."""
    from portal.billing import payment_settings
    from portal.core.actor import Actor
    from portal.core.crypto import Cipher

    owner = await staff("payowner")
    await payment_settings.save_settings(
        practice_id, Cipher(settings.secret()), publishable_key="pk_test_portal", secret_key="sk_test_portal",
        webhook_secret=WEBHOOK_SECRET, max_credit_cents=max_credit_cents,
        actor=Actor(user_id=owner, role="owner", ip="", portal_url="", practice=None),
    )  # fmt: skip
