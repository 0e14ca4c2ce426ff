"""Self-scheduling in a real browser: who, what, where, a free time, review, book.

With JavaScript each choice swaps only the #schedule fragment (htmx; a choice replaces the
URL once it settles, paging weeks pushes one);
without it the picker is a plain GET form with a "Show free times" button. Slot
days are next week's, so the provider's 24-hour notice never decides the outcome.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from portal.core.clock import utcnow
from portal.scheduling import availability
from portal.scheduling.booking import TAKEN
from portal.tables import Appointment
from portal.tables.people import ClientStatus
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, navigate, sign_in, submit, watch_of

NY = ZoneInfo("America/New_York")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PROVIDER = "Dr. Elena Ruiz"
SERVICE = "Individual therapy (45 min)"
OFFICE = "Downtown office"


# --- Data ----------------------------------------------------------------------------------------


async def _practice_with_hours(*, self_schedule: list[str] | None = None) -> dict:
    """A practice in New York; Dr. Ruiz sees clients every day, 9-12 at the office and
    13-15 by video, with a 24-hour notice and a 60-day horizon."""
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    loc = await factories.location(p, name=OFFICE)
    prov = await factories.provider(p, "ruiz", display_name=PROVIDER)
    svc = await factories.service(p, name="Individual therapy", duration_minutes=45)
    await factories.service(p, name="Family therapy", client_may_schedule=False)
    await availability.apply(
        {
            "provider": [
                {
                    "username": "ruiz",
                    "slot_minutes": 30,
                    "self_schedule": self_schedule or ["new", "active"],
                    "min_notice_hours": 24,
                    "horizon_days": 60,
                    "hours": [
                        {"days": EVERY_DAY, "from": "09:00", "to": "12:00", "place": OFFICE},
                        {"days": EVERY_DAY, "from": "13:00", "to": "15:00", "place": "telehealth"},
                    ],
                }
            ]
        }
    )
    return {"practice": p, "location": loc, "provider": prov["provider_id"], "service": svc}


# --- Dates as the pages write them -----------------------------------------------------------------


def _today() -> date:
    return utcnow().astimezone(NY).date()


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _next_week() -> date:
    return _monday(_today()) + timedelta(days=7)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY).astimezone(UTC)


def _day_label(d: date) -> str:  # "%A %-d %B"
    return f"{d:%A} {d.day} {d:%B}"


def _week_heading(monday: date) -> str:
    return f"Free times, week of {monday.day} {monday:%B}"


def _slot_name(day: date, hour: int, minute: int = 0) -> str:
    """The accessible name of a time's link: '10:00 AM on Wednesday 2 December'."""
    clock = time(hour, minute).strftime("%I:%M %p").lstrip("0")
    return f"{clock} on {_day_label(day)}"


def _slot(page: Page, day: date, hour: int, minute: int = 0):
    return page.get_by_role("link", name=_slot_name(day, hour, minute), exact=True)


def _office_slots_left_this_week() -> bool | None:
    """Whether this week still has an office time past the 24-hour notice (the last one
    starts Sunday 11:00); None when it is too close to call."""
    margin = _at(_monday(_today()) + timedelta(days=6), 11) - (utcnow() + timedelta(hours=24))
    if abs(margin) < timedelta(minutes=5):
        return None
    return margin > timedelta(0)


# --- Moving around ---------------------------------------------------------------------------------


async def _follow(page: Page, link_name: str) -> int:
    return await navigate(page, page.get_by_role("link", name=link_name, exact=True).first.click)


_WATCH_SWAPS = """() => {
  window.sameDocument = true;
  if (window.settles === undefined) {
    window.settles = 0;
    document.addEventListener('htmx:after:settle', () => { window.settles += 1; });
  }
  document.getElementById('schedule').dataset.stale = 'yes';
  return window.settles;
}"""


async def _swap(page: Page, action: Callable[[], Awaitable[object]]) -> None:
    """Do `action`; expect htmx to fetch the #schedule fragment alone and swap it in place,
    in the same document (no page load); then check the result with axe."""
    watch = watch_of(page)
    loads = len(watch.loads)
    settles = await page.evaluate(_WATCH_SWAPS)
    async with page.expect_response(
        lambda r: r.request.method == "GET" and "/schedule?" in r.url
    ) as info:
        await action()
    response = await info.value
    assert response.status == 200, response.status
    assert (await response.request.all_headers()).get("hx-request") == "true"
    body = await response.text()
    assert body.lstrip().startswith('<div id="schedule">'), body[:200]
    assert "<html" not in body and "<h1" not in body
    await page.wait_for_function("n => window.settles > n", arg=settles)
    # The old fragment is gone, its replacement is in, and the document is the same one.
    await expect(page.locator("#schedule[data-stale]")).to_have_count(0)
    await expect(page.locator("#schedule")).to_have_count(1)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Schedule an appointment")
    assert await page.evaluate("window.sameDocument") is True
    assert len(watch.loads) == loads, watch.loads[loads:]
    await check_a11y(page)


