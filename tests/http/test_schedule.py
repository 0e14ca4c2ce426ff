"""Self-scheduling over HTTP: choices, reasons, booking, and the race for one slot."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.core.clock import utcnow
from portal.scheduling import availability
from portal.tables import Appointment, AuditEvent, OutboxMail
from portal.tables.people import ClientStatus
from tests import factories
from tests.conftest import client_for
from tests.web import csrf_token, mails, sign_in

NY = ZoneInfo("America/New_York")


async def practice_with_hours(**provider_rules):
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    loc = await factories.location(p, name="Downtown office")
    prov = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    svc = await factories.service(p, name="Individual therapy", duration_minutes=45)
    family = await factories.service(p, name="Family therapy", client_may_schedule=False)
    in_person_only = await factories.service(p, name="Group therapy", telehealth_allowed=False)
    rules = {
        "slot_minutes": 30,
        "self_schedule": ["new", "active"],
        "min_notice_hours": 24,
        "horizon_days": 30,
    }
    rules.update(provider_rules)
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    await availability.apply(
        {
            "provider": [
                {
                    "username": "ruiz",
                    **rules,
                    "hours": [
                        {
                            "days": every_day,
                            "from": "09:00",
                            "to": "12:00",
                            "place": "Downtown office",
                        },
                        {"days": every_day, "from": "13:00", "to": "15:00", "place": "telehealth"},
                    ],
                }
            ]
        }
    )
    return {"practice": p, "location": loc, "provider": prov["provider_id"], "service": svc,
            "family": family, "group": in_person_only}  # fmt: skip


def slot_links(page: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'href="(/schedule/review\?[^"]+)"', page)]


async def test_choose_who_what_where_then_book_a_real_slot(http):
    env = await practice_with_hours()
    await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    page = await http.get("/schedule")
    assert page.status_code == 200 and "Dr. Elena Ruiz" in page.text
    # Choosing the provider offers only what clients may book.
    page = await http.get(f"/schedule?provider={env['provider']}", headers={"HX-Request": "true"})
    assert "<html" not in page.text and page.text.lstrip().startswith('<div id="schedule">')
    assert "Individual therapy" in page.text and "Family therapy" not in page.text
    where = env["location"]
    page = await http.get(
        f"/schedule?provider={env['provider']}&service={env['service']}&where={where}"
    )
    links = slot_links(page.text)
    assert links, "no slots offered"
    # The first offered slot respects the 24-hour notice.
    first = datetime.fromisoformat(
        re.search(r"start=([^&]+)", links[0]).group(1).replace("Z", "+00:00")
    )
    assert first >= utcnow() + timedelta(hours=24)
    review = await http.get(links[0])
    assert review.status_code == 200 and "Book this appointment" in review.text
    token = await csrf_token(http, links[0])
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', review.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    r = await http.post("/schedule/book", data={**fields, "_csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/schedule/booked/")
    booked = await http.get(r.headers["location"])
    assert "You're booked" in booked.text and "calendar.ics" in booked.text
    [appt] = await Appointment.select()
    assert appt["starts_at"] == first and appt["ends_at"] == first + timedelta(minutes=45)
    assert appt["location"] == where and not appt["telehealth"]
    assert (
        f'id="appointment-{appt["id"]}"' in (await http.get("/dashboard/widgets/appointments")).text
    )
    assert await AuditEvent.count().where(AuditEvent.action == "appointment.booked") == 1
    [mail] = await mails("appointment_changed")
    assert "booked" in mail["subject"] and "Individual therapy" not in mail["body"]
    # The booked time is no longer offered.
    page = await http.get(
        f"/schedule?provider={env['provider']}&service={env['service']}&where={where}"
    )
    assert links[0] not in slot_links(page.text)


async def test_each_reason_for_offering_nothing_is_said(http):
    env = await practice_with_hours(self_schedule=["active"])
    await factories.client(env["practice"], "newbie", status=ClientStatus.new)
    await sign_in(http, "newbie")
    base = f"/schedule?provider={env['provider']}"
    text = html.unescape((await http.get(base)).text)
    assert "does not take online bookings for clients whose status is “new”" in text

    await availability.apply(
        {"provider": [{"username": "ruiz", "self_schedule": ["new", "active"]}]}
    )
    text = html.unescape((await http.get(f"{base}&service={env['family']}")).text)
    assert "“Family therapy” can't be booked online" in text
    text = html.unescape((await http.get(f"{base}&service={env['group']}&where=telehealth")).text)
    assert "“Group therapy” is not offered by telehealth" in text
    other = await factories.location(env["practice"], name="Riverside office")
    text = html.unescape((await http.get(f"{base}&service={env['service']}&where={other}")).text)
    assert "does not take online bookings there" in text

    # Fully booked for the whole horizon: say so, and suggest what to try.
    await availability.apply({"provider": [{"username": "ruiz", "horizon_days": 3}]})
    day = utcnow().astimezone(NY).date()
    client = (await factories.client(env["practice"], "filler"))["client_id"]
    for n in range(6):
        d = day + timedelta(days=n)
        start = datetime(d.year, d.month, d.day, 9, tzinfo=NY).astimezone(UTC)
        await factories.appointment(
            client, env["provider"], env["service"], start, minutes=180, location_id=env["location"]
        )
    text = html.unescape(
        (await http.get(f"{base}&service={env['service']}&where={env['location']}")).text
    )
    assert "has no free time for this in the next 3 days. Try another provider or place" in text

    # No weekly hours at all: no online bookings.
    await availability.apply({"provider": [{"username": "ruiz", "hours": []}]})
    text = html.unescape((await http.get(base)).text)
    assert "Dr. Elena Ruiz does not take online bookings. Please call" in text


async def test_crafted_posts_are_checked_again_on_the_server(http):
    env = await practice_with_hours()
    await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    token = await csrf_token(http, "/schedule")
    day = (utcnow() + timedelta(days=5)).astimezone(NY).date()
    base = {
        "provider": str(env["provider"]),
        "service": str(env["service"]),
        "where": str(env["location"]),
        "_csrf_token": token,
    }

    def at(d, hh, mm=0):
        return (
            datetime(d.year, d.month, d.day, hh, mm, tzinfo=NY)
            .astimezone(UTC)
            .strftime("%Y-%m-%dT%H:%M:%SZ")
        )

    r = await http.post("/schedule/book", data={**base, "start": at(day, 20)})  # outside the hours
    assert r.status_code == 409 and "just taken" in r.text or r.status_code == 422
    r = await http.post("/schedule/book", data={**base, "start": at(day, 9, 10)})  # off the grid
    assert r.status_code in (409, 422)
    soon = (utcnow() + timedelta(hours=2)).astimezone(NY)
    r = await http.post(
        "/schedule/book", data={**base, "start": soon.strftime("%Y-%m-%dT%H:00:00%z")}
    )
    assert r.status_code == 422 and "24 hours" in html.unescape(r.text)
    r = await http.post("/schedule/book", data={**base, "start": at(day + timedelta(days=60), 9)})
    assert r.status_code == 422 and "30 days ahead" in html.unescape(r.text)
    r = await http.post(
        "/schedule/book", data={**base, "service": str(env["family"]), "start": at(day, 9)}
    )
    assert r.status_code == 422 and "can't be booked online" in html.unescape(r.text)
    r = await http.post("/schedule/book", data={**base, "start": "not a time"})
    assert r.status_code == 422
    # The user's choices are kept in the re-rendered picker.
    assert f'value="{env["service"]}" selected' in r.text
    assert await Appointment.count() == 0


async def test_fifty_clients_race_for_one_slot_exactly_one_wins(app):
    env = await practice_with_hours()
    clients = []
    for n in range(50):
        await factories.client(env["practice"], f"racer{n:02d}", status=ClientStatus.active)
    day = (utcnow() + timedelta(days=4)).astimezone(NY).date()
    start = (
        datetime(day.year, day.month, day.day, 10, tzinfo=NY)
        .astimezone(UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    try:
        for n in range(50):
            c = client_for(app)
            await c.__aenter__()
            await sign_in(c, f"racer{n:02d}")
            token = await csrf_token(c, "/schedule")
            clients.append((c, token))
        data = {
            "provider": str(env["provider"]),
            "service": str(env["service"]),
            "where": str(env["location"]),
            "start": start,
        }
        results = await asyncio.gather(
            *(c.post("/schedule/book", data={**data, "_csrf_token": t}) for c, t in clients)
        )
    finally:
        for c, _ in clients:
            await c.__aexit__(None, None, None)
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(303) == 1, statuses
    assert statuses.count(409) == 49, statuses
    loser = next(r for r in results if r.status_code == 409)
    assert "That time was just taken" in loser.text and "Free times" in loser.text
    assert await Appointment.count() == 1
    assert await AuditEvent.count().where(AuditEvent.action == "appointment.booked") == 1
    assert await OutboxMail.count().where(OutboxMail.kind == "appointment_changed") == 1


async def test_the_database_refuses_overlaps_whatever_the_code_does():
    """The last line of defence holds for any writer, not just the booking code."""
    env = await practice_with_hours()
    c = await factories.client(env["practice"], "alice")
    start = utcnow() + timedelta(days=3)
    await factories.appointment(c["client_id"], env["provider"], env["service"], start)
    try:
        await factories.appointment(
            c["client_id"], env["provider"], env["service"], start + timedelta(minutes=30)
        )
    except Exception as exc:  # noqa: BLE001 - the engine's own integrity error
        assert "no_double_booking" in str(exc)
    else:
        raise AssertionError("an overlapping appointment was stored")
    # Back to back is fine; a cancelled one does not block.
    await factories.appointment(
        c["client_id"], env["provider"], env["service"], start + timedelta(minutes=45)
    )
    await Appointment.update({Appointment.status: "cancelled"}).where(
        Appointment.starts_at == start
    )
    await factories.appointment(
        c["client_id"], env["provider"], env["service"], start - timedelta(minutes=15)
    )


async def test_a_service_is_shown_as_it_is_named_and_times_in_the_zones_name(http):
    """Not "Individual therapy, 45 minutes (45 min)", not "America/New York time"."""
    env = await practice_with_hours()
    named = await factories.service(
        env["practice"], name="Couples therapy, 50 minutes", duration_minutes=50
    )
    await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    page = (await http.get(f"/schedule?provider={env['provider']}")).text
    assert f'<option value="{named}">Couples therapy, 50 minutes</option>' in page
    assert f'<option value="{env["service"]}">Individual therapy (45 min)</option>' in page
    where = env["location"]
    page = await http.get(
        f"/schedule?provider={env['provider']}&service={env['service']}&where={where}"
    )
    assert "Times are in Eastern Time." in page.text
