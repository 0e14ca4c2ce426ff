"""Self-scheduling's limits: how many visits a client may book online, and dates out of range.

The practice's `max_upcoming_online_bookings` (3 by default) caps the upcoming
appointments a client holds from online booking; one more is refused with a message,
on the review page and when booking, and nothing is written, however many bookings race.
Dates no booking horizon reaches (year 9999, or 0001 in UTC+14) are bad input, not a 500.
"""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from portal.core.clock import utcnow
from portal.practice import info as practice_info
from portal.scheduling import booking
from portal.tables import Appointment, AuditEvent, OutboxMail, Practice
from portal.tables.people import ClientStatus
from tests import factories
from tests.http.test_schedule import NY, practice_with_hours, slot_links
from tests.web import csrf_token, sign_in

FULL = (
    "You already have 3 upcoming appointments booked. "
    "Please call the practice at (617) 555-0142 to book more."
)


def at(days: int, hour: int = 10) -> str:
    """10:00 in New York `days` from now, as the picker sends a start."""
    d = (utcnow() + timedelta(days=days)).astimezone(NY).date()
    return (
        datetime(d.year, d.month, d.day, hour, tzinfo=NY)
        .astimezone(UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    )


async def signed_in_client(http) -> tuple[dict, dict]:
    env = await practice_with_hours()
    alice = await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    choice = {
        "provider": str(env["provider"]),
        "service": str(env["service"]),
        "where": str(env["location"]),
    }
    return {**env, **alice}, choice


async def book(http, choice: dict, start: str, *, htmx: bool = False):
    token = await csrf_token(http, "/schedule")
    headers = {"HX-Request": "true", "x-csrftoken": token} if htmx else {}
    return await http.post(
        "/schedule/book", data={**choice, "start": start, "_csrf_token": token}, headers=headers
    )


async def written() -> tuple[int, int, int]:
    return (
        await Appointment.count(),
        await AuditEvent.count().where(AuditEvent.action == "appointment.booked"),
        await OutboxMail.count().where(OutboxMail.kind == "appointment_changed"),
    )


async def test_up_to_the_limit_books_and_one_more_is_refused_with_nothing_written(http):
    env, choice = await signed_in_client(http)
    # Booked by staff, past, or cancelled: none of these count.
    for days, status, online in ((12, "scheduled", False), (13, "confirmed", False),
                                 (-2, "completed", True), (14, "cancelled", True)):  # fmt: skip
        start = datetime.fromisoformat(at(days).replace("Z", "+00:00"))
        await factories.appointment(
            env["client_id"], env["provider"], env["service"], start, status=status,
            location_id=env["location"], booked_online=online,
        )  # fmt: skip
    for days in (3, 4, 5):
        r = await book(http, choice, at(days))
        assert r.status_code == 303 and r.headers["location"].startswith("/schedule/booked/")
    before = await written()
    assert before == (7, 3, 3)

    # The review page says so before the client tries...
    review = await http.get(f"/schedule/review?{urlencode({**choice, 'start': at(6)})}")
    assert review.status_code == 422 and FULL in html.unescape(review.text)
    assert "Book this appointment" not in review.text
    # ... the picker offers no times, only the message ...
    page = await http.get(f"/schedule?{urlencode(choice)}")
    assert FULL in html.unescape(page.text) and slot_links(page.text) == []
    # ... and a post anyway is refused: the whole page without JavaScript, the fragment with.
    r = await book(http, choice, at(6))
    assert r.status_code == 422 and FULL in html.unescape(r.text) and "<html" in r.text
    r = await book(http, choice, at(7), htmx=True)
    assert r.status_code == 422 and r.text.lstrip().startswith('<div id="schedule">')
    assert html.unescape(r.text).count(FULL) == 1
    assert await written() == before

    # A cancelled online booking frees its place.
    first = await (
        Appointment.select(Appointment.id)
        .where(Appointment.booked_online.eq(True), Appointment.status == "scheduled")
        .first()
    )
    await Appointment.update({Appointment.status: "cancelled"}).where(Appointment.id == first["id"])
    assert (await book(http, choice, at(6))).status_code == 303
    assert (await book(http, choice, at(7))).status_code == 422


async def test_the_limit_is_the_practices(http):
    env, choice = await signed_in_client(http)
    await Practice.update({Practice.max_upcoming_online_bookings: 1}).where(
        Practice.id == env["practice"]
    )
    practice_info.changed()
    assert (await book(http, choice, at(3))).status_code == 303
    r = await book(http, choice, at(4))
    assert r.status_code == 422
    assert "You already have 1 upcoming appointment booked. Please call" in html.unescape(r.text)
    await Practice.update({Practice.max_upcoming_online_bookings: 0}).where(
        Practice.id == env["practice"]
    )
    practice_info.changed()
    page = await http.get(f"/schedule?{urlencode(choice)}")
    assert "Appointments can't be booked online. Please call the practice" in html.unescape(
        page.text
    )
    assert await Appointment.count() == 1


async def test_concurrent_bookings_do_not_exceed_the_limit(http):
    """Seven different free slots at once, as the attacker did: three are booked."""
    env, choice = await signed_in_client(http)
    token = await csrf_token(http, "/schedule")
    results = await asyncio.gather(
        *(
            http.post("/schedule/book", data={**choice, "start": at(days), "_csrf_token": token})
            for days in range(3, 10)
        )
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [303, 303, 303, 422, 422, 422, 422], statuses
    assert all(FULL in html.unescape(r.text) for r in results if r.status_code == 422)
    assert await written() == (3, 3, 3)
    assert (
        await Appointment.count().where(
            Appointment.client == env["client_id"], Appointment.booked_online.eq(True)
        )
        == 3
    )


async def test_the_limit_counts_online_bookings_only(http):
    """The rule in one place: staff bookings and other clients' never count."""
    env, choice = await signed_in_client(http)
    practice = await practice_info.current_practice()
    now = utcnow()
    assert await booking.booking_limit_reason(env["client_id"], None, practice, now) == ""
    bob = await factories.client(env["practice"], "bob", status=ClientStatus.active)
    for days in (3, 4, 5, 6):
        start = datetime.fromisoformat(at(days).replace("Z", "+00:00"))
        await factories.appointment(
            bob["client_id"], env["provider"], env["service"], start, location_id=env["location"],
            booked_online=True,
        )  # fmt: skip
    assert await booking.booking_limit_reason(env["client_id"], None, practice, now) == ""
    assert "You already have 4 upcoming" in await booking.booking_limit_reason(
        bob["client_id"], None, practice, now
    )


# --- dates out of range ----------------------------------------------------------------


async def test_a_week_out_of_range_shows_the_current_week(http):
    env, choice = await signed_in_client(http)
    this_week = await http.get(f"/schedule?{urlencode(choice)}")
    heading = "Free times, week of"
    current = this_week.text.split(heading, 1)[1].split("<", 1)[0]
    for week in ("9999-12-31", "9999-12-27", "0001-01-01", "0001-01-02"):
        r = await http.get(f"/schedule?{urlencode({**choice, 'week': week})}")
        assert r.status_code == 200, week
        assert r.text.split(heading, 1)[1].split("<", 1)[0] == current, week
        r = await http.get(f"/schedule?week={week}", headers={"HX-Request": "true"})
        assert r.status_code == 200, week


async def test_a_start_out_of_range_is_a_clear_422_on_review_and_booking(http):
    env, choice = await signed_in_client(http)
    for start in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                  "0001-01-01T00:00:00-12:00"):  # fmt: skip
        review = await http.get(f"/schedule/review?{urlencode({**choice, 'start': start})}")
        assert review.status_code == 422, start
        assert "Choose a time from the list." in review.text
        r = await book(http, choice, start)
        assert r.status_code == 422 and "Choose a time from the list." in r.text, start
        r = await book(http, choice, start, htmx=True)
        assert r.status_code == 422 and r.text.lstrip().startswith('<div id="schedule">'), start
    assert await written() == (0, 0, 0)
