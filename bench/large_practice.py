"""A large practice for `bench/run.py`: rows built in memory, written in bulk.

5,000 clients, 50 providers, 200,000 appointments over two years and the next
90 days, 500,000 ledger lines, message threads, form assignments, terms
acceptances. The schema comes from the app's own `portal db migrate` and the
form templates from `portal forms load` (run by the caller); this module only
writes rows: `executemany` on SQLite (the double-booking triggers are dropped
for the load and created again, the rows being free of overlaps by
construction), `COPY` on PostgreSQL (its exclusion constraint checks every row).

Who plays what (the manifest `build()` returns):

- `bench`: an average client (about 40 appointments, 100 ledger lines, a few
  upcoming visits, threads with an unread reply, one open form).
- `statement`: a weekly client, about 200 ledger lines in the last 12 months.
- `heavy`: a client with 500 upcoming appointments with one provider
  (`slot_week`, whose 90 days are booked but for two hours a day).
- `slot_full`: a provider whose next 50 weekdays are fully booked (500
  appointments), so the picker's current week is empty and the page searches
  the rest of the 90-day horizon for the next free time.
- `bookers`: clients who book free slots of the other providers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

GENERATOR_VERSION = 2  # 2: staff sign in with a password only; the heavy client's id
CLIENTS, PROVIDERS, APPOINTMENTS, LEDGER_LINES = 5_000, 50, 200_000, 500_000
PASSWORD = "bench password 1"
TZ = ZoneInfo("America/New_York")
HISTORY_DAYS, HORIZON_DAYS = 730, 90
HOURS = range(8, 18)  # every provider's bookable hours: 08:00-18:00, Monday to Friday
BOOKERS = 16
# service id -> (name, minutes, price)
SERVICES = {
    1: ("Initial assessment", 60, 22000),
    2: ("Individual therapy, 45 minutes", 45, 15000),
    3: ("Individual therapy, 60 minutes", 60, 18000),
    4: ("Family session", 60, 20000),
}
FIRST = "Jordan Alex Sam Taylor Morgan Casey Riley Jamie Avery Quinn Drew Hayden Rowan Emery Parker".split()
LAST = "Rivera Kim Chen Okoye Patel Nguyen Garcia Smith Cohen Rossi Novak Silva Muller Haddad Sato".split()
TERMS = Path(__file__).resolve().parents[1] / "src" / "portal" / "data" / "terms-of-service.txt"


@dataclass
class Rows:
    """Table name -> (columns, rows), in the order they must be written."""

    tables: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)

    def add(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        self.tables[table] = (columns, rows)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC)


def _weekdays(first: date, last: date) -> list[date]:
    days, d = [], first
    while d <= last:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def practice_rows(now: datetime) -> Rows:
    """What must exist before `portal forms load`: the practice and its staff."""
    out = Rows()
    out.add(
        "practice",
        ["id", "name", "time_zone", "address_line1", "city", "region", "postal_code", "phone",
         "email", "two_factor_policy", "npi", "tax_id", "settings", "max_upcoming_online_bookings"],
        [(1, "Bench Counseling Group", TZ.key, "1 Main Street", "Boston", "MA", "02110",
          # Two-factor required of nobody: the staff rows sign in with a password, as clients do.
          "(617) 555-0100", "desk@bench.example", "nobody", "1234567893", "12-3456789", "{}",
          # The booking row measures booking, not the per-client limit: each booker books many.
          1_000_000)],
    )  # fmt: skip
    out.add("location", ["id", "practice", "name", "address_line1", "city", "region", "postal_code"], [
        (1, 1, "Downtown office", "1 Main Street", "Boston", "MA", "02110"),
        (2, 1, "Riverside office", "48 Elm Avenue", "Cambridge", "MA", "02139"),
    ])  # fmt: skip
    out.add(
        "service",
        ["id", "practice", "name", "duration_minutes", "price_cents", "client_may_schedule"],
        [(sid, 1, name, minutes, price, True) for sid, (name, minutes, price) in SERVICES.items()],
    )
    out.add("terms_version", ["id", "version", "title", "body", "published_at"], [
        (1, "2026-01", "Terms of service", TERMS.read_text(encoding="utf-8"), now - timedelta(days=400)),
    ])  # fmt: skip
    return out


def build(now: datetime, password_hash: str, template_ids: list[int], seed: int = 2026) -> tuple[Rows, dict]:  # fmt: skip
    """Every other row, and the manifest of who plays what."""
    rnd = random.Random(seed)
    out = Rows()
    today = now.astimezone(TZ).date()
    tomorrow = today + timedelta(days=1)
    horizon_last = (now + timedelta(days=HORIZON_DAYS - 1)).astimezone(TZ).date()

    # Users: 3 staff, then the providers, then the clients.
    staff = [(1, "owner", "owner"), (2, "scheduler", "scheduler"), (3, "biller", "biller")]
    p_user = {p: 3 + p for p in range(1, PROVIDERS + 1)}
    c_user = {c: 3 + PROVIDERS + c for c in range(1, CLIENTS + 1)}
    created = now - timedelta(days=HISTORY_DAYS + 30)
    users = [(uid, name, f"{name}@bench.example", password_hash, role, True, created) for uid, name, role in staff]  # fmt: skip
    users += [(u, f"provider{p}", f"provider{p}@bench.example", password_hash, "provider", True, created) for p, u in p_user.items()]  # fmt: skip
    users += [(u, f"client{c}", f"client{c}@mail.example", password_hash, "client", True, created) for c, u in c_user.items()]  # fmt: skip
    out.add("portal_user", ["id", "username", "email", "password_hash", "role", "active", "created_at"], users)  # fmt: skip

    providers = []
    for p in range(1, PROVIDERS + 1):
        name = f"{FIRST[p % len(FIRST)]} {LAST[(p * 7) % len(LAST)]}"
        providers.append((p, 1, p_user[p], name, ["PsyD", "LCSW", "LMFT", "PhD"][p % 4], f"{1000000000 + p}",
                          15, '["new", "active"]', 24, HORIZON_DAYS, True))  # fmt: skip
    out.add("provider", ["id", "practice", "user", "display_name", "credentials", "npi", "slot_minutes",
                         "self_schedule_statuses", "min_notice_hours", "horizon_days", "clients_may_confirm"], providers)  # fmt: skip

    def office(p: int, weekday: int) -> int | None:
        """The provider's place that weekday: an office, or telehealth (None) on some Wednesdays."""
        return None if (p % 3 == 0 and weekday == 2) else 1 + p % 2

    blocks, bid = [], 0
    for p in range(1, PROVIDERS + 1):
        for wd in range(5):
            bid += 1
            loc = office(p, wd)
            blocks.append((bid, p, wd, HOURS.start * 60, HOURS.stop * 60, loc, loc is None, True))
    out.add("availability_block", ["id", "provider", "weekday", "start_minute", "end_minute", "location", "telehealth", "bookable_online"], blocks)  # fmt: skip

    clients = []
    for c in range(1, CLIENTS + 1):
        status = "inactive" if c % 97 == 0 else "active"
        dob = date(1950 + c % 50, 1 + c % 12, 1 + c % 28)
        insurance = ["insured", "none", "insured", ""][c % 4]
        clients.append((c, 1, c_user[c], FIRST[c % len(FIRST)], LAST[(c // 15) % len(LAST)], dob, status,
                        created + timedelta(days=c % 300), insurance))  # fmt: skip
    out.add("client", ["id", "practice", "user", "first_name", "last_name", "date_of_birth", "status", "created_at", "insurance_choice"], clients)  # fmt: skip
    home = {c: 1 + (c - 1) % PROVIDERS for c in range(1, CLIENTS + 1)}  # 100 clients per provider
    caseload = {
        p: [c for c in range(1, CLIENTS + 1) if home[c] == p and c % 97]
        for p in range(1, PROVIDERS + 1)
    }
    slot_week, slot_full, statement_provider = 1, 2, 3
    heavy, statement = caseload[slot_week][0], caseload[statement_provider][0]

    # Appointments: 4,000 per provider, hourly, never overlapping.
    past_days = _weekdays(today - timedelta(days=HISTORY_DAYS), today - timedelta(days=1))
    future_days = _weekdays(tomorrow, horizon_last)
    per_provider = APPOINTMENTS // PROVIDERS
    appts: list[tuple] = []
    aid = 0

    def add(p: int, client: int, start: datetime, service: int, status: str) -> None:
        nonlocal aid
        aid += 1
        day = start.astimezone(TZ)
        loc = office(p, day.weekday())
        end = start + timedelta(minutes=SERVICES[service][1])
        appts.append(
            (
                aid,
                client,
                p,
                service,
                loc,
                loc is None,
                start,
                end,
                status,
                start - timedelta(days=14),
            )
        )

    for p in range(1, PROVIDERS + 1):
        future: list[tuple[datetime, int]] = []  # (start, service)
        if p == slot_week:  # 09:00-17:00 booked, 08:00 and 17:00 free, until 500
            for d in future_days:
                future += [(_local(d, h), 3) for h in range(9, 17)]
            future = future[:500]
        elif p == slot_full:  # every hour of the next 50 weekdays
            for d in future_days:
                future += [(_local(d, h), 3) for h in HOURS]
            future = future[:500]
        else:
            for d in future_days:
                future += [
                    (_local(d, h), rnd.choice((2, 2, 3))) for h in HOURS if rnd.random() < 0.35
                ]
        cases = caseload[p]
        for start, service in future:
            who = heavy if p == slot_week else rnd.choice(cases)
            add(p, who, start, service, "scheduled" if rnd.random() < 0.55 else "confirmed")
        slots = [(d, h) for d in past_days for h in HOURS]
        picked = sorted(rnd.sample(range(len(slots)), per_provider - len(future)))
        year_ago = today - timedelta(days=365)
        for n, i in enumerate(picked):
            d, h = slots[i]
            r = rnd.random()
            status = "completed" if r < 0.88 else ("cancelled" if r < 0.95 else "no_show")
            who = rnd.choice(cases)
            if p == statement_provider and d >= year_ago and n % 36 == 0:
                who, status = statement, "completed"  # about weekly: ~200 ledger lines this year
            add(p, who, _local(d, h), rnd.choice((2, 2, 2, 3, 4)), status)
    out.add("appointment", ["id", "client", "provider", "service", "location", "telehealth", "starts_at", "ends_at", "status", "created_at"], appts)  # fmt: skip

    # Ledger: a charge per visit held or missed, then the copay and the insurer's payment.
    charged = [a for a in appts if a[8] in ("completed", "no_show")]
    extra = LEDGER_LINES - len(charged)
    lines: list[tuple] = []
    lid = 0

    def line(client: int, kind: str, cents: int, day: date, what: str, appt: int | None) -> None:
        nonlocal lid
        lid += 1
        lines.append(
            (lid, client, kind, cents, day, what, appt, datetime.combine(day, time(18), UTC))
        )

    share = (extra - 2 * 70) / len(charged)  # lines after the charge, on average
    for a in charged:
        price = SERVICES[a[3]][2]
        day = a[6].astimezone(TZ).date()
        line(a[1], "charge", price, day, f"{SERVICES[a[3]][0]} ({day:%b %-d})", a[0])
        n = 2 if a[1] == statement else int(share) + (rnd.random() < share - int(share))
        if n >= 1:
            line(a[1], "payment", price // 5, day, "Copay, card", None)
        if n >= 2:
            line(
                a[1],
                "payment",
                price - price // 5,
                day + timedelta(days=21),
                "Insurance payment",
                None,
            )
        for _ in range(n - 2):
            line(a[1], "adjustment", 0, day + timedelta(days=30), "Contractual adjustment", None)
    while len(lines) < LEDGER_LINES:
        c = rnd.randrange(1, CLIENTS + 1)
        line(c, "adjustment", 500, today - timedelta(days=rnd.randrange(HISTORY_DAYS)), "Courtesy adjustment", None)  # fmt: skip
    del lines[LEDGER_LINES:]
    out.add("ledger_entry", ["id", "client", "kind", "amount_cents", "entry_date", "description", "appointment", "created_at"], lines)  # fmt: skip

    # The average client: 35-45 appointments, 2-4 of them upcoming, not a special one.
    count: dict[int, int] = {}
    upcoming: dict[int, int] = {}
    for a in appts:
        count[a[1]] = count.get(a[1], 0) + 1
        if a[6] > now and a[8] in ("scheduled", "confirmed"):
            upcoming[a[1]] = upcoming.get(a[1], 0) + 1
    special = {heavy, statement} | set(caseload[slot_week]) | set(caseload[slot_full])
    ordinary = [c for c in range(1, CLIENTS + 1) if c % 97 and c not in special]
    bench = next(
        c for c in ordinary if 38 <= count.get(c, 0) <= 42 and 2 <= upcoming.get(c, 0) <= 4
    )
    bookers = [c for c in ordinary if c != bench][:BOOKERS]

    _messages(out, rnd, now, home, p_user, c_user, bench)
    forms, fid = [], 0
    for c in range(1, CLIENTS + 1):
        for n, t in enumerate(template_ids):
            fid += 1
            is_open = (c == bench and n == len(template_ids) - 1) or (
                c != bench and rnd.random() < 0.03
            )
            assigned = created + timedelta(days=c % 300)
            forms.append((fid, c, t, assigned, "open" if is_open else "submitted", None if is_open else assigned + timedelta(days=2)))  # fmt: skip
    out.add("form_assignment", ["id", "client", "template", "assigned_at", "status", "submitted_at"], forms)  # fmt: skip
    out.add("terms_acceptance", ["id", "user", "terms", "accepted_at", "ip"], [
        (c, c_user[c], 1, now - timedelta(days=300), "127.0.0.1") for c in range(1, CLIENTS + 1)
    ])  # fmt: skip
    out.add("client_email", ["id", "client", "address", "is_primary", "created_at"], [
        (c, c, f"client{c}@mail.example", True, created) for c in range(1, CLIENTS + 1)
    ])  # fmt: skip
    out.add("client_phone", ["id", "client", "kind", "number", "created_at"], [
        (c, c, "mobile", f"+1617555{c:04d}", created) for c in range(1, CLIENTS + 1)
    ])  # fmt: skip

    manifest = {
        "generator_version": GENERATOR_VERSION,
        "password": PASSWORD,
        "bench": f"client{bench}",
        "bench_id": bench,
        "statement": f"client{statement}",
        "heavy": f"client{heavy}",
        "heavy_id": heavy,
        "bookers": [f"client{c}" for c in bookers],
        "slot_week": slot_week,
        "slot_full": slot_full,
        "service": 2,
        "place": {str(p): str(1 + p % 2) for p in range(1, PROVIDERS + 1)},  # the office, Mon/Tue/Thu/Fri
        "week": str(future_days[15] - timedelta(days=future_days[15].weekday())),
        "statement_period": [str(today - timedelta(days=365)), str(today)],
        "counts": {t: len(rows) for t, (_c, rows) in out.tables.items()},
        "bench_client": {"appointments": count[bench], "upcoming": upcoming[bench],
                         "ledger_lines": sum(1 for x in lines if x[1] == bench)},
        "statement_lines_in_period": sum(1 for x in lines if x[1] == statement and x[4] >= today - timedelta(days=365)),
        "heavy_upcoming": upcoming.get(heavy, 0),
    }  # fmt: skip
    return out, manifest


def _messages(out: Rows, rnd: random.Random, now: datetime, home: dict, p_user: dict, c_user: dict, bench: int) -> None:  # fmt: skip
    """About 1.5 threads per client, 2 to 6 messages each; the client has not read the last reply."""
    threads, messages, reads = [], [], []
    mid = rid = tid = 0
    for c in range(1, CLIENTS + 1):
        for _ in range(6 if c == bench else rnd.choice((0, 1, 1, 2, 3, 2))):
            tid += 1
            staff = p_user[home[c]] if rnd.random() < 0.8 else 3  # the provider, or billing
            start = now - timedelta(days=rnd.randrange(1, HISTORY_DAYS), minutes=rnd.randrange(600))
            n = rnd.randrange(2, 7)
            at = start
            for k in range(n):
                mid += 1
                at = start + timedelta(hours=20 * k)
                sender = c_user[c] if k % 2 == 0 else staff
                body = "Hello,\n\nA question about my next appointment and the paperwork. " * (
                    1 + k % 3
                )
                messages.append((mid, tid, sender, body, at))
            threads.append((tid, c, staff, f"About my care ({tid})", start, at))
            rid += 1
            reads.append((rid, tid, staff, at))
            rid += 1
            unread = n % 2 == 0 and rnd.random() < 0.5
            reads.append((rid, tid, c_user[c], at - timedelta(hours=10) if unread else at))
    out.add(
        "thread", ["id", "client", "staff", "subject", "created_at", "last_message_at"], threads
    )
    out.add("message", ["id", "thread", "sender", "body", "created_at"], messages)
    out.add("thread_read", ["id", "thread", "user", "last_read_at"], reads)


def to_sqlite(value: object) -> object:
    """Piccolo's SQLite storage: ISO text for times and dates, 0/1 for booleans."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime | date):
        return str(value)
    return value


def write_sqlite(conn, rows: Rows) -> None:  # noqa: ANN001
    """One transaction; the double-booking triggers are dropped for the load, then re-created."""
    triggers = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'appointment'")]  # fmt: skip
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'appointment'").fetchall():  # fmt: skip
            conn.execute(f'DROP TRIGGER "{name}"')
        for table, (columns, data) in rows.tables.items():
            cols = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" * len(columns))
            conn.executemany(
                f'INSERT INTO "{table}" ({cols}) VALUES ({marks})',
                ([to_sqlite(v) for v in r] for r in data),
            )
        for sql in triggers:
            conn.execute(sql)


async def write_postgres(conn, rows: Rows) -> None:  # noqa: ANN001
    """COPY per table in one transaction, then the id sequences moved past the ids written."""
    async with conn.transaction():
        for table, (columns, data) in rows.tables.items():
            await conn.copy_records_to_table(table, records=data, columns=columns)
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))"
            )
