"""Two staff members at the same moment (issue 15): while one has saved but not yet committed,
the other's save waits for them and then sees what they did, so the practice never ends up
with overlapping weekly hours or a request both approved and declined.

The first staff member is played by a second database connection holding its transaction
open, as the app's own write would, until the app's request is seen waiting (on PostgreSQL,
in `pg_stat_activity`; SQLite admits one writer at a time, so there the app simply queues).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

from portal.tables import Appointment, AvailabilityBlock
from portal.tables.accounts import Role
from portal.tables.scheduling import AppointmentStatus
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.http.test_booking_requests import REQUESTS, requested_booking
from tests.http.test_schedule import practice_with_hours
from tests.web import Page, mails, post_form, sign_in, signed_in


class Other:
    """A second connection to the app's database, inside one open write transaction."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def execute(self, sql: str, *args: object) -> None:
        if IS_POSTGRES:
            await self.conn.execute(sql, *args)
        else:
            self.conn.execute(sql.replace("$1", "?").replace("$2", "?"), args)

    async def commit(self) -> None:
        if IS_POSTGRES:
            await self.tx.commit()
        else:
            self.conn.commit()


@asynccontextmanager
async def other_connection(settings) -> AsyncIterator[Other]:  # noqa: ANN001
    other = Other(settings.database.url)
    if IS_POSTGRES:
        import asyncpg

        other.conn = await asyncpg.connect(settings.database.url)
        other.tx = other.conn.transaction()
        await other.tx.start()
    else:
        path = settings.database.url.removeprefix("sqlite:///")
        other.conn = sqlite3.connect(path, isolation_level=None)
        other.conn.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if IS_POSTGRES:
            await other.conn.close()
        else:
            other.conn.close()


async def until_waiting(settings, task: Awaitable) -> None:  # noqa: ANN001
    """Return once the app's request waits on a lock (PostgreSQL) or has had time to queue."""
    if not IS_POSTGRES:
        await asyncio.sleep(0.3)
        return
    import asyncpg

    watcher = await asyncpg.connect(settings.database.url)
    try:
        for _ in range(500):
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting:
                return
            assert not task.done(), f"the request finished without waiting: {task.result()}"
            await asyncio.sleep(0.01)
        raise AssertionError("the app's request never waited for the other transaction")
    finally:
        await watcher.close()


async def test_overlapping_weekly_hours_saved_at_once_are_refused_to_the_second(
    http, settings
):  # fmt: skip
    env = await practice_with_hours()
    await factories.staff("priya", Role.scheduler)
    await sign_in(http, "priya")
    own = f"/staff/availability/{env['provider']}"
    before = await AvailabilityBlock.count().where(AvailabilityBlock.provider == env["provider"])
    form = {"weekday": "0", "start": "18:00", "end": "20:00", "place": str(env["location"]),
            "online": "yes"}  # fmt: skip
    async with other_connection(settings) as other:
        # The other scheduler's save, as add_block makes it: the provider's row locked, then
        # Monday 18:30-19:30 written, not yet committed.
        if IS_POSTGRES:
            await other.execute("SELECT id FROM provider WHERE id = $1 FOR UPDATE", env["provider"])
        await other.execute(
            "INSERT INTO availability_block (provider, weekday, start_minute, end_minute,"
            " location, telehealth, bookable_online) VALUES ($1, 0, 1110, 1170, $2, false, true)",
            env["provider"], env["location"],
        )  # fmt: skip
        task = asyncio.ensure_future(post_form(http, f"{own}/blocks", form, page=own, htmx=True))
        await until_waiting(settings, task)
        await other.commit()
        r = await task
    assert r.status_code == 422
    assert "These hours overlap the Monday hours" in Page(r).text
    after = await AvailabilityBlock.select().where(AvailabilityBlock.provider == env["provider"])
    assert len(after) == before + 1
    assert [(b["start_minute"], b["end_minute"]) for b in after if b["weekday"] == 0
            and b["start_minute"] >= 18 * 60 - 60] == [(1110, 1170)]  # fmt: skip


async def test_a_request_approved_by_one_while_another_declines_stays_approved(
    http, app, settings
):  # fmt: skip
    env = await requested_booking(http)
    appt = env["appointment"]
    await factories.staff("priya", Role.scheduler)
    async with signed_in(app, "priya") as priya, other_connection(settings) as other:
        # Another scheduler approves: the row changed, not yet committed.
        await other.execute(
            "UPDATE appointment SET status = $1 WHERE id = $2", "scheduled", appt["id"]
        )
        url = f"{REQUESTS}/{appt['id']}/decline"
        task = asyncio.ensure_future(
            post_form(priya, url, {"reason": "Full that week"}, page=REQUESTS, htmx=True)
        )
        await until_waiting(settings, task)
        await other.commit()
        r = await task
    assert r.status_code == 409
    assert "already handled: it is approved" in Page(r).text
    row = await Appointment.select().where(Appointment.id == appt["id"]).first()
    assert row["status"] == AppointmentStatus.scheduled and not row["cancel_reason"]
    assert await mails("booking_declined") == []


async def test_a_request_declined_by_one_while_another_approves_stays_declined(
    http, app, settings
):  # fmt: skip
    env = await requested_booking(http)
    appt = env["appointment"]
    await factories.staff("priya", Role.scheduler)
    async with signed_in(app, "priya") as priya, other_connection(settings) as other:
        await other.execute(
            "UPDATE appointment SET status = $1 WHERE id = $2", "cancelled", appt["id"]
        )
        url = f"{REQUESTS}/{appt['id']}/approve"
        task = asyncio.ensure_future(post_form(priya, url, {}, page=REQUESTS, htmx=True))
        await until_waiting(settings, task)
        await other.commit()
        r = await task
    assert r.status_code == 409 and "already handled: it is declined" in Page(r).text
    row = await Appointment.select().where(Appointment.id == appt["id"]).first()
    assert row["status"] == AppointmentStatus.cancelled
    assert await mails("booking_approved") == []