def _picker(page: Page):
    return page.get_by_label("Who"), page.get_by_label("What"), page.get_by_label("Where")


async def _options(select) -> list[str]:  # noqa: ANN001 - a Locator
    return [t.strip() for t in await select.locator("option").all_inner_texts()]


async def _expect_this_week(page: Page) -> None:
    """The first week shown is this one: its times, or where the next free one is."""
    await expect(page.get_by_role("heading", level=2)).to_have_text(
        _week_heading(_monday(_today()))
    )
    slots = page.locator(".times a")
    later = page.get_by_text("No free times this week. The next one is")
    left = _office_slots_left_this_week()
    if left is True:
        await expect(slots.first).to_be_visible()
        await expect(later).to_have_count(0)
    elif left is False:
        await expect(later).to_be_visible()
        await expect(slots).to_have_count(0)
    # Every slot offered respects the 24-hour notice.
    for href in await slots.evaluate_all("links => links.map(a => a.href)"):
        start = re.search(r"start=([^&]+)", href).group(1)
        assert datetime.fromisoformat(start.replace("Z", "+00:00")) >= utcnow() + timedelta(
            hours=23, minutes=55
        ), href


async def _expect_next_week(page: Page, wednesday: date) -> None:
    await expect(page.get_by_role("heading", level=2)).to_have_text(_week_heading(_next_week()))
    await expect(page.locator(".days h3")).to_have_count(7)
    await expect(page.get_by_role("link", name="Previous week", exact=True)).to_be_visible()
    for hour, minute in ((9, 0), (9, 30), (10, 0), (10, 30), (11, 0)):
        await expect(_slot(page, wednesday, hour, minute)).to_be_visible()
    # A 45-minute visit starting 11:30 would end after noon: not offered.
    await expect(_slot(page, wednesday, 11, 30)).to_have_count(0)
    await expect(page.get_by_text("Times are in Eastern Time.")).to_be_visible()


