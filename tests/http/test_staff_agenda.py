"""Staff › Agenda over HTTP: the day and week views (who sees which provider), booking for a
client, moving, cancelling and marking an appointment, each with its refusals, the client's
mails (read back from a real SMTP server), the audit (old and new values) and the query
count at 50 providers."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.tables import Appointment, AuditEvent, LedgerEntry, Provider
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from portal.tables.scheduling import AppointmentStatus
from tests import factories
from tests.http.test_html_valid import as_document, check, required_vnu_jar
from tests.http.test_schedule import practice_with_hours
from tests.unit.test_mail import smtp, worker_for  # noqa: F401 - the real SMTP server fixture
from tests.web import Page, mails, post_form, sign_in, signed_in

NY = ZoneInfo("America/New_York")
AGENDA = "/staff/agenda"


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time `days` from today in the practice's zone, as UTC."""
    day = utcnow().astimezone(NY).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=NY).astimezone(UTC)


async def world() -> dict:
    """Dr. Ruiz's practice (test_schedule: every day 9-12 at Downtown, 13-15 telehealth;
    30-minute slots, 24 hours' notice, 30 days' horizon), a second provider, every staff role,
    and clients of each provider with an appointment in three days."""
    env = await practice_with_hours()
    p = env["practice"]
    chen = await factories.provider(p, "chen", display_name="James Chen")
    env["chen"] = chen["provider_id"]
    for username, role in [("owner", Role.owner), ("marcus", Role.manager),
                           ("priya", Role.scheduler), ("tom", Role.biller)]:  # fmt: skip
        await factories.staff(username, role)
    alice = await factories.client(p, "alice", status=ClientStatus.active)
    bob = await factories.client(p, "bob", status=ClientStatus.active)
    env["alice"], env["bob"] = alice["client_id"], bob["client_id"]
    env["visit"] = await factories.appointment(
        env["alice"], env["provider"], env["service"], at(3, 10), location_id=env["location"]
    )
    env["chen_visit"] = await factories.appointment(
        env["bob"], env["chen"], env["service"], at(3, 10), location_id=env["location"]
    )
    return env


def day_of(when: datetime) -> str:
    return when.astimezone(NY).date().isoformat()


async def row(appointment_id: int) -> dict:
    return await Appointment.select().where(Appointment.id == appointment_id).first()


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]) for r in rows]


def visit_url(appointment_id: int, action: str = "") -> str:
    return f"{AGENDA}/appointments/{appointment_id}" + (f"/{action}" if action else "")


# --- The views --------------------------------------------------------------------------


