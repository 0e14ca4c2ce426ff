"""A believable demo practice: `portal demo`.

Three providers, services with CPT codes, two offices and telehealth, twenty
clients with past and upcoming appointments and ledger activity. Usernames are
fixed (`client`, `owner`, `manager`, `provider`, `scheduler`, `biller`); the
password is random unless one is given. Refuses to touch a database that
already holds a practice.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from portal.accounts.auth import create_user
from portal.core.clock import utcnow
from portal.tables import (
    Appointment,
    Client,
    LedgerEntry,
    Location,
    Practice,
    Provider,
    Service,
)
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from portal.tables.people import ClientStatus
from portal.tables.scheduling import AppointmentStatus

TIME_ZONE = "America/New_York"
DEMO_AVAILABILITY = Path(__file__).resolve().parents[1] / "data" / "demo-availability.toml"
DEMO_FORMS = Path(__file__).resolve().parents[1] / "data" / "demo-forms.toml"
DEMO_TERMS = Path(__file__).resolve().parents[1] / "data" / "terms-of-service.txt"

STAFF = [
    ("owner", Role.owner, "Dana Whitfield"),
    ("manager", Role.manager, "Marcus Bell"),
    ("scheduler", Role.scheduler, "Priya Natarajan"),
    ("biller", Role.biller, "Tom Okafor"),
]

PROVIDERS = [
    # username, display name, credentials, NPI, may confirm, may cancel, window hours
    ("provider", "Dr. Elena Ruiz", "PsyD", "1234567893", True, True, 24),
    ("jchen", "James Chen", "LCSW", "1245319599", True, True, 48),
    ("aokoye", "Amara Okoye", "LMFT", "1679576722", True, False, 24),
]

SERVICES = [
    # name, CPT, minutes, price cents, client may schedule, telehealth
    ("Initial assessment", "90791", 60, 22000, True, True),
    ("Individual therapy, 45 minutes", "90834", 45, 15000, True, True),
    ("Individual therapy, 60 minutes", "90837", 60, 18000, True, True),
    ("Family therapy with client", "90847", 50, 17000, False, True),
    ("Group therapy", "90853", 90, 6000, False, False),
]

LOCATIONS = [
    ("Downtown office", "120 Harbor Street", "Suite 400", "Boston", "MA", "02110"),
    ("Riverside office", "48 Elm Avenue", "", "Cambridge", "MA", "02139"),
]

FIRST = [
    "Jordan",
    "Alex",
    "Sam",
    "Maria",
    "Chris",
    "Taylor",
    "Priya",
    "Noah",
    "Grace",
    "Leo",
    "Hannah",
    "Omar",
    "Sofia",
    "Ethan",
    "Zoe",
    "Mateo",
    "Ava",
    "Kwame",
    "Lily",
    "Ben",
]
LAST = [
    "Rivera",
    "Kim",
    "Patel",
    "Johnson",
    "Nguyen",
    "Garcia",
    "Brown",
    "Cohen",
    "Silva",
    "Murphy",
    "Okafor",
    "Schmidt",
    "Rossi",
    "Haddad",
    "Lee",
    "Martin",
    "Walsh",
    "Ali",
    "Novak",
    "Price",
]
GENDERS = ["Female", "Male", "Non-binary", "Female", "Male"]
MARITAL = ["Single", "Married", "Partnered", "Divorced", "Single"]
EMPLOYMENT = ["Employed full time", "Employed part time", "Student", "Self-employed", "Retired"]


@dataclass
class DemoResult:
    password: str
    usernames: list[tuple[str, str]]  # (username, role/description)


class DemoRefused(Exception):
    pass


def _slot(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(ZoneInfo("UTC"))


def _next_weekday(d: date) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


async def seed(password: str | None = None, *, rng_seed: int = 7) -> DemoResult:
    if await Practice.exists().where(Practice.id.is_not_null()):
        raise DemoRefused(
            "This database already holds a practice; the demo only seeds an empty one."
        )
    password = password or secrets.token_urlsafe(9)
    rng = random.Random(rng_seed)
    tz = ZoneInfo(TIME_ZONE)
    now = utcnow()
    today = now.astimezone(tz).date()

    practice = (
        await Practice.insert(
            Practice(
                name="Harbor Counseling Group",
                time_zone=TIME_ZONE,
                address_line1="120 Harbor Street",
                address_line2="Suite 400",
                city="Boston",
                region="MA",
                postal_code="02110",
                phone="(617) 555-0142",
                email="frontdesk@harborcounseling.example",
            )
        ).returning(Practice.id)
    )[0]["id"]

    location_ids = []
    for name, line1, line2, city, region, postal in LOCATIONS:
        row = await Location.insert(
            Location(
                practice=practice,
                name=name,
                address_line1=line1,
                address_line2=line2,
                city=city,
                region=region,
                postal_code=postal,
                phone="(617) 555-0142",
            )
        ).returning(Location.id)
        location_ids.append(row[0]["id"])

    usernames: list[tuple[str, str]] = []
    for username, role, full_name in STAFF:
        await create_user(username, f"{username}@harborcounseling.example", password, role)
        usernames.append((username, f"{role.value} ({full_name})"))

    provider_ids = []
    for username, name, creds, npi, confirm, cancel, window in PROVIDERS:
        user_id = await create_user(
            username, f"{username}@harborcounseling.example", password, Role.provider
        )
        row = await Provider.insert(
            Provider(
                practice=practice,
                user=user_id,
                display_name=name,
                credentials=creds,
                npi=npi,
                clients_may_confirm=confirm,
                clients_may_cancel=cancel,
                cancellation_window_hours=window,
            )
        ).returning(Provider.id)
        provider_ids.append(row[0]["id"])
        usernames.append((username, f"provider ({name}, {creds})"))

    services = []
    for name, cpt, minutes, price, schedulable, tele in SERVICES:
        row = await Service.insert(
            Service(
                practice=practice,
                name=name,
                cpt_code=cpt,
                duration_minutes=minutes,
                price_cents=price,
                client_may_schedule=schedulable,
                telehealth_allowed=tele,
                # Booked online by new clients only; others call the practice.
                new_clients_only=name == "Initial assessment",
            )
        ).returning(Service.id)
        services.append({"id": row[0]["id"], "minutes": minutes, "price": price, "name": name})

    # Every provider's booked hours, so no two demo appointments overlap.
    booked: set[tuple[int, datetime]] = set()

    def book_time(provider_id: int, day: date) -> datetime | None:
        for _ in range(20):
            start = _slot(_next_weekday(day), rng.choice([9, 10, 11, 13, 14, 15, 16]), 0, tz)
            if (provider_id, start) not in booked:
                booked.add((provider_id, start))
                return start
            day += timedelta(days=1)
        return None

    for i in range(20):
        username = "client" if i == 0 else f"client{i + 1:02d}"
        first, last = FIRST[i], LAST[i]
        user_id = await create_user(
            username, f"{first.lower()}.{last.lower()}@mail.example", password, Role.client
        )
        status = (
            ClientStatus.inactive
            if i == 19
            else (ClientStatus.new if i >= 17 else ClientStatus.active)
        )
        client_id = (
            await Client.insert(
                Client(
                    practice=practice,
                    user=user_id,
                    first_name=first,
                    last_name=last,
                    date_of_birth=date(
                        1965 + rng.randrange(40), rng.randrange(1, 13), rng.randrange(1, 28)
                    ),
                    gender=rng.choice(GENDERS),
                    marital_status=rng.choice(MARITAL),
                    employment=rng.choice(EMPLOYMENT),
                    status=status,
                    created_at=now - timedelta(days=200 - i),
                )
            ).returning(Client.id)
        )[0]["id"]
        if i == 0:
            usernames.insert(0, (username, f"client ({first} {last})"))

        provider_id = provider_ids[i % len(provider_ids)]
        paid_through = rng.randrange(0, 3)  # sessions left unpaid
        past = [] if status is ClientStatus.new else list(range(6, 0, -1))
        for n, weeks_ago in enumerate(past):
            start = book_time(provider_id, today - timedelta(weeks=weeks_ago))
            if start is None:
                continue
            service = services[0] if n == 0 else services[1 + (i % 2)]
            telehealth = (i + n) % 3 == 0
            status_done = (
                AppointmentStatus.no_show if (i + n) % 11 == 5 else AppointmentStatus.completed
            )
            appt = (
                await Appointment.insert(
                    Appointment(
                        client=client_id,
                        provider=provider_id,
                        service=service["id"],
                        location=None if telehealth else location_ids[i % 2],
                        telehealth=telehealth,
                        telehealth_url="",
                        starts_at=start,
                        ends_at=start + timedelta(minutes=service["minutes"]),
                        status=status_done,
                        created_at=start - timedelta(days=14),
                    )
                ).returning(Appointment.id)
            )[0]["id"]
            if status_done is AppointmentStatus.completed:
                day = start.astimezone(tz).date()
                await LedgerEntry.insert(
                    LedgerEntry(
                        client=client_id,
                        kind=EntryKind.charge,
                        amount_cents=service["price"],
                        entry_date=day,
                        description=f"{service['name']} ({day:%b %-d})",
                        appointment=appt,
                        created_at=start,
                    )
                )
                if n < len(past) - paid_through:
                    await LedgerEntry.insert(
                        LedgerEntry(
                            client=client_id,
                            kind=EntryKind.payment,
                            amount_cents=service["price"],
                            entry_date=day,
                            description="Payment, card at the front desk",
                            created_at=start + timedelta(hours=1),
                        )
                    )
        if i % 7 == 3 and past:
            await LedgerEntry.insert(
                LedgerEntry(
                    client=client_id,
                    kind=EntryKind.adjustment,
                    amount_cents=2000,
                    entry_date=today - timedelta(days=10),
                    description="Sliding-scale adjustment",
                    created_at=now - timedelta(days=10),
                )
            )

        if status is ClientStatus.inactive:
            continue
        for weeks_ahead in (0, 1, 3, 6):
            start = book_time(provider_id, today + timedelta(days=1 + 7 * weeks_ahead))
            if start is None:
                continue
            service = services[1 + (i % 2)] if past else services[0]
            telehealth = (i + weeks_ahead) % 2 == 0
            await Appointment.insert(
                Appointment(
                    client=client_id,
                    provider=provider_id,
                    service=service["id"],
                    location=None if telehealth else location_ids[i % 2],
                    telehealth=telehealth,
                    telehealth_url=(
                        f"https://telehealth.example/room/{secrets.token_urlsafe(8)}"
                        if telehealth
                        else ""
                    ),
                    starts_at=start,
                    ends_at=start + timedelta(minutes=service["minutes"]),
                    status=AppointmentStatus.confirmed
                    if weeks_ahead == 3
                    else AppointmentStatus.scheduled,
                    created_at=now - timedelta(days=3),
                )
            )

    from portal.demo.billing import seed_demo as seed_billing

    await seed_billing(practice, rng)

    from portal.scheduling.availability import load_file

    await load_file(DEMO_AVAILABILITY)

    from portal.demo.profile import seed_demo as seed_profile_details

    await seed_profile_details("client")

    from portal.forms.loader import load_file as load_forms

    await load_forms(DEMO_FORMS)

    from portal.practice import terms

    await terms.publish(
        "2026-01",
        DEMO_TERMS.read_text(),
    )

    from portal.demo.messages import seed_demo as seed_messages

    await seed_messages(practice)

    from portal.demo.staff import seed_demo as seed_staff_side

    await seed_staff_side(practice)
    return DemoResult(password=password, usernames=usernames)