async def _review_and_book(page: Page, live_server: LiveServer, day: date) -> int:
    """On the review page of `day` 10:00: check it, book, land on "You're booked"."""
    start = _at(day, 10)
    await expect(page).to_have_url(
        re.compile(
            r"/schedule/review\?provider=\d+&service=\d+&where=\d+&start="
            + re.escape(start.strftime("%Y-%m-%dT%H:%M:%SZ"))
            + "$"
        )
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Review your appointment")
    when = f"{day:%A} {day.day} {day:%B %Y}, 10:00 AM–10:45 AM"
    await expect(page.get_by_role("heading", level=2)).to_have_text(when)
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text(PROVIDER)
    await expect(facts).to_contain_text("Individual therapy (45 minutes)")
    await expect(facts).to_contain_text(f"{OFFICE}1 Main Street, Boston, MA 02110")

    assert await submit(page, "Book this appointment") == 200
    await expect(page).to_have_url(
        re.compile(rf"^{re.escape(live_server.base_url)}/schedule/booked/\d+$")
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    await expect(page.get_by_role("heading", level=2)).to_have_text(when)
    await expect(page.get_by_text(f"Individual therapy with {PROVIDER}")).to_be_visible()
    await check_a11y(page)
    [booked] = await Appointment.select().where(Appointment.starts_at == start)
    assert booked["ends_at"] == start + timedelta(minutes=45)
    assert booked["location"] is not None and not booked["telehealth"]
    return booked["id"]


async def _see_it_on_the_dashboard(
    page: Page, live_server: LiveServer, appointment_id: int, day: date
):
    assert await _follow(page, "Back to your dashboard") == 200
    await expect(page).to_have_url(f"{live_server.base_url}/")
    widget = page.locator("#w-appointments")
    await expect(widget.get_by_role("heading", level=2)).to_have_text("Upcoming appointments")
    visit = widget.locator(f"#appointment-{appointment_id}")
    await expect(visit).to_contain_text(f"{_day_label(day)}, 10:00 AM–10:45 AM")
    await expect(visit).to_contain_text(f"Individual therapy with {PROVIDER}")
    await expect(visit).to_contain_text(f"In person: {OFFICE}")
    await expect(widget.get_by_text("You have no upcoming appointments.")).to_have_count(0)


async def _sign_in_and_open_schedule(page: Page, live_server: LiveServer, username: str) -> None:
    assert await sign_in(page, username) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Welcome, "))
    await check_a11y(page)
    await expect(page.locator("#w-appointments")).to_contain_text(
        "You have no upcoming appointments."
    )
    assert await _follow(page, "Schedule new appointment") == 200
    await expect(page).to_have_url(f"{live_server.base_url}/schedule")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Schedule an appointment")


# --- The tests -------------------------------------------------------------------------------------


async def test_booking_with_javascript_swaps_only_the_picker(page: Page, live_server: LiveServer):
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    prov, svc, loc = env["provider"], env["service"], env["location"]
    wednesday = _next_week() + timedelta(days=2)

    await _sign_in_and_open_schedule(page, live_server, "alice")
    assert await page.evaluate("typeof window.htmx") == "object"
    who, what, where = _picker(page)
    await expect(what).to_be_disabled()
    await expect(where).to_be_disabled()
    # The no-JS button stays hidden inside <noscript>.
    await expect(page.get_by_role("button", name="Show free times")).to_have_count(0)

    # Who: the services clients may book, and the provider's places, appear.
    await _swap(page, lambda: who.select_option(label=PROVIDER))
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}"  # disabled selects send nothing
    )
    await expect(who).to_have_value(str(prov))
    await expect(what).to_be_enabled()
    assert await _options(what) == ["Choose a service", SERVICE]  # not "Family therapy"
    assert await _options(where) == ["Choose a place", OFFICE, "Telehealth (video)"]
    await expect(page.locator(".slots")).to_have_count(0)

    # What.
    await _swap(page, lambda: what.select_option(label=SERVICE))
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}&service={svc}&where="
    )
    await expect(what).to_have_value(str(svc))
    await expect(page.locator(".slots")).to_have_count(0)

    # Where: the free times of this week follow.
    await _swap(page, lambda: where.select_option(label=OFFICE))
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}&service={svc}&where={loc}"
    )
    await expect(who).to_have_value(str(prov))
    await expect(what).to_have_value(str(svc))
    await expect(where).to_have_value(str(loc))
    await _expect_this_week(page)

    # Next week: another swap, another pushed URL.
    await _swap(page, page.get_by_role("link", name="Next week", exact=True).click)
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}&service={svc}&where={loc}"
        f"&week={_next_week().isoformat()}"
    )
    await _expect_next_week(page, wednesday)

    # The pushed URLs are real history entries: back and forward restore each week.
    loads = len(watch_of(page).loads)
    await page.go_back()
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}&service={svc}&where={loc}"
    )
    await expect(page.get_by_role("heading", level=2)).to_have_text(
        _week_heading(_monday(_today()))
    )
    await check_a11y(page)
    await page.go_forward()
    await expect(page.get_by_role("heading", level=2)).to_have_text(_week_heading(_next_week()))
    await expect(_slot(page, wednesday, 10)).to_be_visible()
    await check_a11y(page)
    assert len(watch_of(page).loads) == loads
    assert await page.evaluate("window.sameDocument") is True

    # A time is a plain link to the review page.
    assert await navigate(page, _slot(page, wednesday, 10).click) == 200
    appointment_id = await _review_and_book(page, live_server, wednesday)
    await _see_it_on_the_dashboard(page, live_server, appointment_id, wednesday)


async def test_booking_without_javascript_goes_through_full_pages(
    nojs_page: Page, live_server: LiveServer
):
    page = nojs_page
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    prov, svc, loc = env["provider"], env["service"], env["location"]
    wednesday = _next_week() + timedelta(days=2)

    await _sign_in_and_open_schedule(page, live_server, "alice")
    assert await page.evaluate("typeof window.htmx") == "undefined"
    who, what, where = _picker(page)
    show = page.get_by_role("button", name="Show free times", exact=True)
    await expect(show).to_be_visible()
    await expect(what).to_be_disabled()

    await who.select_option(label=PROVIDER)
    assert await navigate(page, show.click) == 200
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}"  # disabled selects send nothing
    )
    assert await _options(what) == ["Choose a service", SERVICE]
    await expect(page.locator(".slots")).to_have_count(0)

    await what.select_option(label=SERVICE)
    assert await navigate(page, show.click) == 200
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}&service={svc}&where="
    )
    await expect(what).to_have_value(str(svc))

    await where.select_option(label=OFFICE)
    assert await navigate(page, show.click) == 200
    await expect(page).to_have_url(
        f"{live_server.base_url}/schedule?provider={prov}&service={svc}&where={loc}"
    )
    await expect(who).to_have_value(str(prov))
    await expect(where).to_have_value(str(loc))
    await _expect_this_week(page)

    assert await _follow(page, "Next week") == 200
    await expect(page).to_have_url(re.compile(rf"&week={_next_week().isoformat()}$"))
    await _expect_next_week(page, wednesday)

    assert await navigate(page, _slot(page, wednesday, 10).click) == 200
    appointment_id = await _review_and_book(page, live_server, wednesday)
    await _see_it_on_the_dashboard(page, live_server, appointment_id, wednesday)


