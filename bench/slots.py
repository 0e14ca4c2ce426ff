"""Slot engine speed and booking throughput.

    .venv/bin/python bench/slots.py                       # SQLite in a temp dir
    PORTAL_DATABASE_URL=postgresql://... .venv/bin/python bench/slots.py

1. Slot computation for a provider with 500 existing appointments: one week and
   a 90-day horizon, the pure engine (median of 30 runs) and the whole lookup
   with its three queries.
2. Booking under a race: 50 signed-in clients POST the same slot at once
   (exactly one wins), then 50 POST 50 different slots; wall time and requests/s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def median_ms(fn, runs: int = 30) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    os.environ.setdefault("PORTAL_DATABASE_URL", f"sqlite:///{tmp}/bench.db")
    os.environ.update(PORTAL_ROOT=str(tmp), PORTAL_CONFIG=str(tmp / "none.toml"))
    from zoneinfo import ZoneInfo

    from portal.accounts.auth import create_user
    from portal.app import create_app
    from portal.core import db
    from portal.core.clock import utcnow
    from portal.core.migrate import migrate
    from portal.practice.info import current_practice
    from portal.scheduling import availability, booking
    from portal.scheduling import slots as scheduling
    from portal.settings import load
    from portal.tables import Appointment, Client, Location, Practice, Provider, Service
    from portal.tables.accounts import Role

    settings = load()
    await migrate(settings)
    engine = db.make_engine(settings)
    db.bind(engine)
    if db.is_postgres(engine):
        await engine.start_connection_pool(min_size=2, max_size=20)
    tz = ZoneInfo("America/New_York")
    p = (
        await Practice.insert(
            Practice(name="Bench", time_zone=tz.key, two_factor_policy="nobody")
        ).returning(Practice.id)
    )[0]["id"]
    loc = (
        await Location.insert(
            Location(
                practice=p,
                name="Office",
                address_line1="1 Main St",
                city="Boston",
                region="MA",
                postal_code="02110",
            )
        ).returning(Location.id)
    )[0]["id"]
    uid = await create_user("benchdoc", "doc@bench.example", "bench password 1", Role.provider)
    prov = (
        await Provider.insert(Provider(practice=p, user=uid, display_name="Dr. Bench")).returning(
            Provider.id
        )
    )[0]["id"]
    svc = (
        await Service.insert(Service(practice=p, name="Therapy", duration_minutes=45)).returning(
            Service.id
        )
    )[0]["id"]
    week = ["mon", "tue", "wed", "thu", "fri"]
    await availability.apply({"provider": [{
        "username": "benchdoc", "slot_minutes": 15, "self_schedule": ["active"], "min_notice_hours": 0, "horizon_days": 120,
        "hours": [{"days": week, "from": "08:00", "to": "18:00", "place": "Office"}],
    }]})  # fmt: skip
    cuid = await create_user("benchclient", "c@bench.example", "bench password 1", Role.client)
    client = (
        await Client.insert(
            Client(
                practice=p,
                user=cuid,
                first_name="B",
                last_name="C",
                status="active",
                created_at=utcnow(),
            )
        ).returning(Client.id)
    )[0]["id"]

    # 500 appointments spread over the next 90 days' working hours.
    now = utcnow()
    today = now.astimezone(tz).date()
    rows, day, hour = [], today + timedelta(days=1), 8
    while len(rows) < 500:
        if day.weekday() < 5:
            start = datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
            rows.append(Appointment(client=client, provider=prov, service=svc, location=loc, starts_at=start,
                                    ends_at=start + timedelta(minutes=45), status="scheduled", created_at=now))  # fmt: skip
        hour += 1
        if hour >= 17:
            hour, day = 8, day + timedelta(days=1)
    await Appointment.insert(*rows)
    booked = [(a.starts_at, a.ends_at) for a in rows]

    weekly = [scheduling.WeeklyHours(d, 8 * 60, 18 * 60, loc) for d in range(5)]
    rules = scheduling.Rules(15, 45, timedelta(0), timedelta(days=120))

    def compute(days: int):
        return scheduling.slots_between(today, today + timedelta(days=days - 1), weekly=weekly, exceptions=[],
                                        appointments=booked, place=loc, rules=rules, tz=tz, now=now)  # fmt: skip

    week_ms, horizon_ms = median_ms(lambda: compute(7)), median_ms(lambda: compute(90))
    practice = await current_practice()
    client_row = await Client.select().where(Client.id == client).first()
    c = await booking.choices(client_row, prov, svc, str(loc))
    t = time.perf_counter()
    found = await booking.slots(c, today, today + timedelta(days=89), practice, now)
    full_ms = (time.perf_counter() - t) * 1000
    print(f"engine: {engine.engine_type}")
    print("slots for a provider with 500 appointments (15-minute grid, 45-minute service)")
    print(f"  one week, engine only          {week_ms:7.2f} ms  (median of 30)")
    print(f"  90-day horizon, engine only    {horizon_ms:7.2f} ms  (median of 30; target < 20 ms)")
    print(f"  90-day horizon with 3 queries  {full_ms:7.2f} ms  ({len(found)} free slots)")

    # Booking under a race, through the HTTP layer.
    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the app logs at INFO
    for n in range(50):
        uid = await create_user(f"racer{n}", f"r{n}@bench.example", "bench password 1", Role.client)
        await Client.insert(
            Client(
                practice=p,
                user=uid,
                first_name="R",
                last_name=str(n),
                status="active",
                created_at=utcnow(),
            )
        )
    sessions = []
    for n in range(50):
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench.local"
        )
        page = await http.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        await http.post(
            "/login",
            data={"username": f"racer{n}", "password": "bench password 1", "_csrf_token": token},
        )
        sessions.append((http, token))
    free = found[-60:]  # late in the horizon: untouched by the race below

    async def race(starts):
        t = time.perf_counter()
        results = await asyncio.gather(*(
            http.post("/schedule/book", data={"provider": prov, "service": svc, "where": loc, "_csrf_token": token,
                                              "start": s.strftime("%Y-%m-%dT%H:%M:%SZ")})
            for (http, token), s in zip(sessions, starts, strict=True)
        ))  # fmt: skip
        return time.perf_counter() - t, [r.status_code for r in results]

    same, codes = await race([free[0]] * 50)
    print("booking through HTTP, 50 concurrent clients")
    print(
        f"  one slot:  {same * 1000:7.0f} ms, {50 / same:6.1f} req/s, won {codes.count(303)}, told 'taken' {codes.count(409)}"
    )
    distinct = [s for s in free[1:] if s - free[0] >= timedelta(minutes=45)]
    spaced = [distinct[0]]
    for s in distinct[1:]:
        if s - spaced[-1] >= timedelta(minutes=45):
            spaced.append(s)
    spaced = (spaced * 50)[:50]
    many, codes = await race(spaced)
    print(
        f"  50 slots:  {many * 1000:7.0f} ms, {50 / many:6.1f} req/s, booked {codes.count(303)} (of {len(set(spaced))} distinct)"
    )
    for http, _ in sessions:
        await http.aclose()
    if db.is_postgres(engine):
        await engine.close_connection_pool()


if __name__ == "__main__":
    asyncio.run(main())
