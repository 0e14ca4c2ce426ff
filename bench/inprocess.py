"""What `bench/run.py` learns before the load: queries per request (in-process, on the same
database, through httpx.ASGITransport as bench/page_weight.py does), free slots to book,
and the signed-in sessions wrk sends (signed in once over HTTP, cookies passed with -H).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import httpx

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
START = re.compile(r"start=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")
WIDGETS = ("tasks", "two-factor", "appointments", "balance")
BOOK_WEEKS = 4  # weeks of each ordinary provider's free slots offered to the booking row


def rows(m: dict) -> list[dict]:
    """Every GET row: label, path, who is signed in, extra headers, the status it must answer."""
    htmx = {"HX-Request": "true"}
    pick = urlencode({"provider": m["slot_week"], "service": m["service"], "where": m["place"][str(m["slot_week"])], "week": m["week"]})  # fmt: skip
    full = urlencode({"provider": m["slot_full"], "service": m["service"], "where": m["place"][str(m["slot_full"])]})  # fmt: skip
    start, end = m["statement_period"]
    out = [{"label": "dashboard `/`", "path": "/", "who": "bench", "headers": {}}]
    out += [{"label": f"widget `{w}`", "path": f"/dashboard/widgets/{w}", "who": "bench", "headers": htmx} for w in WIDGETS]  # fmt: skip
    out += [
        {
            "label": "slot search, one week (provider with 500 upcoming)",
            "path": f"/schedule?{pick}",
            "who": "bench",
            "headers": {},
        },  # fmt: skip
        {
            "label": "slot search, next free time across 90 days (500 booked)",
            "path": f"/schedule?{full}",
            "who": "bench",
            "headers": {},
        },  # fmt: skip
        {"label": "messages list `/messages`", "path": "/messages", "who": "bench", "headers": {}},
        {
            "label": "12-month statement PDF",
            "path": f"/account/statement/pdf?start={start}&end={end}",
            "who": "statement",
            "headers": {},
        },  # fmt: skip
        {
            "label": "dashboard, client with 500 upcoming (heavy tail)",
            "path": "/",
            "who": "heavy",
            "headers": {},
        },  # fmt: skip
    ]
    # The practice's side (issues 15 and 16): the whole practice's agenda for the scheduler
    # (50 providers), the heavy client's ledger for the biller, a widget fetched by a server.
    out += [
        {"label": "staff agenda, a day, 50 providers", "path": f"/staff/agenda?date={m['week']}",
         "who": "scheduler", "headers": {}},
        {"label": "staff agenda, a week, 50 providers",
         "path": f"/staff/agenda/week?date={m['week']}", "who": "scheduler", "headers": {}},
        {"label": "staff ledger, client with 500 upcoming",
         "path": f"/staff/clients/{m['heavy_id']}/billing/ledger", "who": "biller", "headers": {}},
        {"label": "embedded balance widget (API token)",
         "path": f"/embed/clients/{m['bench_id']}/balance", "who": "token", "headers": {}},
    ]  # fmt: skip
    for r in out:
        r["status"] = 200
    return out


STAFF = {"scheduler": "scheduler", "biller": "biller"}  # who -> username (large_practice)


async def api_token() -> str:
    """A read-only API token of the owner, for the embedded-widget row (made in the bench's
    database; wrk sends it as a header)."""
    from portal.core.actor import Actor
    from portal.embedding import tokens
    from portal.tables import User

    owner = await User.select(User.id).where(User.username == "owner").first()
    actor = Actor(user_id=owner["id"], role="owner", ip="", portal_url="", practice=None)
    _, token = await tokens.create({"name": "bench", "user": str(owner["id"]),
                                    "scopes": ["read"], "days": "1"}, actor=actor)  # fmt: skip
    return token


def _who(m: dict) -> dict[str, str]:
    names = {"bench": m["bench"], "statement": m["statement"], "heavy": m["heavy"]}
    names.update({f"booker{n}": u for n, u in enumerate(m["bookers"])})
    return names | STAFF


async def _sign_in(http: httpx.AsyncClient, username: str, password: str) -> str:
    page = await http.get("/login")
    r = await http.post("/login", data={"username": username, "password": password, "_csrf_token": CSRF.search(page.text).group(1)})  # fmt: skip
    home = "/staff" if username in STAFF.values() else "/"
    if r.status_code != 303 or r.headers.get("location") not in (home, f"http://bench.local{home}"):
        raise RuntimeError(f"sign-in as {username} answered {r.status_code} {r.headers.get('location')}")  # fmt: skip
    page = await http.get("/staff" if username in STAFF.values() else "/schedule")
    return CSRF.search(page.text).group(1)


async def run(env: dict[str, str], m: dict) -> dict:
    from portal.app import create_app
    from portal.core.diagnostics import count_queries
    from portal.settings import load

    app = create_app(load(environ=env))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the app logs at INFO
    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)  # a warning per PDF rendered
    engine = app.state.engine
    out: dict = {"rows": rows(m), "bookers": m["bookers"]}
    async with app.lifespan():
        clients = {}
        for who in ("bench", "statement", "heavy", "booker0", *STAFF):
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local")  # fmt: skip
            clients[who] = (http, await _sign_in(http, _who(m)[who], m["password"]))
        out["token"] = await api_token()
        clients["token"] = (httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local",
                                              headers={"Authorization": f"Bearer {out['token']}"}), "")  # fmt: skip
        for r in out["rows"]:
            http = clients[r["who"]][0]
            first = await http.get(r["path"], headers=r["headers"])  # warm: count the steady state
            if first.status_code != r["status"]:
                raise RuntimeError(f"{r['path']} answered {first.status_code} in-process")
            with count_queries(engine) as seen:
                await http.get(r["path"], headers=r["headers"])
            r["queries"] = len(seen)
            if r["path"].startswith("/schedule"):
                offered = len(set(START.findall(first.text)))
                r["note"] = f"{offered} start times offered" if offered else "this week is full: the page finds the next free time"  # fmt: skip
        out["free_slots"] = await _free_slots(clients["bench"][0], m)
        http, token = clients["booker0"]
        body = dict(parse_qsl(out["free_slots"].pop()))
        with count_queries(engine) as seen:
            r = await http.post("/schedule/book", data={**body, "_csrf_token": token})
        if r.status_code != 303:
            raise RuntimeError(f"in-process booking answered {r.status_code}")
        out["book_queries"] = len(seen)
        for http, _ in clients.values():
            await http.aclose()
    return out


async def _free_slots(http: httpx.AsyncClient, m: dict) -> list[str]:
    """Form bodies for distinct, non-overlapping free slots of the ordinary providers."""
    first = date.fromisoformat(m["week"]) - timedelta(weeks=1)
    bodies = []
    for p in range(1, 51):
        if p in (m["slot_week"], m["slot_full"]):
            continue
        base = {"provider": p, "service": m["service"], "where": m["place"][str(p)]}
        taken_until = None
        for w in range(BOOK_WEEKS):
            page = await http.get("/schedule?" + urlencode({**base, "week": str(first + timedelta(weeks=w))}))  # fmt: skip
            for s in sorted(set(START.findall(page.text))):
                at = datetime.fromisoformat(s.replace("Z", "+00:00"))
                if taken_until is None or at >= taken_until:
                    bodies.append(urlencode({**base, "start": s}))
                    taken_until = at + timedelta(minutes=45)
    return bodies


def sign_in_over_http(url: str, m: dict) -> dict[str, dict[str, str]]:
    """One session per role, signed in through the real server: its Cookie header and CSRF token."""
    out = {}
    for who, username in _who(m).items():
        session = _HttpSession(url)
        page = session.request("GET", "/login")
        token = CSRF.search(page.text).group(1)
        r = session.request("POST", "/login", data={"username": username, "password": m["password"], "_csrf_token": token})  # fmt: skip
        if r.status_code != 303:
            raise RuntimeError(f"sign-in over HTTP as {username} answered {r.status_code}")
        page = "/staff" if username in STAFF.values() else "/schedule"
        token = CSRF.search(session.request("GET", page).text).group(1)
        session.http.close()
        out[who] = {"cookie": session.cookie(), "csrf": token}
    return out


class _HttpSession:
    """Cookies kept by hand (sent as one Cookie header, the way wrk will send them)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.jar: dict[str, str] = {}

    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())

    def request(self, method: str, path: str, **kw) -> httpx.Response:  # noqa: ANN003
        self.http.cookies.clear()
        r = self.http.request(method, path, headers={"Cookie": self.cookie()}, **kw)
        self.jar.update(dict(r.cookies.items()))
        return r


def check(url: str, headers: dict[str, str], status: int) -> None:
    r = httpx.get(url, headers=headers, timeout=60)
    if r.status_code != status:
        raise RuntimeError(f"{url} answered {r.status_code}, not {status}")


def wire_bytes(url: str, headers: dict[str, str]) -> int:
    """The body's bytes as sent (compressed when the server compressed it)."""
    with httpx.stream("GET", url, headers=headers, timeout=60) as r:
        return sum(len(chunk) for chunk in r.iter_raw())