async def test_a_new_client_hears_why_the_provider_takes_no_online_booking(any_page: Page):
    page = any_page
    js = watch_of(page).js_enabled
    env = await _practice_with_hours(self_schedule=["active"])
    await factories.client(env["practice"], "newbie", first_name="Nina", status=ClientStatus.new)
    assert await sign_in(page, "newbie") == 200
    await check_a11y(page)
    await page.goto("/schedule")
    await check_a11y(page)
    who, what, where = _picker(page)

    if js:
        await _swap(page, lambda: who.select_option(label=PROVIDER))
    else:
        await who.select_option(label=PROVIDER)
        assert await navigate(page, page.get_by_role("button", name="Show free times").click) == 200
    await expect(page).to_have_url(re.compile(rf"/schedule\?provider={env['provider']}$"))
    await expect(who).to_have_value(str(env["provider"]))
    await expect(page.locator("#schedule").get_by_role("status")).to_have_text(
        f"{PROVIDER} does not take online bookings for clients whose status is “new”. "
        "Please call the practice to book."
    )
    # Nothing further to choose, and no times.
    await expect(what).to_be_disabled()
    await expect(where).to_be_disabled()
    await expect(page.locator(".slots")).to_have_count(0)
    await expect(page.get_by_role("link", name=re.compile(r"^\d+:\d\d [AP]M on "))).to_have_count(0)


async def test_a_time_taken_while_reviewing_is_refused_with_the_times_still_free(
    page: Page, live_server: LiveServer
):
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    bob = await factories.client(env["practice"], "bob", status=ClientStatus.active)
    prov, svc, loc = env["provider"], env["service"], env["location"]
    wednesday = _next_week() + timedelta(days=2)
    start = _at(wednesday, 10)

    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto(
        f"/schedule?provider={prov}&service={svc}&where={loc}&week={_next_week().isoformat()}"
    )
    await check_a11y(page)
    assert await navigate(page, _slot(page, wednesday, 10).click) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Review your appointment")

    # Meanwhile someone else gets 10:00-10:45 with the same provider.
    await factories.appointment(bob["client_id"], prov, svc, start, minutes=45, location_id=loc)

    # The refusal is a 409 document on purpose: Chromium logs it as a console error.
    watch_of(page).allow_console_error(r"status of 409", r"/schedule/book$")
    assert await submit(page, "Book this appointment") == 409
    await expect(page.get_by_role("alert")).to_have_text(TAKEN)
    who, what, where = _picker(page)
    await expect(who).to_have_value(str(prov))
    await expect(what).to_have_value(str(svc))
    await expect(where).to_have_value(str(loc))
    # The refreshed times are those of the week the client was looking at.
    await expect(page.get_by_role("heading", level=2)).to_have_text(_week_heading(_next_week()))
    await expect(_slot(page, wednesday, 10)).to_have_count(0)
    # 9:30 and 10:30 overlap the taken visit too; 9:00 and 11:00 are still free.
    await expect(_slot(page, wednesday, 9, 30)).to_have_count(0)
    await expect(_slot(page, wednesday, 10, 30)).to_have_count(0)
    await expect(_slot(page, wednesday, 9)).to_be_visible()
    await expect(_slot(page, wednesday, 11)).to_be_visible()
    await check_a11y(page)
    # Nothing was written for alice.
    assert await Appointment.count() == 1
    assert await Appointment.count().where(Appointment.client == bob["client_id"]) == 1

    # One of the times still free books fine.
    assert await navigate(page, _slot(page, wednesday, 11).click) == 200
    assert await submit(page, "Book this appointment") == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    await expect(page.get_by_role("heading", level=2)).to_have_text(
        f"{wednesday:%A} {wednesday.day} {wednesday:%B %Y}, 11:00 AM–11:45 AM"
    )
    await check_a11y(page)
    assert await Appointment.count() == 2


