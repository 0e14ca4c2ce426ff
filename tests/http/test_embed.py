"""`/embed/` and `/api/embed-sessions` over HTTP: the three ways in (an API token from a
server, an embed session's frame, the staff member's own session from an allowed origin),
what each may open and do, CORS and framing by the allow-list, and the clear refusals."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from portal.core.clock import utcnow
from portal.embedding import sessions, tokens
from portal.practice import info
from portal.tables import ApiToken, Appointment, AuditEvent, Practice
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from tests import factories
from tests.unit.test_embedding import manager
from tests.web import Page, sign_in

ORIGIN = "https://intranet.example"
OTHER = "https://evil.example"


async def world() -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await Practice.update({Practice.settings: {"embed_origins": [ORIGIN]}}).where(Practice.id == p)
    info.changed()
    ana = await factories.provider(p, "drana", display_name="Dr. Ana")
    ben = await factories.provider(p, "drben", display_name="Dr. Ben")
    alice = await factories.client(p, "alice", first_name="Alice", last_name="Archer")
    bob = await factories.client(p, "bob", first_name="Bob", last_name="Baker")
    service = await factories.service(p)
    visit = await factories.appointment(
        alice["client_id"], ana["provider_id"], service, utcnow() + timedelta(days=3)
    )
    await factories.appointment(
        bob["client_id"], ben["provider_id"], service, utcnow() + timedelta(days=3)
    )
    await factories.ledger(alice["client_id"], EntryKind.charge, 12500, description="Session")
    w = {
        "marcus": await factories.staff("marcus", Role.manager),
        "priya": await factories.staff("priya", Role.scheduler),
        "ana": ana["user_id"], "ben": ben["user_id"],
        "alice": alice["client_id"], "bob": bob["client_id"], "visit": visit,
    }  # fmt: skip
    return w


async def token_for(w: dict, user: int, scopes=("read", "embed")) -> str:
    _, token = await tokens.create(
        {"name": "EHR", "user": str(user), "scopes": list(scopes), "days": "30"},
        actor=manager(w["marcus"]),
    )
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def new_session(http, token: str, **body) -> dict:
    r = await http.post("/api/embed-sessions", headers=bearer(token),
                        content=json.dumps(body), )  # fmt: skip
    return {"status": r.status_code, **r.json()}


async def frame_of(http, secret: str) -> tuple[str, str]:
    """Open the frame as embed.js does; its page and the frame token it carries."""
    r = await http.post("/embed/start", data={"secret": secret})
    assert r.status_code == 200, r.text
    return r.text, re.search(r'"x-portal-embed": "([^"]+)"', r.text).group(1)


async def test_a_server_reads_a_widget_with_its_token_and_nothing_more(http):
    w = await world()
    token = await token_for(w, w["ana"], scopes=("read",))
    r = await http.get(f"/embed/clients/{w['alice']}/balance", headers=bearer(token))
    page = Page(r)
    assert r.status_code == 200 and "$125.00" in page.text and "Alice Archer" in page.text
    assert "<html" not in r.text and 'rel="stylesheet"' in r.text  # a fragment, styled
    appointments = Page(await http.get(f"/embed/clients/{w['alice']}/appointments",
                                       headers=bearer(token)))  # fmt: skip
    assert "Not confirmed" in appointments.text and "<form" not in appointments.raw  # read-only
    [read] = await AuditEvent.select().where(AuditEvent.action == "staff.read").limit(1)
    assert "embed:balance" in json.dumps(read["detail"])
    # Dr. Ana's token never reaches Bob, nor posts; an unknown or revoked token gets 401.
    assert (
        await http.get(f"/embed/clients/{w['bob']}/balance", headers=bearer(token))
    ).status_code == 404
    url = f"/embed/clients/{w['alice']}/appointments/{w['visit']}/confirm"
    assert (await http.post(url, headers=bearer(token))).status_code == 403
    [row] = await ApiToken.select()
    await tokens.revoke(row["id"], actor=manager(w["marcus"]))
    r = await http.get(f"/embed/clients/{w['alice']}/balance", headers=bearer(token))
    assert r.status_code == 401 and "not valid" in Page(r).text and "Open in the portal" in r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    # A scheduler's token: no balance (billing is not theirs to see).
    sched = await token_for(w, w["priya"], scopes=("read",))
    assert (
        await http.get(f"/embed/clients/{w['alice']}/balance", headers=bearer(sched))
    ).status_code == 404
    assert (
        await http.get(f"/embed/clients/{w['alice']}/contact", headers=bearer(sched))
    ).status_code == 200
    assert (await Appointment.select().where(Appointment.id == w["visit"]).first())[
        "status"
    ] == "scheduled"


async def test_an_embed_session_opens_once_its_client_s_widgets_only_and_acts_if_allowed(http):
    w = await world()
    token = await token_for(w, w["ana"])
    for body, status, field in [
        ({"client": w["alice"], "widgets": ["balance"], "origin": OTHER}, 422, "origin"),
        ({"client": w["bob"], "widgets": ["balance"], "origin": ORIGIN}, 404, None),
        ({"client": w["alice"], "widgets": ["secrets"], "origin": ORIGIN}, 422, "widgets"),
    ]:  # fmt: skip
        made = await new_session(http, token, **body)
        assert made["status"] == status and (field is None or field in made["errors"]), made
    assert (await new_session(http, "pt_nope", client=w["alice"]))["status"] == 401
    read_only = await token_for(w, w["ana"], scopes=("read",))
    assert (await new_session(http, read_only, client=w["alice"], widgets=["balance"],
                              origin=ORIGIN))["status"] == 401  # fmt: skip
    made = await new_session(http, token, client=w["alice"], widgets=["balance", "appointments"],
                             actions=True, origin=ORIGIN, theme={"accent": "#0a5533"})  # fmt: skip
    assert made["status"] == 201 and made["secret"].startswith("es_")
    page, frame = await frame_of(http, made["secret"])
    assert "$125.00" in page and "Upcoming appointments" in page
    other = await new_session(http, token, client=w["alice"], widgets=["balance"], origin=ORIGIN)
    r = await http.post("/embed/start", data={"secret": other["secret"]}, headers={"Origin": OTHER})
    assert r.status_code == 401  # spent from another site's page
    r = await http.post("/embed/start", data={"secret": made["secret"]})  # used: refused
    assert (
        r.status_code == 401 and "already opened" in Page(r).text and "Open in the portal" in r.text
    )
    # The frame may be framed by the session's origin only; the rest of the portal by nobody.
    start = await http.post("/embed/start", data={"secret": (await new_session(
        http, token, client=w["alice"], widgets=["balance"], origin=ORIGIN))["secret"]})  # fmt: skip
    assert f"frame-ancestors {ORIGIN}" in start.headers["content-security-policy"]
    assert "x-frame-options" not in start.headers
    login = await http.get("/login")
    assert login.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    # With its token the frame reads its widgets, not another one nor another client.
    headers = {"X-Portal-Embed": frame, "HX-Request": "true"}
    assert (
        await http.get(f"/embed/clients/{w['alice']}/balance", headers=headers)
    ).status_code == 200
    assert (
        await http.get(f"/embed/clients/{w['alice']}/contact", headers=headers)
    ).status_code == 404
    assert (
        await http.get(f"/embed/clients/{w['bob']}/balance", headers=headers)
    ).status_code == 404
    # Confirm inside the frame: the widget comes back, and the host learns of it.
    url = f"/embed/clients/{w['alice']}/appointments/{w['visit']}/confirm"
    r = await http.post(url, headers=headers)
    assert r.status_code == 200 and "Confirmed." in r.text
    assert json.loads(r.headers["hx-trigger"]) == {
        "portal:confirmed": {"target": "body", "appointment": w["visit"]}
    }
    assert (await Appointment.select().where(Appointment.id == w["visit"]).first())[
        "status"
    ] == "confirmed"
    r = await http.post(url, headers=headers)
    assert r.status_code == 409 and "already confirmed" in r.text
    # Cancel needs a reason; without JavaScript the field carries the frame's token.
    cancel = f"/embed/clients/{w['alice']}/appointments/{w['visit']}/cancel"
    r = await http.post(cancel, data={"_embed": frame, "reason": " "})
    assert r.status_code == 422 and "Say why" in r.text and "<html" in r.text
    r = await http.post(cancel, data={"_embed": frame, "reason": "Called to cancel"})
    assert r.status_code == 200 and "Cancelled." in r.text
    # Taken off the allow-list, the site's frames stop.
    await Practice.update({Practice.settings: {"embed_origins": []}}).where(Practice.id > 0)
    info.changed()
    r = await http.get(f"/embed/clients/{w['alice']}/balance", headers=headers)
    assert r.status_code == 401 and "taken it off" in Page(r).text
    await Practice.update({Practice.settings: {"embed_origins": [ORIGIN]}}).where(Practice.id > 0)
    info.changed()
    # Revoking the token ends the frame at once.
    [row] = [t for t in await ApiToken.select() if "embed" in t["scopes"]]
    await tokens.revoke(row["id"], actor=manager(w["marcus"]))
    r = await http.get(f"/embed/clients/{w['alice']}/balance", headers=headers)
    assert r.status_code == 401 and "expired" in Page(r).text


async def test_a_session_without_actions_is_read_only(http):
    w = await world()
    token = await token_for(w, w["ana"])
    made = await new_session(http, token, client=w["alice"], widgets=["appointments"],
                             origin=ORIGIN)  # fmt: skip
    page, frame = await frame_of(http, made["secret"])
    assert "Confirm" not in page
    url = f"/embed/clients/{w['alice']}/appointments/{w['visit']}/confirm"
    r = await http.post(url, headers={"X-Portal-Embed": frame})
    assert r.status_code == 403 and "read-only" in r.text


async def test_the_staff_session_way_needs_an_allowed_origin_and_the_csrf_token(http):
    w = await world()
    await sign_in(http, "drana")
    url = f"/embed/clients/{w['alice']}/appointments"
    r = await http.get(url, headers={"Origin": ORIGIN, "HX-Request": "true"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    token = re.search(r'"x-embed-csrf": "([^"]+)"', r.text).group(1)
    assert "x-csrftoken" not in r.text and "_csrf_token" not in r.text
    assert "https://" in r.text or "http://" in r.text  # absolute URLs for another origin
    other = await http.get(url, headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in other.headers
    pre = await http.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "hx-request"})  # fmt: skip
    assert pre.status_code == 204 and "HX-Request" in pre.headers["access-control-allow-headers"]
    assert pre.headers["access-control-allow-origin"] == ORIGIN  # never "*"
    bad = await http.options(
        url, headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"}
    )
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers
    confirm = f"/embed/clients/{w['alice']}/appointments/{w['visit']}/confirm"
    r = await http.post(confirm, headers={"Origin": ORIGIN, "HX-Request": "true"})
    assert r.status_code == 403 and "expired" in r.text  # no CSRF token
    r = await http.post(
        confirm, headers={"Origin": ORIGIN, "HX-Request": "true", "x-embed-csrf": token}
    )
    assert r.status_code == 200 and "Confirmed." in r.text
    # The fragment's token is good for /embed/ only: not for any other portal form.
    r = await http.post("/staff/settings/embedding/origins",
                        data={"embed_origins": "https://attacker.example", "_csrf_token": token},
                        headers={"x-csrftoken": token})  # fmt: skip
    assert r.status_code == 403
    assert "https://attacker.example" not in (await info.current_practice()).embed_origins
    # A link followed top-level (from any site, the cookie being Lax) shows nothing.
    r = await http.get(url)
    assert r.status_code == 401 and "Alice" not in r.text
    # Another provider's client is out of reach.
    r = await http.get(f"/embed/clients/{w['bob']}/appointments", headers={"HX-Request": "true"})
    assert r.status_code == 404


async def test_a_client_or_nobody_gets_the_clear_message_not_a_sign_in_form(http):
    w = await world()
    r = await http.get(f"/embed/clients/{w['alice']}/balance")
    assert (
        r.status_code == 401 and "Open in the portal" in r.text and 'name="password"' not in r.text
    )
    await sign_in(http, "alice")
    r = await http.get(f"/embed/clients/{w['alice']}/balance")
    assert r.status_code == 401
    # Staff who must still set up two-factor sign-in get no client's data this way either.
    await Practice.update({Practice.two_factor_policy: "staff"}).where(Practice.id > 0)
    info.changed()
    await sign_in(http, "marcus")
    r = await http.get(f"/embed/clients/{w['alice']}/balance")
    assert r.status_code == 401 and "two-factor" in Page(r).text and "$125.00" not in r.text


@pytest.mark.parametrize(
    "theme", [{"accent": "red"}, {"accent": "#ffff00"}, {"font": "Comic"}, {"radius": 99}, {"x": 1}]
)
async def test_a_theme_outside_the_allow_list_is_refused(http, theme):
    w = await world()
    made = await new_session(http, await token_for(w, w["ana"]), client=w["alice"],
                             widgets=["balance"], origin=ORIGIN, theme=theme)  # fmt: skip
    assert made["status"] == 422 and "theme" in made["errors"]


async def test_each_widget_costs_the_same_few_queries_however_much_the_client_has(http, app):
    """Counted with a token (its check, its audit) and with a frame, at 1 and at 30 of each
    thing a widget lists."""
    from portal.core.diagnostics import count_queries
    from portal.tables import Service

    w = await world()
    token = await token_for(w, w["ana"])
    made = await new_session(http, token, client=w["alice"], origin=ORIGIN,
                             widgets=["balance", "appointments", "forms", "contact"])  # fmt: skip
    _, frame = await frame_of(http, made["secret"])
    service = (await Service.select(Service.id).first())["id"]
    ana = (await Appointment.select(Appointment.provider).first())["provider"]
    counts: dict = {}
    for n in (1, 30):
        while await Appointment.count().where(Appointment.client == w["alice"]) < n:
            k = await Appointment.count()
            await factories.appointment(w["alice"], ana, service, utcnow() + timedelta(days=4 + k))
            await factories.ledger(w["alice"], EntryKind.charge, 100)
        for widget in sessions.WIDGETS:
            for way, headers in (("token", bearer(token)), ("frame", {"X-Portal-Embed": frame})):
                url = f"/embed/clients/{w['alice']}/{widget}"
                if way == "frame" and widget not in ("balance", "appointments", "forms", "contact"):
                    continue
                with count_queries(app.state.engine) as seen:
                    r = await http.get(url, headers=headers)
                assert r.status_code == 200, (widget, way, r.text[:300])
                counts[(n, widget, way)] = len(seen)
    for (_n, widget, way), count in counts.items():
        assert count == counts[(1, widget, way)], counts
        assert count <= 10, (widget, way, count)
    print(sorted(counts.items()))


async def test_billing_staff_record_a_desk_payment_in_the_frame_and_the_host_hears_it(http):
    w = await world()
    biller = await factories.staff("tom", Role.biller)
    token = await token_for(w, biller)
    made = await new_session(http, token, client=w["alice"], widgets=["balance"],
                             actions=True, origin=ORIGIN)  # fmt: skip
    page, frame = await frame_of(http, made["secret"])
    assert "Record a payment taken at the desk" in page
    url = f"/embed/clients/{w['alice']}/balance/payments"
    headers = {"X-Portal-Embed": frame, "HX-Request": "true"}
    r = await http.post(url, headers=headers, data={"amount": "-5", "method": "bitcoin",
                                                    "reference": "No. 7"})  # fmt: skip
    assert r.status_code == 422 and "minus sign" in Page(r).text and 'value="No. 7"' in r.text
    r = await http.post(url, headers=headers, data={"amount": "25", "method": "cheque",
                                                    "reference": "No. 7"})  # fmt: skip
    assert r.status_code == 200 and "Payment of $25.00 recorded." in r.text and "$100.00" in r.text
    paid = json.loads(r.headers["hx-trigger"])["portal:paid"]
    assert paid["cents"] == 2500
    # A provider's frame, even with actions, takes no payments.
    ana = await new_session(http, await token_for(w, w["ana"]), client=w["alice"],
                            widgets=["balance"], actions=True, origin=ORIGIN)  # fmt: skip
    page, ana_frame = await frame_of(http, ana["secret"])
    assert "Record a payment" not in page
    r = await http.post(url, headers={"X-Portal-Embed": ana_frame},
                        data={"amount": "5", "method": "cash"})  # fmt: skip
    assert r.status_code == 403
