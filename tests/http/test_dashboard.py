"""The dashboard: four widgets inline and alone; appointments with confirm and cancel."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.tables import Appointment, AuditEvent, User
from portal.tables.ledger import EntryKind
from portal.tables.scheduling import AppointmentStatus
from tests import factories
from tests.web import Page, csrf_token, htmx_post, mails, sign_in, signed_in

WIDGETS = ["tasks", "two-factor", "appointments", "balance"]


async def setup_client(
    http, *, window_hours=24, may_confirm=True, may_cancel=True, tz="America/New_York"
):
    p = await factories.practice(
        name="Harbor Counseling", time_zone=tz, phone="(617) 555-0142", two_factor_policy="nobody"
    )
    c = await factories.client(p, "alice", first_name="Alice")
    prov = await factories.provider(
        p, display_name="Dr. Elena Ruiz", clients_may_confirm=may_confirm,
        clients_may_cancel=may_cancel, cancellation_window_hours=window_hours,
    )  # fmt: skip
    svc = await factories.service(p, name="Individual therapy")
    loc = await factories.location(
        p, name="Downtown office", address_line1="120 Harbor Street", address_line2="Suite 400"
    )
    await sign_in(http, "alice")
    return {"practice": p, "client": c, "provider": prov, "service": svc, "location": loc}


async def book(env, starts_at, **kw):
    return await factories.appointment(
        env["client"]["client_id"], env["provider"]["provider_id"], env["service"], starts_at, **kw
    )


def widget_html(page: str, widget: str) -> str:
    """The widget's element as it stands in the full page."""
    start = page.index(f'id="w-{widget}"')
    start = page.rindex("<", 0, start)
    tag = page[start + 1 : page.index(" ", start)]
    depth, pos = 0, start
    for m in re.finditer(rf"<(/?){tag}\b[^>]*?(/?)>", page[start:]):
        depth += -1 if m.group(1) else (0 if m.group(2) else 1)
        if depth == 0:
            pos = start + m.end()
            break
    return page[start:pos]


async def test_dashboard_renders_all_four_widgets_inline_and_each_alone(http):
    env = await setup_client(http)
    await book(env, utcnow() + timedelta(days=3), location_id=env["location"])
    await factories.ledger(env["client"]["client_id"], EntryKind.charge, 15000)
    page = (await http.get("/")).text
    for widget in WIDGETS:
        assert f'id="w-{widget}"' in page
        alone = await http.get(f"/dashboard/widgets/{widget}", headers={"HX-Request": "true"})
        assert alone.status_code == 200
        assert "<html" not in alone.text and "<nav" not in alone.text
        # The very same markup as inline: one template, two transports.
        strip = lambda s: re.sub(r'value="[^"]+"', "", s).strip()  # noqa: E731 - CSRF values differ
        assert strip(alone.text) == strip(widget_html(page, widget))


async def test_widget_urls_refuse_strangers(http, app):
    from tests.conftest import client_for

    await setup_client(http)
    assert (await http.get("/dashboard/widgets/weather")).status_code == 404
    async with client_for(app) as stranger:
        r = await stranger.get("/dashboard/widgets/balance", headers={"HX-Request": "true"})
        assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/login")
    await factories.staff(
        "biller", role=__import__("portal.tables.accounts", fromlist=["Role"]).Role.biller
    )
    async with signed_in(app, "biller") as staff:
        assert (await staff.get("/dashboard/widgets/balance")).status_code == 403


async def test_appointments_widget_shows_where_when_and_maps(http):
    env = await setup_client(http)
    start = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 AM in New York (EST)
    await book(env, start, location_id=env["location"])
    html = (await http.get("/dashboard/widgets/appointments")).text
    assert "Tuesday 2 March" in html and "10:00 AM" in html
    assert "Individual therapy with Dr. Elena Ruiz" in html
    address = "120 Harbor Street, Suite 400, Boston, MA 02110"
    assert address in html
    encoded = quote(address, safe="")
    assert f"https://www.google.com/maps/search/?api=1&amp;query={encoded}" in html
    assert f"https://maps.apple.com/?q={encoded}" in html


async def test_telehealth_join_link_appears_only_near_the_start(http):
    env = await setup_client(http)
    url = "https://video.example/room/abc"
    soon = await book(env, utcnow() + timedelta(minutes=10), telehealth_url=url)
    later = await book(env, utcnow() + timedelta(days=2), telehealth_url=url + "2")
    html = (await http.get("/dashboard/widgets/appointments")).text
    assert f'href="{url}"' in html  # 10 minutes away: inside the 15-minute lead
    assert f'href="{url}2"' not in html
    assert "The link to join appears here at" in html
    assert soon != later