async def test_the_scheduler_sees_every_provider_by_day_and_week(http):
    env = await world()
    await sign_in(http, "priya")
    day = day_of(at(3, 10))
    page = Page(await http.get(f"{AGENDA}?date={day}&provider=all"))
    assert page.status_code == 200, page.text
    assert "Alice Tester" in page.text and "Bob Tester" in page.text
    assert "Dr. Elena Ruiz" in page.text and "James Chen" in page.text
    assert f'href="/staff/clients/{env["alice"]}"' in page.raw
    assert f'href="{visit_url(env["visit"])}"' in page.raw
    assert "10:00 AM–10:45 AM" in page.text and "Downtown office" in page.text
    assert "Individual therapy" in page.text and "Scheduled" in page.text
    prev = day_of(at(2, 10))
    assert f"?date={prev}&amp;provider=all" in page.raw and 'rel="next"' in page.raw
    # One provider's day: the other's client is not there.
    page = Page(await http.get(f"{AGENDA}?date={day}&provider={env['chen']}"))
    assert "Bob Tester" in page.text and "Alice Tester" not in page.text
    # The week holds the day, Monday to Sunday.
    week = Page(await http.get(f"{AGENDA}/week?date={day}"))
    assert week.status_code == 200 and "Alice Tester" in week.text and "Bob Tester" in week.text
    assert week.text.count("<h3") == 7 or week.raw.count('class="agenda-day"') == 7
    assert "Previous week" in week.text and "Day view" in week.text
    # htmx asks for the period alone.
    r = await http.get(f"{AGENDA}?date={day}", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text and 'id="agenda"' in r.text
    # A bad date is today; an unknown provider is not found.
    assert (await http.get(f"{AGENDA}?date=2026-13-45")).status_code == 200
    assert (await http.get(f"{AGENDA}?provider=999999")).status_code == 404
    assert (await http.get(f"{AGENDA}?provider=x")).status_code == 404


async def test_a_provider_sees_only_their_own_agenda_and_the_biller_none(http, app):
    env = await world()
    await sign_in(http, "ruiz")
    day = day_of(at(3, 10))
    page = Page(await http.get(f"{AGENDA}?date={day}"))
    assert page.status_code == 200 and "Alice Tester" in page.text
    assert "Bob Tester" not in page.text and "James Chen" not in page.text
    assert (await http.get(f"{AGENDA}?date={day}&provider=all")).status_code == 200
    assert (await http.get(f"{AGENDA}?provider={env['chen']}")).status_code == 404
    assert (await http.get(f"{AGENDA}/week?provider={env['chen']}")).status_code == 404
    assert (await http.get(visit_url(env["chen_visit"]))).status_code == 404
    r = await post_form(http, visit_url(env["chen_visit"], "cancel"), {"reason": "x"}, page=AGENDA)
    assert r.status_code == 404
    assert (await row(env["chen_visit"]))["status"] == "scheduled"
    async with signed_in(app, "tom") as biller:
        assert (await biller.get(AGENDA)).status_code == 403
        assert (await biller.get(visit_url(env["visit"]))).status_code == 403
    async with signed_in(app, "alice") as client:
        assert (await client.get(AGENDA)).status_code == 403


async def test_requested_bookings_show_a_badge_and_the_way_to_approve_them(http):
    env = await world()
    await Appointment.update({Appointment.status: AppointmentStatus.requested}).where(
        Appointment.id == env["visit"]
    )
    await sign_in(http, "marcus")
    page = Page(await http.get(f"{AGENDA}?date={day_of(at(3, 10))}"))
    assert "Requested" in page.text and 'href="/staff/agenda/requests"' in page.raw
    assert "1 requested booking here waits for approval." in page.text


# --- Booking for a client -----------------------------------------------------------------


def booking(env: dict, when: datetime, **extra) -> dict:
    return {"client": str(env["alice"]), "service": str(env["service"]),
            "provider": str(env["provider"]), "place": str(env["location"]),
            "date": day_of(when), "start": when.isoformat(), **extra}  # fmt: skip


async def test_the_scheduler_books_for_a_client_from_the_slot_engine(http, smtp, tmp_path):  # noqa: F811
    env = await world()
    await sign_in(http, "priya")
    page = Page(await http.get(f"{AGENDA}/book?q=alic"))
    assert page.status_code == 200 and f'name="client" value="{env["alice"]}"' in page.raw
    assert f'name="client" value="{env["bob"]}"' not in page.raw
    when = at(4, 9, 30)
    query = "&".join(f"{k}={v}" for k, v in booking(env, when).items() if k != "start")
    page = Page(await http.get(f"{AGENDA}/book?{query}"))
    assert f'value="{when.isoformat()}"' in page.raw and "9:30 AM" in page.text
    assert "Book for Alice Tester" in page.text
    assert f'value="{at(3, 10).isoformat()}"' not in page.raw  # not the day asked for

    r = await post_form(http, f"{AGENDA}/book", booking(env, when), page=AGENDA)
    assert r.status_code == 303, r.text
    new = await Appointment.select().where(Appointment.starts_at == when).first()
    assert r.headers["location"] == f"{visit_url(new['id'])}?done=booked"
    assert new["status"] == "scheduled" and not new["booked_online"]
    assert new["client"] == env["alice"] and new["location"] == env["location"]
    assert new["ends_at"] - new["starts_at"] == timedelta(minutes=45)
    [audited] = await events("appointment.booked_by_staff")
    assert audited["new"]["starts_at"] == when.isoformat() and audited["client"] == env["alice"]
    page = Page(await http.get(r.headers["location"]))
    assert "Booked. The client has been mailed" in page.text

    # The same time again: the clash is said at the time, the choices kept.
    again = await post_form(http, f"{AGENDA}/book", booking(env, when), page=AGENDA)
    text = html.unescape(again.text)
    assert again.status_code == 422 and "clashes with another of the provider's" in text
    assert f'name="client" value="{env["alice"]}" id="book-client" checked' in again.text
    assert await Appointment.count().where(Appointment.starts_at == when) == 1

    assert (await worker_for(smtp, tmp_path).run_once()).sent >= 1
    [received] = [m for m in smtp.messages if m["To"] == "alice@mail.example"]
    assert received["Subject"] == "Your appointment with Harbor Counseling is booked"
    body = received.get_payload(decode=True).decode()
    assert when.astimezone(NY).strftime("%A %-d %B %Y at %-I:%M %p") in body


async def test_booking_refusals_say_what_and_keep_the_input(http):
    env = await world()
    await sign_in(http, "owner")
    r = await post_form(http, f"{AGENDA}/book", {"q": "ali"}, page=AGENDA)
    text = html.unescape(r.text)
    assert r.status_code == 422 and "Find the client and choose them." in text
    assert "Choose a service." in text and "Choose a provider." in text
    assert 'value="ali"' in r.text
    # Not a time on the grid, or outside the hours.
    r = await post_form(http, f"{AGENDA}/book", booking(env, at(4, 9, 10)), page=AGENDA)
    assert r.status_code == 422 and "not one of the provider" in html.unescape(r.text)
    r = await post_form(http, f"{AGENDA}/book", booking(env, at(4, 9, 30), start="x"), page=AGENDA)
    assert r.status_code == 422 and "Choose a time from the list." in r.text
    # Notice and horizon: refused unless overridden.
    await Provider.update({Provider.min_notice_hours: 96}).where(Provider.id == env["provider"])
    soon = at(2, 9)
    r = await post_form(http, f"{AGENDA}/book", booking(env, soon), page=AGENDA)
    assert r.status_code == 422 and "96 hours' notice" in html.unescape(r.text)
    assert "Override notice and horizon" in html.unescape(r.text)
    r = await post_form(http, f"{AGENDA}/book", booking(env, soon, override="yes"), page=AGENDA)
    assert r.status_code == 303
    far = at(45, 9)
    r = await post_form(http, f"{AGENDA}/book", booking(env, far), page=AGENDA)
    assert r.status_code == 422 and "30 days ahead at most" in html.unescape(r.text)
    r = await post_form(http, f"{AGENDA}/book", booking(env, far, override="yes"), page=AGENDA)
    assert r.status_code == 303
    # Overriding waives the notice, not the clock: yesterday's hours are refused.
    past = booking(env, at(-1, 9), override="yes")
    r = await post_form(http, f"{AGENDA}/book", past, page=AGENDA)
    assert r.status_code == 422 and "That time has passed" in r.text
    assert not await Appointment.select().where(Appointment.starts_at == at(-1, 9))
    # Overriding never double-books: the time of Alice's visit is taken.
    r = await post_form(
        http, f"{AGENDA}/book", booking(env, at(3, 10), override="yes"), page=AGENDA
    )
    assert r.status_code == 422 and "clashes" in r.text
    # Telehealth at the telehealth hours only; a client out of reach is never found. The
    # notice goes back to 24 hours first: 96 hours before a time four days on has passed
    # once the clock is past that hour of the day.
    await Provider.update({Provider.min_notice_hours: 24}).where(Provider.id == env["provider"])
    tele = booking(env, at(4, 13), place="telehealth")
    r = await post_form(http, f"{AGENDA}/book", tele, page=AGENDA)
    assert r.status_code == 303
    assert (await Appointment.select().where(Appointment.starts_at == at(4, 13)).first())[
        "telehealth"
    ]


async def test_a_provider_books_only_their_own_clients_with_themselves(http):
    env = await world()
    await sign_in(http, "ruiz")
    page = Page(await http.get(f"{AGENDA}/book?q=tester"))
    assert f'name="client" value="{env["alice"]}"' in page.raw
    assert f'name="client" value="{env["bob"]}"' not in page.raw
    assert "James Chen" not in page.text
    r = await post_form(
        http, f"{AGENDA}/book", booking(env, at(4, 9), client=str(env["bob"])), page=AGENDA
    )
    assert r.status_code == 422 and "Find the client" in r.text
    r = await post_form(
        http, f"{AGENDA}/book", booking(env, at(4, 9), provider=str(env["chen"])), page=AGENDA
    )
    assert r.status_code == 422 and "Choose a provider." in r.text
    assert await Appointment.count() == 2


# --- Moving -------------------------------------------------------------------------------


async def test_moving_frees_the_old_time_and_mails_the_client_both(http, smtp, tmp_path):  # noqa: F811
    env = await world()
    await sign_in(http, "priya")
    old, new = at(3, 10), at(3, 11)
    page = Page(await http.get(f"{visit_url(env['visit'])}?date={day_of(old)}"))
    assert page.status_code == 200 and f'value="{new.isoformat()}"' in page.raw
    # Its own time overlaps nothing: half an hour later is offered.
    assert f'value="{at(3, 10, 30).isoformat()}"' in page.raw
    r = await post_form(
        http, visit_url(env["visit"], "move"), {"start": new.isoformat()}, page=AGENDA
    )
    assert r.status_code == 303 and r.headers["location"] == f"{visit_url(env['visit'])}?done=moved"
    moved = await row(env["visit"])
    assert moved["starts_at"] == new and moved["ends_at"] == new + timedelta(minutes=45)
    [audited] = await events("appointment.moved")
    assert audited["old"]["starts_at"] == old.isoformat()
    assert audited["new"]["starts_at"] == new.isoformat()
    # The old time is free: offered for booking again.
    query = "&".join(f"{k}={v}" for k, v in booking(env, old).items() if k != "start")
    assert f'value="{old.isoformat()}"' in (await http.get(f"{AGENDA}/book?{query}")).text

    assert (await worker_for(smtp, tmp_path).run_once()).sent >= 1
    [received] = [m for m in smtp.messages if m["To"] == "alice@mail.example"]
    assert received["Subject"] == "Your appointment with Harbor Counseling has moved"
    body = received.get_payload(decode=True).decode()
    fmt = "%A %-d %B %Y at %-I:%M %p"
    assert f"It was on: {old.astimezone(NY).strftime(fmt)}" in body
    assert f"It is now on: {new.astimezone(NY).strftime(fmt)}" in body


async def test_move_refusals(http):
    env = await world()
    await sign_in(http, "marcus")
    other = await factories.appointment(
        env["bob"], env["provider"], env["service"], at(3, 11), location_id=env["location"]
    )
    r = await post_form(http, visit_url(env["visit"], "move"),
                        {"start": at(3, 11).isoformat(), "date": day_of(at(3, 11))},
                        page=AGENDA, htmx=True)  # fmt: skip
    text = html.unescape(r.text)
    assert r.status_code == 422 and "clashes with another" in text and "<html" not in r.text
    assert (await row(env["visit"]))["starts_at"] == at(3, 10)
    r = await post_form(
        http, visit_url(env["visit"], "move"), {"start": at(3, 10).isoformat()}, page=AGENDA
    )
    assert r.status_code == 422 and "its time already" in r.text
    r = await post_form(http, visit_url(env["visit"], "move"), {}, page=AGENDA)
    assert r.status_code == 422 and "Choose a time from the list." in r.text
    await Appointment.update({Appointment.status: "cancelled"}).where(Appointment.id == other)
    r = await post_form(
        http, visit_url(other, "move"), {"start": at(3, 9).isoformat()}, page=AGENDA
    )
    assert r.status_code == 409 and "was cancelled, so it can't be moved" in html.unescape(r.text)
    r = await post_form(
        http, visit_url(999999, "move"), {"start": at(3, 9).isoformat()}, page=AGENDA
    )
    assert r.status_code == 404
    # Overriding the notice is no way into the past.
    r = await post_form(http, visit_url(env["visit"], "move"),
                        {"start": at(-1, 9).isoformat(), "override": "yes"}, page=AGENDA)  # fmt: skip
    assert r.status_code == 422 and "That time has passed" in r.text
    assert not await events("appointment.moved")


# --- Cancelling and marking ----------------------------------------------------------------


async def test_cancel_needs_a_reason_and_mails_the_client(http):
    env = await world()
    await sign_in(http, "priya")
    url = visit_url(env["visit"], "cancel")
    r = await post_form(http, url, {"reason": "  "}, page=AGENDA, htmx=True)
    assert r.status_code == 422 and "Say why it is cancelled" in r.text and "<html" not in r.text
    r = await post_form(http, url, {"reason": "x" * 501}, page=AGENDA)
    assert r.status_code == 422 and "500 characters" in r.text and "x" * 501 in r.text
    r = await post_form(http, url, {"reason": "Provider unwell"}, page=AGENDA, htmx=True)
    assert r.status_code == 200 and "Cancelled. The client has been mailed." in r.text
    cancelled = await row(env["visit"])
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "Provider unwell"
    [audited] = await events("appointment.cancelled_by_staff")
    assert audited["old"] == {"status": "scheduled"}
    assert audited["new"] == {"status": "cancelled", "cancel_reason": "Provider unwell"}
    [sent] = await mails("appointment_cancelled_by_staff")
    assert sent["to_address"] == "alice@mail.example" and "Provider unwell" not in sent["body"]
    r = await post_form(http, url, {"reason": "again"}, page=AGENDA)
    assert r.status_code == 409 and "was cancelled, so it can't be cancelled" in html.unescape(
        r.text
    )
    assert len(await events("appointment.cancelled_by_staff")) == 1


async def test_mark_attended_no_show_or_late_cancelled_once_started(http):
    env = await world()
    await sign_in(http, "ruiz")
    past = await factories.appointment(
        env["alice"], env["provider"], env["service"], at(-2, 10), location_id=env["location"]
    )
    r = await post_form(
        http, visit_url(env["visit"], "mark"), {"outcome": "completed"}, page=AGENDA
    )
    assert r.status_code == 409 and "has not started yet" in r.text
    url = visit_url(past, "mark")
    r = await post_form(http, url, {"outcome": "maybe"}, page=AGENDA)
    assert r.status_code == 422 and "Choose attended, no-show or late-cancelled." in r.text
    assert (await post_form(http, url, {"outcome": "completed"}, page=AGENDA)).status_code == 303
    assert (await row(past))["status"] == "completed"
    r = await post_form(http, url, {"outcome": "completed"}, page=AGENDA)
    assert r.status_code == 409 and "already marked attended" in r.text
    assert (await post_form(http, url, {"outcome": "no_show"}, page=AGENDA)).status_code == 303
    assert (await row(past))["status"] == "no_show"
    r = await post_form(http, url, {"outcome": "late_cancel"}, page=AGENDA, htmx=True)
    assert r.status_code == 200 and "Late-cancelled" in r.text
    marked = await row(past)
    assert marked["status"] == "cancelled" and marked["late_cancel"]
    audited = await events("appointment.marked")
    assert [e["new"]["status"] for e in audited] == ["completed", "no_show", "cancelled"]
    assert audited[2]["old"] == {"status": "no_show", "late_cancel": False}
    assert audited[2]["new"] == {"status": "cancelled", "late_cancel": True}
    # A past appointment is not cancelled: it is marked.
    r = await post_form(http, visit_url(past, "cancel"), {"reason": "late"}, page=AGENDA)
    assert r.status_code == 409
    # Its time booked again after the late cancel: it can only stay cancelled.
    await factories.appointment(
        env["bob"], env["provider"], env["service"], at(-2, 10), location_id=env["location"]
    )
    r = await post_form(http, url, {"outcome": "completed"}, page=AGENDA)
    assert r.status_code == 409 and "Another appointment now holds this time" in r.text
    assert (await row(past))["status"] == "cancelled"


async def test_the_provider_enters_the_diagnosis_and_the_charge_carries_it(http, app):
    env = await world()
    await factories.staff("bill", Role.biller)
    await sign_in(http, "ruiz")
    url = visit_url(env["visit"], "diagnoses")
    page = Page(await http.get(visit_url(env["visit"])))
    assert 'name="diagnoses"' in page.raw and "ICD-10 codes" in page.text
    r = await post_form(http, url, {"diagnoses": "f41.1, banana"}, page=AGENDA, htmx=True)
    assert r.status_code == 422 and "BANANA is not an ICD-10 code" in r.text
    assert 'value="f41.1, banana"' in r.text and not (await row(env["visit"]))["diagnosis_codes"]
    r = await post_form(http, url, {"diagnoses": "f41.1 Z63.0"}, page=AGENDA)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=diagnoses")
    assert (await row(env["visit"]))["diagnosis_codes"] == "F41.1, Z63.0"
    [audited] = await events("appointment.diagnoses_set")
    assert audited["old"]["diagnosis_codes"] == "" and audited["client"] == env["alice"]
    # Another provider's visit is out of reach; the scheduler may not enter codes nor see them.
    r = await post_form(http, visit_url(env["chen_visit"], "diagnoses"), {"diagnoses": "F41.1"},
                        page=AGENDA)  # fmt: skip
    assert r.status_code == 404
    async with signed_in(app, "priya") as priya:
        assert "Z63.0" not in (await priya.get(visit_url(env["visit"]))).text
        r = await post_form(priya, url, {"diagnoses": "F32.0"}, page=AGENDA)
        assert r.status_code == 403
    assert (await row(env["visit"]))["diagnosis_codes"] == "F41.1, Z63.0"
    # The biller charges the visit without typing codes: the provider's are on the line.
    async with signed_in(app, "bill") as bill:
        base = f"/staff/clients/{env['alice']}/billing"
        r = await post_form(bill, f"{base}/charges", {"appointment": str(env["visit"])},
                            page=f"{base}/ledger")  # fmt: skip
        assert r.status_code == 303, r.text
        [line] = await LedgerEntry.select().where(LedgerEntry.appointment == env["visit"])
        assert line["diagnosis_codes"] == "F41.1, Z63.0"


# --- Speed --------------------------------------------------------------------------------


async def test_the_views_cost_the_same_queries_at_1_and_50_providers(http, app):
    env = await world()
    await sign_in(http, "priya")
    day = at(3, 9)
    counts = {}
    for n in (1, 50):
        while await Provider.count() < n + 1:
            i = await Provider.count()
            prov = await factories.provider(env["practice"], f"dr{i}", display_name=f"Dr. {i:02d}")
            for k in range(3):
                await factories.appointment(env["bob"], prov["provider_id"], env["service"],
                                            day - timedelta(days=k % 2) + timedelta(hours=k),
                                            location_id=env["location"])  # fmt: skip
        for url in (f"{AGENDA}?date={day_of(day)}", f"{AGENDA}/week?date={day_of(day)}"):
            await http.get(url)
            with count_queries(app.state.engine) as seen:
                r = await http.get(url)
                assert r.status_code == 200
            counts[(n, url.split("?")[0])] = len(seen)
    assert len(re.findall(r"<tr", r.text)) > 150  # the week: every appointment listed
    for url in (AGENDA, f"{AGENDA}/week"):
        assert counts[(1, url)] == counts[(50, url)] <= 6, counts


async def test_of_two_bookings_racing_for_one_time_the_database_lets_one_through(app):
    env = await world()
    when = at(5, 9)
    async with signed_in(app, "priya") as one, signed_in(app, "marcus") as two:
        answers = await asyncio.gather(
            post_form(one, f"{AGENDA}/book", booking(env, when), page=AGENDA),
            post_form(
                two, f"{AGENDA}/book", booking(env, when, client=str(env["bob"])), page=AGENDA
            ),
        )
    assert sorted(r.status_code for r in answers) == [303, 422]
    [refused] = [r for r in answers if r.status_code == 422]
    assert "clashes with another of the provider" in html.unescape(refused.text)
    assert await Appointment.count().where(Appointment.starts_at == when) == 1


# --- Valid HTML ---------------------------------------------------------------------------


async def test_the_pages_are_valid_html(app, tmp_path):
    jar = required_vnu_jar()
    env = await world()
    past = await factories.appointment(
        env["alice"], env["provider"], env["service"], at(-1, 10), location_id=env["location"]
    )
    await Appointment.update({Appointment.status: AppointmentStatus.requested}).where(
        Appointment.id == env["chen_visit"]
    )
    day = day_of(at(3, 10))
    docs = {}
    async with signed_in(app, "priya") as http:
        query = "&".join(f"{k}={v}" for k, v in booking(env, at(4, 9)).items() if k != "start")
        for url in (f"{AGENDA}?date={day}", f"{AGENDA}/week?date={day}", f"{AGENDA}/book",
                    f"{AGENDA}/book?q=tester&{query}", f"{AGENDA}/book?q=nobody",
                    visit_url(env["visit"]), f"{visit_url(past)}?done=marked"):  # fmt: skip
            r = await http.get(url)
            assert r.status_code == 200, url
            docs[f"page {url}"] = r.text
        r = await http.get(f"{AGENDA}?date={day}", headers={"HX-Request": "true"})
        docs["fragment agenda"] = as_document(r.text)
        r = await post_form(http, f"{AGENDA}/book", {"q": "x"}, page=AGENDA)
        docs["page book, refused"] = r.text
        r = await post_form(http, f"{AGENDA}/book", booking(env, at(3, 10)), page=AGENDA)
        assert r.status_code == 422
        docs["page book, clash"] = r.text
        for action, data, target in [("cancel", {"reason": ""}, env["visit"]),
                                     ("move", {}, env["visit"]),
                                     ("mark", {}, past)]:  # fmt: skip
            for htmx in (False, True):
                r = await post_form(http, visit_url(target, action), data, page=AGENDA, htmx=htmx)
                assert r.status_code == 422, (action, r.text)
                docs[f"{'fragment' if htmx else 'page'} {action}, refused"] = (
                    as_document(r.text) if htmx else r.text
                )
    errors = await asyncio.to_thread(check, jar, docs, tmp_path)
    assert not errors, f"{len(errors)} HTML errors in {len(docs)} documents:\n" + "\n".join(errors)
