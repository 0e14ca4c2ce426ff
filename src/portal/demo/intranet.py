"""`portal demo intranet`: a small page on another port standing in for a practice's own
internal system, embedding a demo client's widgets all three ways (docs/embedding.md):

1. In a frame: on every page load its server asks `POST /api/embed-sessions` for a secret
   with its API token, and `embed.js` opens the frame with it.
2. Fetched by its server: the balance widget's HTML, with the token (read-only).
3. Same site, with htmx: the appointments widget, fetched by the browser with the staff
   member's own portal session (sign in to the portal in the same browser first). Works
   when the two share a registrable domain, as 127.0.0.1 on two ports do.

`prepare` (run once, on the portal's database) puts the page's origin on the practice's
embed allow-list and makes an API token for the demo manager; the page itself talks to the
portal over HTTP only, as a real internal system would.
"""

from __future__ import annotations

import html
import json
from datetime import timedelta

import httpx
from litestar import Litestar, get
from litestar.response import Response

from portal.core.actor import Actor
from portal.core.assets import Assets
from portal.core.clock import utcnow
from portal.embedding import origins, tokens
from portal.practice import info
from portal.tables import Appointment, Practice, User
from portal.tables.accounts import Role
from portal.tables.scheduling import AppointmentStatus

STAFF = "manager"  # the demo's manager (Marcus Bell): sees every client


async def prepare(origin: str) -> tuple[str, int]:
    """Allow `origin`, make a day's token for the demo manager; (token, a client's id)."""
    practice = await Practice.select(Practice.id).first()
    staff = await User.select(User.id).where(User.username == STAFF).first()
    if practice is None or staff is None:
        raise RuntimeError("No demo practice here: run `portal demo` first.")
    kept = (await info.current_practice()).embed_origins
    origin = origins.check_origin(origin)
    actor = Actor(user_id=staff["id"], role=Role.manager.value, ip="", portal_url="",
                  practice=await info.current_practice())  # fmt: skip
    if origin not in kept:
        await origins.change(practice["id"], "\n".join([*kept, origin]), actor)
        info.changed()
    _, token = await tokens.create(
        {"name": f"Demo intranet at {origin}", "user": str(staff["id"]),
         "scopes": ["read", "embed"], "days": "1"}, actor=actor,
    )  # fmt: skip
    visit = await (
        Appointment.select(Appointment.client)
        .where(
            Appointment.starts_at > utcnow() + timedelta(hours=1),
            Appointment.status == AppointmentStatus.scheduled,
        )  # fmt: skip
        .order_by(Appointment.starts_at)
        .first()
    )
    if visit is None:
        raise RuntimeError("The demo practice has no upcoming appointment to show.")
    return token, visit["client"]


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Harbor Counseling intranet (demo)</title>
<meta name="htmx-config" content='{{"mode":"cors"}}'>
<script src="{portal}{htmx}" defer></script>
<script src="{portal}/embed/embed.js" defer></script>
<style>
 body {{ font: 100%/1.5 system-ui, sans-serif; margin: 0; color: #1d2430; background: #eef1f5; }}
 header {{ background: #3b2f63; color: #fff; padding: .75rem 1rem; }}
 main {{ max-width: 60rem; margin: 0 auto; padding: 1rem; }}
 section {{ margin-bottom: 2rem; }}
 #log {{ font-family: monospace; background: #fff; padding: .5rem; min-height: 2rem; }}
</style>
</head>
<body>
<header><strong>Harbor Counseling intranet</strong> (demo, not the portal)</header>
<main>
<p>Client #{client}, as the practice's own system shows it, with portal widgets embedded three
ways. The portal is at <a href="{portal}">{portal}</a>.</p>
<section aria-labelledby="way1">
<h2 id="way1">1. In a frame (embed session)</h2>
<div id="framed" data-portal-widget="balance appointments" data-session="{secret}"
     data-title="Client portal: balance and appointments">{frame_fallback}</div>
<h3>Events from the frame</h3>
<div id="log" role="log" aria-live="polite"></div>
</section>
<section aria-labelledby="way2">
<h2 id="way2">2. Fetched by this page's server (API token, read-only)</h2>
{server_side}
</section>
<section aria-labelledby="way3">
<h2 id="way3">3. Same site, your own portal sign-in (htmx)</h2>
<div id="same-site" hx-get="{portal}/embed/clients/{client}/appointments" hx-trigger="load"
     hx-config:inherited='{{"credentials":"include"}}'>
<p>Sign in to <a href="{portal}/login" target="_blank" rel="noopener">the portal</a> as staff in this
browser, then reload: the appointments appear here.</p>
</div>
</section>
</main>
<script>
 ["portal:ready", "portal:confirmed", "portal:cancelled", "portal:paid", "portal:refused"].forEach(function (n) {{
   document.getElementById("framed").addEventListener(n, function (e) {{
     var line = document.createElement("div");
     line.textContent = n + " " + JSON.stringify(e.detail || {{}});
     document.getElementById("log").appendChild(line);
   }});
 }});
</script>
</body>
</html>
"""


def create_intranet_app(portal: str, token: str, client: int, origin: str) -> Litestar:
    """The demo page, talking to the portal at `portal` with `token` for `client`."""
    portal = portal.rstrip("/")
    htmx = Assets().url("htmx-4.0.1.min.js")
    auth = {"Authorization": f"Bearer {token}"}

    @get("/")
    async def page() -> Response:
        async with httpx.AsyncClient(timeout=10) as http:
            made = await http.post(f"{portal}/api/embed-sessions", headers=auth, content=json.dumps(
                {"client": client, "widgets": ["balance", "appointments"], "actions": True,
                 "origin": origin, "theme": {"accent": "#3b2f63", "radius": 6}}))  # fmt: skip
            fragment = await http.get(f"{portal}/embed/clients/{client}/balance", headers=auth)
        secret = made.json().get("secret", "") if made.status_code == 201 else ""
        fallback = "" if secret else (
            f"<p>The portal gave no embed session ({made.status_code}: "
            f"{html.escape(made.text[:200])}).</p>"
        )  # fmt: skip
        body = PAGE.format(portal=portal, htmx=htmx, client=client, secret=html.escape(secret),
                           frame_fallback=fallback, server_side=fragment.text)  # fmt: skip
        return Response(body, media_type="text/html")

    return Litestar(route_handlers=[page], openapi_config=None)
