"""Staff › Availability in a real browser, with JavaScript on and off: a provider adds extra
hours on a day they do not usually work, the preview shows them at once, and a client books
that time through /schedule."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from portal.core.clock import utcnow
from portal.scheduling import availability
from portal.tables import Appointment
from portal.tables.people import ClientStatus
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, navigate, sign_in, submit

NY = ZoneInfo("America/New_York")


def _target() -> date:
    """A Wednesday 8 to 14 days ahead: past the 24-hour notice, inside the preview."""
    d = utcnow().astimezone(NY).date() + timedelta(days=8)
    while d.weekday() != 2:
        d += timedelta(days=1)
    return d


async def test_a_provider_adds_extra_hours_and_a_client_books_them(
    any_page: Page, live_server: LiveServer
):
    page = any_page
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.location(p, name="Downtown office")
    prov = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    svc = await factories.service(p, name="Individual therapy", duration_minutes=45)
    await factories.client(p, "alice", status=ClientStatus.active)
    await availability.apply({"provider": [{
        "username": "ruiz", "slot_minutes": 30, "self_schedule": ["new", "active"],
        "min_notice_hours": 24, "horizon_days": 60,
        "hours": [{"days": ["mon"], "from": "13:00", "to": "15:00", "place": "telehealth"}],
    }]})  # fmt: skip
    day = _target()

    assert await sign_in(page, "ruiz") == 200
    await check_a11y(page)
    assert await navigate(page, page.get_by_role("link", name="Availability").click) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Availability: Dr. Elena Ruiz")
    await expect(page.get_by_text(f"{day:%a %d %b}: No weekly hours on Wednesday")).to_be_visible()
    form = page.locator("form", has=page.get_by_role("heading", name="Add a date"))
    await form.get_by_label("Date").fill(day.isoformat())
    await form.get_by_label("Extra hours").check()
    await form.get_by_label(re.compile("^From")).fill("10:00")
    await form.get_by_label(re.compile("^To")).fill("12:00")
    await form.get_by_label("Place").select_option(label="Telehealth")
    if await page.evaluate("typeof htmx !== 'undefined'"):
        await form.get_by_role("button", name="Add date").click()
    else:
        assert await submit(page, "Add date") == 200
    await expect(page.get_by_role("status")).to_have_text("Date added.")
    await expect(page.get_by_text("Extra hours 10:00–12:00 · Telehealth")).to_be_visible()
    await expect(page.get_by_text(f"{day:%a %d %b}: 10:00, 10:30, 11:00")).to_be_visible()
    await check_a11y(page)

    await page.context.clear_cookies()
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    monday = day - timedelta(days=day.weekday())
    await page.goto(f"/schedule?provider={prov['provider_id']}&service={svc}&where=telehealth"
                    f"&week={monday.isoformat()}")  # fmt: skip
    await check_a11y(page)
    name = f"10:00 AM on {day:%A} {day.day} {day:%B}"
    assert await navigate(page, page.get_by_role("link", name=name, exact=True).click) == 200
    assert await submit(page, "Book this appointment") == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    await check_a11y(page)
    start = datetime.combine(day, time(10), tzinfo=NY).astimezone(UTC)
    [booked] = await Appointment.select().where(Appointment.starts_at == start)
    assert booked["telehealth"] and booked["provider"] == prov["provider_id"]
