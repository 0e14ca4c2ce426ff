"""`portal availability export`: the hours and rules staff set in the browser come back out
as the TOML file `portal availability load` reads, and loading it gives the same hours,
dates and rules."""

from __future__ import annotations

import tomllib
from datetime import timedelta

from portal.core.clock import utcnow
from portal.scheduling import availability
from portal.scheduling.availability_export import export
from portal.tables import AvailabilityBlock, AvailabilityException, Provider
from tests import factories
from tests.http.test_schedule import practice_with_hours

BLOCK = ("provider", "weekday", "start_minute", "end_minute", "location", "telehealth",
         "bookable_online")  # fmt: skip
DATE = ("provider", "on_date", "kind", "start_minute", "end_minute", "location", "telehealth",
        "bookable_online", "note")  # fmt: skip
RULES = ("slot_minutes", "min_notice_hours", "horizon_days", "clients_may_confirm",
         "clients_may_cancel", "cancellation_window_hours", "self_schedule_statuses")  # fmt: skip


async def state() -> tuple[set, set, list]:
    blocks = {tuple(r[k] for k in BLOCK) for r in await AvailabilityBlock.select()}
    dates = {tuple(str(r[k]) for k in DATE) for r in await AvailabilityException.select()}
    rules = [tuple(str(r[k]) for k in RULES) for r in await Provider.select().order_by(Provider.id)]
    return blocks, dates, rules


async def test_export_loads_back_to_the_same_hours_dates_and_rules():
    env = await practice_with_hours(min_notice_hours=12, clients_may_cancel=False)
    other = await factories.provider(env["practice"], "chen", display_name="James Chen")
    soon = (utcnow() + timedelta(days=5)).date()
    for row in (
        AvailabilityException(provider=env["provider"], on_date=soon, kind="off",
                              note='Conference "Care" \\ Boston 🎓 Zoë\x7f'),
        AvailabilityException(provider=env["provider"], on_date=soon + timedelta(days=1),
                              kind="extra", start_minute=17 * 60, end_minute=19 * 60,
                              telehealth=True, bookable_online=False),
    ):  # fmt: skip
        await AvailabilityException.insert(row)
    await AvailabilityBlock.update({AvailabilityBlock.bookable_online: False}).where(
        AvailabilityBlock.weekday == 2
    )
    before = await state()
    text = await export(utcnow().date())
    data = tomllib.loads(text)
    assert [p["username"] for p in data["provider"]] == ["chen", "ruiz"]
    assert data["provider"][0]["hours"] == []  # Chen has none: loading keeps it so
    # Wipe the hours and the rules, then load the export: everything comes back.
    await AvailabilityBlock.delete(force=True)
    await AvailabilityException.delete(force=True)
    await Provider.update({Provider.min_notice_hours: 99, Provider.clients_may_cancel: True}).where(
        Provider.id > 0
    )
    await availability.apply(data)
    assert await state() == before
    assert other["provider_id"]
