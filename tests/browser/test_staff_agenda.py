"""The agenda in Chromium: a scheduler finds a client's appointment in the agenda, moves it
to another free time (with JavaScript: the card swapped in place; without: a plain form and
a 303), and the client's dashboard then shows the new time."""

from __future__ import annotations

from playwright.async_api import Page, expect

from portal.tables import Appointment
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, navigate, sign_in
from tests.http.test_schedule import practice_with_hours
from tests.http.test_staff_agenda import NY, at, day_of


async def _move(page: Page, *, js: bool) -> None:
    env = await practice_with_hours()
    await factories.staff("priya", Role.scheduler)
    alice = await factories.client(env["practice"], "alice", status=ClientStatus.active)
    visit = await factories.appointment(alice["client_id"], env["provider"], env["service"],
                                        at(3, 10), location_id=env["location"])  # fmt: skip
    new = at(3, 11)
    assert await sign_in(page, "priya") == 200
    await check_a11y(page)
    assert await navigate(page, lambda: page.goto(f"/staff/agenda?date={day_of(at(3, 10))}")) == 200
    await check_a11y(page)
    await expect(page.locator("table.agenda")).to_contain_text("Alice Tester")
    assert await navigate(page, page.get_by_role("link", name="10:00 AM–10:45 AM").click) == 200
    await check_a11y(page)
    await page.get_by_label("11:00 AM", exact=True).check()
    if js:
        await page.get_by_role("button", name="Move").click()
        await expect(page.locator("#appointment .notice")).to_contain_text("Moved.")
    else:
        assert await navigate(page, page.get_by_role("button", name="Move").click) == 200
        await expect(page.locator("#appointment .notice")).to_contain_text("Moved.")
    await expect(page.locator("#appointment-h")).to_contain_text("11:00 AM–11:45 AM")
    await check_a11y(page)
    assert (await Appointment.select().where(Appointment.id == visit).first())["starts_at"] == new

    await page.context.clear_cookies()
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await expect(page.locator("main")).to_contain_text(new.astimezone(NY).strftime("%-I:%M"))
    await expect(page.locator("main")).not_to_contain_text("10:00")


async def test_a_scheduler_moves_an_appointment_and_the_client_sees_it(
    page: Page, live_server: LiveServer
):
    await _move(page, js=True)


async def test_the_same_without_javascript(nojs_page: Page, live_server: LiveServer):
    await _move(nojs_page, js=False)
