"""Page weight: bytes on the wire for the demo dashboard and every static asset.

    .venv/bin/python bench/page_weight.py            # or: make bench

Seeds the demo practice into a throwaway SQLite database, signs in as the demo
client through the real app (in-process ASGI, no server), and reports raw,
gzip and Brotli sizes. The icon sprite (`static/icons.svg`, referenced as
`<use href="/static/icons.<hash>.svg#name">`) is counted once, like any other
static file, with the icons the dashboard uses. A phone's first round trip carries about 14 KB (ten TCP
segments), so that is the budget the dashboard's compressed HTML is held to.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

FIRST_ROUND_TRIP = 14 * 1024
WIDGET_BUDGET = 2 * 1024


async def wire_sizes(
    http: httpx.AsyncClient, url: str, headers: dict | None = None
) -> tuple[int, int, int]:
    """Bytes as served: identity, gzip and Brotli, read from Content-Length."""
    out = []
    for encoding in ("identity", "gzip", "br"):
        r = await http.get(url, headers={"accept-encoding": encoding, **(headers or {})})
        assert r.status_code == 200, (url, r.status_code)
        out.append(int(r.headers.get("content-length", len(r.content))))
    return out[0], out[1], out[2]


async def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    os.environ.update(
        PORTAL_ROOT=str(tmp),
        PORTAL_CONFIG=str(tmp / "none.toml"),
        PORTAL_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
    )
    from portal.app import create_app
    from portal.core import db
    from portal.core.diagnostics import count_queries
    from portal.core.migrate import migrate
    from portal.demo.practice import seed
    from portal.settings import load

    settings = load()
    await migrate(settings)
    db.bind(db.make_engine(settings))
    await seed("bench-password-1")
    from portal.core.actor import Actor
    from portal.practice import terms
    from portal.tables import User

    # The demo client has accepted the terms already (otherwise / redirects to accept them).
    client_user = await User.select(User.id).where(User.username == "client").first()
    demo_client = Actor(
        user_id=client_user["id"], role="client", ip="", portal_url="", practice=None
    )
    await terms.accept((await terms.current())["id"], demo_client)
    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the app logs at INFO
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as http:
        login = await http.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
        await http.post(
            "/login",
            data={"username": "client", "password": "bench-password-1", "_csrf_token": token},
        )
        dashboard = await http.get("/")
        assert dashboard.status_code == 200, dashboard.status_code
        rows = [("dashboard HTML (/)", *await wire_sizes(http, "/"))]
        queries = {}
        for widget in ("tasks", "two-factor", "appointments", "balance"):
            url = f"/dashboard/widgets/{widget}"
            rows.append((f"widget {widget}", *await wire_sizes(http, url)))
            with count_queries(app.state.engine) as seen:
                await http.get(url, headers={"HX-Request": "true"})
            queries[widget] = len(seen)
        with count_queries(app.state.engine) as seen:
            await http.get("/")
        queries["whole dashboard"] = len(seen)
        # A fragment (`icons.<hash>.svg#mail`) names a symbol in a file fetched once.
        for url in sorted(set(re.findall(r'(?:href|src)="(/static/[^"#]+)', dashboard.text))):
            rows.append((url, *await wire_sizes(http, url)))
        used_icons = sorted(
            set(re.findall(r'<use href="/static/icons\.[0-9a-f]+\.svg#([\w-]+)"', dashboard.text))
        )
        sprite_symbols = []
        for url in (r[0] for r in rows if r[0].startswith("/static/icons.")):
            sprite_symbols = re.findall(r'<symbol id="([\w-]+)"', (await http.get(url)).text)

        rows += await embed_rows(http, app, queries)

    print(f"{'what':<44} {'raw':>8} {'gzip':>8} {'brotli':>8}")
    for name, raw, gz, br in rows:
        print(f"{name:<44} {raw:>8,} {gz:>8,} {br:>8,}")
    dash = rows[0]
    verdict = "within" if dash[2] <= FIRST_ROUND_TRIP else "OVER"
    print(f"\ndashboard gzip {dash[2]:,} B: {verdict} the {FIRST_ROUND_TRIP:,} B first round trip")
    over = [
        name for name, _raw, gz, _br in rows if name.startswith("widget") and gz > WIDGET_BUDGET
    ]
    print(f"widgets over the {WIDGET_BUDGET:,} B gzip budget: {', '.join(over) or 'none'}")
    sprite = next((r for r in rows if r[0].startswith("/static/icons.")), None)
    if sprite is not None:
        print(
            f"icon sprite {sprite[0]}: {sprite[1]:,} B raw, {sprite[2]:,} B gzip, "
            f"{sprite[3]:,} B Brotli (cached a year); {len(sprite_symbols)} symbols, "
            f"{len(used_icons)} on the dashboard: {', '.join(used_icons)}"
        )
    print("\nqueries per request (session, client and practice lookups included):")
    for name, n in queries.items():
        print(f"  {name:<20} {n}")


async def embed_rows(http: httpx.AsyncClient, app, queries: dict) -> list[tuple]:  # noqa: ANN001
    """The embedded widgets (issue 16), fetched as a server does with the demo manager's API
    token, and the files a host page and the frame load."""
    from portal.core.actor import Actor
    from portal.core.diagnostics import count_queries
    from portal.embedding import sessions, tokens
    from portal.tables import Client, User

    manager = await User.select(User.id).where(User.username == "manager").first()
    actor = Actor(user_id=manager["id"], role="manager", ip="", portal_url="", practice=None)
    _, token = await tokens.create({"name": "bench", "user": str(manager["id"]),
                                    "scopes": ["read"], "days": "1"}, actor=actor)  # fmt: skip
    client = (await Client.select(Client.id).order_by(Client.id).first())["id"]
    auth = {"Authorization": f"Bearer {token}"}
    rows = []
    for widget in sessions.WIDGETS:
        url = f"/embed/clients/{client}/{widget}"
        rows.append((f"embed {widget} (token)", *await wire_sizes(http, url, auth)))
        with count_queries(app.state.engine) as seen:
            await http.get(url, headers=auth)
        queries[f"embed {widget}"] = len(seen)
    rows.append(("/embed/embed.js (host pages)", *await wire_sizes(http, "/embed/embed.js")))
    fragment = (await http.get(f"/embed/clients/{client}/balance", headers=auth)).text
    for url in sorted(set(re.findall(r'href="https?://[^/]+(/static/[^"]+)"', fragment))):
        rows.append((url, *await wire_sizes(http, url)))
    from portal.core.assets import Assets

    frame_js = Assets().url("embed-frame.js")
    rows.append((f"{frame_js} (in the frame)", *await wire_sizes(http, frame_js)))
    return rows


if __name__ == "__main__":
    asyncio.run(main())