async def test_only_own_upcoming_appointments_within_a_year(http):
    env = await setup_client(http)
    other = await factories.client(env["practice"], "bob")
    now = utcnow()
    await book(env, now + timedelta(days=2), location_id=env["location"])
    await book(
        env,
        now - timedelta(days=2),
        location_id=env["location"],
        status=AppointmentStatus.completed,
    )
    await book(
        env,
        now + timedelta(days=5),
        location_id=env["location"],
        status=AppointmentStatus.cancelled,
    )
    await book(env, now + timedelta(days=400), location_id=env["location"])
    await factories.appointment(
        other["client_id"], env["provider"]["provider_id"], env["service"], now + timedelta(days=3)
    )
    html = (await http.get("/dashboard/widgets/appointments")).text
    assert html.count('<li id="appointment-') == 1


async def test_confirm_with_htmx_returns_the_widget_and_tells_the_tasks(http):
    env = await setup_client(http)
    appt = await book(env, utcnow() + timedelta(days=3), location_id=env["location"])
    page = (await http.get("/")).text
    assert "Confirm your appointment on" in widget_html(page, "tasks")
    r = await htmx_post(http, f"/appointments/{appt}/confirm")
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="w-appointments"')
    assert "Confirmed:" in r.text
    trigger = json.loads(r.headers["hx-trigger"])
    assert trigger == {"appointments-changed": {"target": "body"}}
    row = await Appointment.select(Appointment.status).where(Appointment.id == appt).first()
    assert row["status"] == "confirmed"
    tasks = (await http.get("/dashboard/widgets/tasks")).text
    assert "Confirm your appointment" not in tasks
    assert await AuditEvent.count().where(AuditEvent.action == "appointment.confirmed") == 1
    [mail] = await mails("appointment_changed")
    assert mail["to_address"] == "drsmith@practice.example"
    for clinical in ("Individual therapy", "Alice", "Tester"):
        assert clinical not in mail["body"] + mail["subject"]


