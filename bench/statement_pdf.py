"""Time and size of a 12-month statement PDF with 200 ledger lines.

    .venv/bin/python bench/statement_pdf.py

Seeds one client with 200 ledger lines over the past year into a throwaway
SQLite database, then fetches /account/statement/pdf through the app (the
same path a client's browser takes) five times and reports the median time
and the PDF's size and page count.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


async def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    os.environ.update(
        PORTAL_ROOT=str(tmp),
        PORTAL_CONFIG=str(tmp / "none.toml"),
        PORTAL_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
    )
    from portal.accounts.auth import create_user
    from portal.app import create_app
    from portal.core import db
    from portal.core.clock import utcnow
    from portal.core.migrate import migrate
    from portal.settings import load
    from portal.tables import Client, LedgerEntry, Practice
    from portal.tables.accounts import Role

    settings = load()
    await migrate(settings)
    db.bind(db.make_engine(settings))
    p = (await Practice.insert(Practice(name="Bench Counseling", two_factor_policy="nobody", phone="(617) 555-0100", npi="1234567893", tax_id="12-3456789")).returning(Practice.id))[0]["id"]  # fmt: skip
    uid = await create_user("client", "c@bench.example", "bench password 1", Role.client)
    cid = (await Client.insert(Client(practice=p, user=uid, first_name="Bench", last_name="Client", status="active", created_at=utcnow())).returning(Client.id))[0]["id"]  # fmt: skip
    today = utcnow().date()
    rows = []
    for n in range(200):
        kind = "charge" if n % 2 == 0 else "payment"
        rows.append(
            LedgerEntry(
                client=cid,
                kind=kind,
                amount_cents=15000 if kind == "charge" else 12000,
                entry_date=today - timedelta(days=365 - int(n * 1.8)),
                description="Individual therapy, 45 minutes"
                if kind == "charge"
                else "Card payment",
                created_at=utcnow(),
            )  # fmt: skip
        )
    await LedgerEntry.insert(*rows)
    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the app logs at INFO
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench.local"
    ) as http:
        page = await http.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        await http.post(
            "/login",
            data={"username": "client", "password": "bench password 1", "_csrf_token": token},
        )
        url = f"/account/statement/pdf?start={today - timedelta(days=365)}&end={today}"
        times, body = [], b""
        for _ in range(5):
            t = time.perf_counter()
            r = await http.get(url)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", (
                r.status_code
            )
            body = r.content
    pages = len(PdfReader(io.BytesIO(body)).pages)
    print("12-month statement, 200 ledger lines, through GET /account/statement/pdf")
    print(
        f"  time  {statistics.median(times) * 1000:7.0f} ms median of 5 (min {min(times) * 1000:.0f} ms)"
    )
    print(f"  size  {len(body):7,} bytes, {pages} pages")


if __name__ == "__main__":
    asyncio.run(main())