async def test_choosing_by_keyboard_keeps_focus_on_the_select(page: Page, live_server: LiveServer):
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto("/schedule")
    await check_a11y(page)
    # Each arrow key changes the choice, htmx swaps the fragment, and focus comes back to
    # the same select (htmx restores it by id), so the next Tab goes on from there.
    for select_id, value in (
        ("pick-provider", env["provider"]),
        ("pick-service", env["service"]),
        ("pick-where", env["location"]),
    ):
        select = page.locator(f"#{select_id}")
        await select.focus()
        await _swap(page, lambda: page.keyboard.press("ArrowDown"))
        await expect(page.locator(f"#{select_id}")).to_be_focused()
        await expect(select).to_have_value(str(value))
    await expect(page.get_by_role("heading", level=2)).to_have_text(
        _week_heading(_monday(_today()))
    )
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Next week")).to_be_focused()


async def test_paging_weeks_by_keyboard_keeps_focus_on_the_link(page: Page):
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto(
        f"/schedule?provider={env['provider']}&service={env['service']}&where={env['location']}"
    )
    await check_a11y(page)
    next_week = page.get_by_role("link", name="Next week", exact=True)
    await next_week.focus()
    await _swap(page, lambda: page.keyboard.press("Enter"))
    await expect(page.get_by_role("heading", level=2)).to_have_text(_week_heading(_next_week()))
    # Expected: focus stays on the link just used (or moves to the new week's heading).
    focused = page.locator(":focus")
    await expect(focused).to_have_count(1, timeout=2000)
    await expect(focused).to_have_text(re.compile(r"^(Next week|Free times, week of .*)$"))


async def test_the_next_free_week_link_swaps_the_fragment_too(page: Page):
    env = await _practice_with_hours()
    # Hours only on today's weekday: today's times are all inside the 24-hour notice, so
    # this week has none, and the next free time is next week, same weekday, 9:00.
    today = _today()
    await availability.apply(
        {
            "provider": [
                {
                    "username": "ruiz",
                    "hours": [
                        {"days": [EVERY_DAY[today.weekday()]], "from": "09:00", "to": "12:00",
                         "place": OFFICE}
                    ],
                }
            ]
        }
    )  # fmt: skip
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto(
        f"/schedule?provider={env['provider']}&service={env['service']}&where={env['location']}"
    )
    await check_a11y(page)
    then = today + timedelta(days=7)
    await expect(page.locator(".slots")).to_contain_text(
        f"No free times this week. The next one is {_day_label(then)} at 9:00 AM: show that week."
    )
    await expect(page.locator(".times a")).to_have_count(0)
    # Following it shows that week's times: with htmx, by a swap of #schedule like "Next week".
    watch = watch_of(page)
    loads = len(watch.loads)
    await page.evaluate("window.sameDocument = true")
    await page.get_by_role("link", name="show that week", exact=True).click()
    await expect(_slot(page, then, 9)).to_be_visible()
    await check_a11y(page)
    assert len(watch.loads) == loads, f"a full page load: {watch.loads[loads:]}"
    assert await page.evaluate("window.sameDocument") is True


async def test_arrow_keys_on_a_closed_select_wait_for_the_choice_and_add_no_history(
    page: Page, live_server: LiveServer
):
    env = await _practice_with_hours()
    await factories.client(env["practice"], "alice", first_name="Alice", status=ClientStatus.active)
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await page.goto(f"/schedule?provider={env['provider']}&service={env['service']}")
    await check_a11y(page)
    entries = await page.evaluate("history.length")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/schedule?" in r.url else None)

    # Three presses in a row (Telehealth, then back to the office): one request, for the
    # choice the keys stopped on, once they stopped.
    where = page.locator("#pick-where")
    await where.focus()
    async with page.expect_response(lambda r: "/schedule?" in r.url) as info:
        for key in ("ArrowDown", "ArrowDown", "ArrowUp"):
            await page.keyboard.press(key)
    assert (await info.value).status == 200
    await expect(page.get_by_role("heading", level=2)).to_have_text(
        _week_heading(_monday(_today()))
    )
    await page.wait_for_timeout(800)  # longer than the trigger's delay: nothing else is sent
    assert len(asked) == 1 and f"where={env['location']}" in asked[0], asked
    await expect(page.locator("#pick-where")).to_have_value(str(env["location"]))
    await expect(page.locator("#pick-where")).to_be_focused()

    # The choice replaced the page's history entry rather than adding one.
    base = live_server.base_url
    await expect(page).to_have_url(
        f"{base}/schedule?provider={env['provider']}&service={env['service']}&where={env['location']}"
    )
    assert await page.evaluate("history.length") == entries
    await check_a11y(page)