async def test_without_javascript_actions_redirect_to_the_dashboard(http):
    env = await setup_client(http)
    appt = await book(env, utcnow() + timedelta(days=3), location_id=env["location"])
    token = await csrf_token(http, "/")
    r = await http.post(
        f"/appointments/{appt}/cancel", data={"_csrf_token": token, "reason": "Travelling"}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/?done=cancelled-{appt}"
    row = (
        await Appointment.select(Appointment.status, Appointment.cancel_reason)
        .where(Appointment.id == appt)
        .first()
    )
    assert row == {"status": "cancelled", "cancel_reason": "Travelling"}
    # Again: a clear message on the full page, nothing changed.
    r = await http.post(f"/appointments/{appt}/cancel", data={"_csrf_token": token})
    assert r.status_code == 409
    assert "<html" in r.text and "was cancelled, so it can&#39;t be cancelled" in r.text


async def test_repeated_and_conflicting_actions(http):
    env = await setup_client(http)
    appt = await book(env, utcnow() + timedelta(days=3), location_id=env["location"])
    assert (await htmx_post(http, f"/appointments/{appt}/confirm")).status_code == 200
    r = await htmx_post(http, f"/appointments/{appt}/confirm")
    assert r.status_code == 409 and "already confirmed" in r.text and "hx-trigger" not in r.headers
    assert (await htmx_post(http, f"/appointments/{appt}/cancel")).status_code == 200
    r = await htmx_post(http, f"/appointments/{appt}/cancel")
    assert r.status_code == 409 and "was cancelled" in r.text
    r = await htmx_post(http, f"/appointments/{appt}/confirm")
    assert r.status_code == 409 and "was cancelled, so it can't be confirmed" in r.text
    assert await AuditEvent.count().where(AuditEvent.action.like("appointment.%")) == 2
    past = await book(env, utcnow() - timedelta(hours=1), location_id=env["location"])
    assert (await htmx_post(http, f"/appointments/{past}/confirm")).status_code == 409


async def test_provider_settings_decide_what_clients_may_do(http):
    env = await setup_client(http, may_confirm=False, may_cancel=False)
    appt = await book(env, utcnow() + timedelta(days=3), location_id=env["location"])
    html = Page(await http.get("/dashboard/widgets/appointments")).text
    assert (
        f"/appointments/{appt}/confirm" not in html and f"/appointments/{appt}/cancel" not in html
    )
    assert "can't be cancelled online. Call the practice at (617) 555-0142" in html
    r = await htmx_post(http, f"/appointments/{appt}/confirm")
    assert r.status_code == 422 and "confirms appointments with you directly" in r.text
    r = await htmx_post(http, f"/appointments/{appt}/cancel")
    assert r.status_code == 422
    assert (await Appointment.select(Appointment.status).where(Appointment.id == appt).first())[
        "status"
    ] == "scheduled"


@pytest.mark.parametrize(
    ("offset", "allowed"), [(timedelta(minutes=-1), False), (timedelta(minutes=1), True)]
)
async def test_cancellation_window_edge(http, offset, allowed):
    env = await setup_client(http, window_hours=24)
    appt = await book(env, utcnow() + timedelta(hours=24) + offset, location_id=env["location"])
    r = await htmx_post(http, f"/appointments/{appt}/cancel")
    assert (r.status_code == 200) is allowed
    if not allowed:
        assert r.status_code == 422
        assert "less than 24 hours away can't be cancelled online" in r.text
        assert "(617) 555-0142" in r.text
    status = (await Appointment.select(Appointment.status).where(Appointment.id == appt).first())[
        "status"
    ]
    assert status == ("cancelled" if allowed else "scheduled")


@pytest.mark.parametrize(
    ("offset", "allowed"), [(timedelta(minutes=-1), False), (timedelta(minutes=1), True)]
)
async def test_cancellation_window_across_a_dst_change(offset, allowed):
    """24 hours means 24 elapsed hours even when the clocks go back in between."""
    from zoneinfo import ZoneInfo

    from portal.practice.info import PracticeInfo
    from portal.scheduling import appointments

    practice = PracticeInfo(
        1, "P", ZoneInfo("America/New_York"), "(617) 555-0142", "", "", 15, "nobody"
    )
    # New York falls back at 2:00 on 1 Nov 2026: 9:00 on 2 Nov is 25 wall-clock hours after 9:00 on 1 Nov.
    starts = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    now = starts - timedelta(hours=24) - offset
    row = {
        "provider.clients_may_cancel": True,
        "provider.cancellation_window_hours": 24,
        "starts_at": starts,
    }
    assert (appointments.cancel_refusal(row, now, practice) == "") is allowed
    # Wall-clock 24 hours before (8:00 on 1 Nov local, EDT) is 25 real hours before: allowed.
    wall = datetime(2026, 11, 1, 9, 0, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    assert appointments.cancel_refusal(row, wall, practice) == ""


async def test_foreign_appointment_is_404_everywhere(http):
    env = await setup_client(http)
    bob = await factories.client(env["practice"], "bob")
    theirs = await factories.appointment(
        bob["client_id"],
        env["provider"]["provider_id"],
        env["service"],
        utcnow() + timedelta(days=3),
    )
    for path in (f"/appointments/{theirs}/confirm", f"/appointments/{theirs}/cancel"):
        r = await htmx_post(http, path)
        assert r.status_code == 404
        assert "bob" not in r.text.lower()
    assert (await http.get(f"/appointments/{theirs}/calendar.ics")).status_code == 404
    assert (await Appointment.select(Appointment.status).where(Appointment.id == theirs).first())[
        "status"
    ] == "scheduled"
    assert (await htmx_post(http, "/appointments/999999/confirm")).status_code == 404


async def test_print_pdf_and_calendar_files(http):
    import io

    from icalendar import Calendar
    from pypdf import PdfReader

    env = await setup_client(http)
    in_person = await book(
        env, datetime(2027, 3, 2, 15, 0, tzinfo=UTC), location_id=env["location"]
    )
    await book(
        env, datetime(2027, 3, 9, 15, 0, tzinfo=UTC), telehealth_url="https://video.example/r"
    )
    page = await http.get("/appointments/print")
    assert page.status_code == 200
    for text in (
        "Harbor Counseling",
        "Upcoming appointments for Alice Tester",
        "Tue 2 Mar 2027",
        "Telehealth",
    ):
        assert text in page.text

    pdf = await http.get("/appointments.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Harbor Counseling",
        "Alice Tester",
        "Tue 2 Mar 2027",
        "Individual therapy",
        "Downtown office",
    ):
        assert expected in text

    cal = Calendar.from_ical((await http.get("/appointments.ics")).content)
    events = cal.walk("VEVENT")
    assert len(events) == 2
    first = events[0]
    assert first.decoded("dtstart") == datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
    assert str(first["dtstart"].params["TZID"]) == "America/New_York"
    assert cal.walk("VTIMEZONE")
    assert str(first["summary"]) == "Individual therapy with Dr. Elena Ruiz"
    assert "120 Harbor Street" in str(first["location"])
    assert "Telehealth" in str(events[1]["location"])
    one = Calendar.from_ical((await http.get(f"/appointments/{in_person}/calendar.ics")).content)
    assert len(one.walk("VEVENT")) == 1


@pytest.mark.parametrize(
    ("entries", "shown"),
    [
        (
            [(EntryKind.charge, 15000), (EntryKind.payment, 5000), (EntryKind.adjustment, 2500)],
            "$75.00",
        ),
        ([(EntryKind.charge, 10000), (EntryKind.payment, 12000)], "$20.00 <span>credit</span>"),
        (
            [(EntryKind.charge, 10000), (EntryKind.payment, 12000), (EntryKind.refund, 2000)],
            "$0.00",
        ),
        ([(EntryKind.charge, 1), (EntryKind.charge, 2)], "$0.03"),
    ],
)
async def test_balance_is_computed_from_the_ledger_in_cents(http, entries, shown):
    env = await setup_client(http)
    for kind, cents in entries:
        await factories.ledger(env["client"]["client_id"], kind, cents)
    html = (await http.get("/dashboard/widgets/balance")).text
    assert shown in html


async def test_tasks_come_from_real_data(http):
    env = await setup_client(http)
    html = (await http.get("/dashboard/widgets/tasks")).text
    assert "Turn on two-factor sign-in" in html and "balance" not in html
    await factories.ledger(env["client"]["client_id"], EntryKind.charge, 15000)
    await book(env, utcnow() + timedelta(days=2), location_id=env["location"])
    html = (await http.get("/dashboard/widgets/tasks")).text
    assert "You have a balance of $150.00 to pay" in html
    assert "Confirm your appointment on" in html


async def test_two_factor_prompt_not_now_hides_it_for_30_days(http):
    env = await setup_client(http)
    assert "Protect your account" in (await http.get("/")).text
    r = await htmx_post(http, "/dashboard/two-factor-prompt/dismiss")
    assert r.status_code == 200 and "Protect your account" not in r.text
    assert "Protect your account" not in (await http.get("/")).text
    user = (
        await User.select(User.two_factor_prompt_hidden_until)
        .where(User.id == env["client"]["user_id"])
        .first()
    )
    hidden = user["two_factor_prompt_hidden_until"]
    assert timedelta(days=29) < hidden - utcnow() <= timedelta(days=30)
    await User.update({User.two_factor_prompt_hidden_until: utcnow() - timedelta(seconds=1)}).where(
        User.id == env["client"]["user_id"]
    )
    assert "Protect your account" in (await http.get("/")).text


async def test_queries_per_widget_do_not_grow_with_appointments(http, app):
    env = await setup_client(http)
    counts = {}
    for n in (1, 12):
        await Appointment.delete().where(Appointment.id.is_not_null())
        for i in range(n):
            await book(env, utcnow() + timedelta(days=2 + i), location_id=env["location"])
            await factories.ledger(env["client"]["client_id"], EntryKind.charge, 1000)
        counts[n] = {}
        for url in ["/", *(f"/dashboard/widgets/{widget}" for widget in WIDGETS)]:
            with count_queries(app.state.engine) as seen:
                assert (await http.get(url)).status_code == 200
            counts[n][url] = len(seen)
    assert counts[1] == counts[12], counts
    # The session query brings the user and the client; the practice is kept per process.
    # Then the dashboard reads the visits, the balance with the open forms, the menu counts.
    assert counts[12].pop("/") <= 6, counts
    assert max(counts[12].values()) <= 3, counts


async def test_a_client_with_many_visits_sees_the_next_five_and_a_link_to_them_all(http):
    env = await setup_client(http)
    first = utcnow() + timedelta(days=2)
    ids = [
        await book(env, first + timedelta(days=7 * n), location_id=env["location"])
        for n in range(8)
    ]
    page = (await http.get("/")).text
    shown = widget_html(page, "appointments")
    assert [i for i in ids if f'id="appointment-{i}"' in shown] == ids[:5]
    assert '<a href="/appointments/print">See all your upcoming appointments</a>' in shown
    tasks = widget_html(page, "tasks")
    # Every "confirm" task confirms a visit on this page, so only the five shown have one.
    assert [i for i in ids if f'action="/appointments/{i}/confirm"' in tasks] == ids[:5]
    listing = (await http.get("/appointments/print")).text
    assert listing.count("<tr>") == 1 + len(ids)  # the heading row, then every visit
    assert "See all your upcoming" not in listing
    # After an action, the swapped-in widget is the same five and the same link.
    swapped = await htmx_post(http, f"/appointments/{ids[0]}/confirm", {})
    assert swapped.status_code == 200
    assert [i for i in ids if f'id="appointment-{i}"' in swapped.text] == ids[:5]
    assert "See all your upcoming appointments" in swapped.text


async def test_phone_order_in_the_dom_tasks_balance_prompt_then_appointments(http):
    env = await setup_client(http)
    await book(env, utcnow() + timedelta(days=3), location_id=env["location"])
    page = (await http.get("/")).text
    where = [page.index(f'id="w-{w}"') for w in ("tasks", "balance", "two-factor", "appointments")]
    assert where == sorted(where), where
    assert page.index('id="w-tasks"') > page.index("<h1>")


async def test_task_rows_carry_their_actions(http):
    env = await setup_client(http)
    appt = await book(env, utcnow() + timedelta(days=3), location_id=env["location"])
    await factories.ledger(env["client"]["client_id"], EntryKind.charge, 15000)
    tasks = widget_html((await http.get("/")).text, "tasks")
    rows = dict(re.findall(r'<li id="task-([^"]+)">(.*?)</li>', tasks, re.S))
    assert set(rows) == {f"confirm-{appt}", "balance", "insurance", "two-factor"}, rows
    # Confirm: a real form (no JS) that htmx posts, right in the row; busy while in flight.
    confirm = rows[f"confirm-{appt}"]
    assert f'<form method="post" action="/appointments/{appt}/confirm"' in confirm
    assert f'hx-post="/appointments/{appt}/confirm"' in confirm
    assert 'hx-target="#w-appointments"' in confirm and 'hx-disable="find button"' in confirm
    assert 'name="_csrf_token"' in confirm
    assert re.search(r'<button type="submit" class="primary">Confirm<span', confirm)
    # The others: one link each, shaped as a button. This practice takes no cards yet, so
    # the balance's is "How to pay" (tests/http/test_dashboard_balance.py: "Pay" with cards).
    assert (
        '<a class="button" href="/pay">How to pay<span class="visually-hidden">: You have a balance'
        in (rows["balance"])
    )
    assert '<a class="button" href="/profile/two-factor">Turn on<span' in rows["two-factor"]
    assert '<a class="button" href="/insurance">Add<span' in rows["insurance"]
    assert "<a href=" not in tasks  # no column of underlined links
    # The row's action works without JavaScript: post it as a form, land on the message.
    token = await csrf_token(http, "/")
    r = await http.post(f"/appointments/{appt}/confirm", data={"_csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/?done=confirmed-{appt}"


async def test_without_javascript_confirm_and_cancel_say_what_they_did(http):
    env = await setup_client(http)
    start = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 AM in New York
    appt = await book(env, start, location_id=env["location"])
    token = await csrf_token(http, "/")
    r = await http.post(f"/appointments/{appt}/confirm", data={"_csrf_token": token})
    page = (await http.get(r.headers["location"])).text
    notice = '<p class="notice" role="status" tabindex="-1">Confirmed: Tue 2 Mar at 10:00 AM.</p>'
    assert notice in page
    # Right under the heading, before the widgets (on a phone: at the top, not at the end).
    assert page.index("<h1>") < page.index(notice) < page.index('id="w-tasks"')
    r = await http.post(f"/appointments/{appt}/cancel", data={"_csrf_token": token})
    assert r.headers["location"] == f"/?done=cancelled-{appt}"
    page = (await http.get(r.headers["location"])).text
    assert "Cancelled: Tue 2 Mar at 10:00 AM." in page and "Confirmed:" not in page
    # A key that does not match what happened, a foreign id, or free text: no message.
    other = await factories.client(env["practice"], "bob")
    theirs = await factories.appointment(
        other["client_id"], env["provider"]["provider_id"], env["service"], start
    )
    for done in (
        f"confirmed-{appt}",
        f"cancelled-{theirs}",
        "cancelled-99999",
        "Hacked!",
        "x" * 500,
    ):
        page = (await http.get("/", params={"done": done})).text
        assert 'class="notice"' not in page, done
        assert "Hacked" not in page


async def test_not_now_answers_with_a_message_to_focus(http):
    await setup_client(http)
    r = await htmx_post(http, "/dashboard/two-factor-prompt/dismiss")
    assert r.status_code == 200
    assert '<div id="w-two-factor"><p class="notice" role="status" tabindex="-1">' in r.text
    # On the next load nothing shows.
    assert '<div id="w-two-factor" hidden></div>' in (await http.get("/")).text
