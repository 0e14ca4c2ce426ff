"""Staff › Availability over HTTP: weekly hours, days off and extra hours added, changed and
removed by those who may (each validated and audited with old and new values), and the
preview saying what clients are offered, or why nothing, on each of the next two weeks."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.scheduling import hours
from portal.scheduling.slots import TELEHEALTH, Busy, DateException, Rules, WeeklyHours
from portal.tables import AuditEvent, AvailabilityBlock, AvailabilityException, Location
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from tests import factories
from tests.conftest import client_for
from tests.http.test_html_valid import as_document, check, required_vnu_jar
from tests.http.test_schedule import practice_with_hours
from tests.web import Page, post_form, sign_in

PATH = "/staff/availability"
NY = ZoneInfo("America/New_York")


async def world() -> dict:
    env = await practice_with_hours()
    other = await factories.provider(env["practice"], "chen", display_name="James Chen")
    for username, role in [("owner", Role.owner), ("marcus", Role.manager),
                           ("priya", Role.scheduler), ("tom", Role.biller)]:  # fmt: skip
        await factories.staff(username, role)
    return {**env, "other": other["provider_id"]}


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]) for r in rows]


def block_form(env: dict, **kw) -> dict:
    return {"weekday": "0", "start": "18:00", "end": "20:00", "place": str(env["location"]),
            "online": "yes", **kw}  # fmt: skip


async def test_who_may_open_the_pages(http, app):
    env = await world()
    own = f"{PATH}/{env['provider']}"
    await sign_in(http, "tom")
    assert (await http.get(PATH)).status_code == 403
    assert (await http.get(own)).status_code == 403
    for username in ("owner", "marcus", "priya"):
        await sign_in(http, username)
        page = Page(await http.get(PATH))
        assert (
            page.status_code == 200 and "Dr. Elena Ruiz" in page.text and "James Chen" in page.text
        )
        assert (await http.get(f"{PATH}/{env['other']}")).status_code == 200
    await sign_in(http, "ruiz")
    r = await http.get(PATH)
    assert r.status_code == 303 and r.headers["location"] == own
    page = Page(await http.get(own))
    assert page.status_code == 200 and "Weekly hours" in page.text
    assert "09:00–12:00</strong> · Downtown office · bookable online" in page.text
    assert "13:00–15:00</strong> · Telehealth" in page.text
    assert 'href="/staff/availability"' in page.raw  # the menu entry
    assert (await http.get(f"{PATH}/{env['other']}")).status_code == 404
    r = await post_form(http, f"{PATH}/{env['other']}/blocks", block_form(env), page=own)
    assert r.status_code == 404 and await AvailabilityBlock.count() == 14


async def test_weekly_hours_added_changed_and_removed_with_checks(http):
    env = await world()
    own = f"{PATH}/{env['provider']}"
    await sign_in(http, "priya")
    r = await post_form(http, f"{own}/blocks", block_form(env), page=own)
    assert r.status_code == 303 and r.headers["location"] == f"{own}?done=block_added"
    row = await AvailabilityBlock.select().where(AvailabilityBlock.start_minute == 1080).first()
    assert (row["weekday"], row["end_minute"], row["location"]) == (0, 1200, env["location"])
    [added] = await events("availability.block_added")
    assert added["block"] == row["id"] and added["new"]["start_minute"] == 1080
    # Overlap with Monday 09:00-12:00, end before start, off-grid, retired place: 422, typed kept.
    for form, message in (
        (block_form(env, start="11:00", end="12:30"), "overlap the Monday hours 09:00–12:00"),
        (block_form(env, start="17:00", end="16:00"), "The end time must be after the start time."),
        (block_form(env, start="9:75"), "like 09:00 or 13:30"),
        (block_form(env, place="999999"), "Choose an active location, or telehealth."),
    ):
        page = Page(await post_form(http, f"{own}/blocks", form, page=own))
        assert page.status_code == 422 and message in page.text, page.text
        assert f'value="{form["start"]}"' in page.raw
    retired = await factories.location(env["practice"], name="Old office", active=False)
    page = Page(
        await post_form(http, f"{own}/blocks", block_form(env, place=str(retired)), page=own)
    )
    assert page.status_code == 422 and "Choose an active location" in page.text
    assert await AvailabilityBlock.count() == 15
    # Edit: moved to telehealth, not online; the audit event holds old and new.
    r = await post_form(http, f"{own}/blocks/{row['id']}",
                        block_form(env, place="telehealth", online="no", end="21:00"), page=own)  # fmt: skip
    assert r.status_code == 303
    [changed] = await events("availability.block_changed")
    assert changed["old"] == {"end_minute": 1200, "location": env["location"], "telehealth": False,
                              "bookable_online": True}  # fmt: skip
    assert changed["new"]["telehealth"] and changed["new"]["end_minute"] == 1260
    page = Page(await http.get(own))
    assert "18:00–21:00</strong> · Telehealth · not bookable online" in page.text
    # An edit may keep its own time; another provider's block is 404 under this provider.
    chen_block = (await AvailabilityBlock.insert(
        AvailabilityBlock(provider=env["other"], weekday=2, start_minute=600, end_minute=660,
                          location=env["location"])
    ).returning(AvailabilityBlock.id))[0]["id"]  # fmt: skip
    r = await post_form(http, f"{own}/blocks/{chen_block}", block_form(env), page=own)
    assert r.status_code == 404
    r = await post_form(http, f"{own}/blocks/{chen_block}/delete", {}, page=own)
    assert r.status_code == 404 and await AvailabilityBlock.count() == 16
    # Remove, with htmx: the editor comes back with the notice.
    r = await post_form(http, f"{own}/blocks/{row['id']}/delete", {}, page=own,
                        headers={"HX-Request": "true"})  # fmt: skip
    assert r.status_code == 200 and "<html" not in r.text and "Weekly hours removed." in r.text
    assert await AvailabilityBlock.count() == 15
    [deleted] = await events("availability.block_deleted")
    assert deleted["old"]["start_minute"] == 1080 and deleted["new"] is None


async def test_days_off_and_extra_hours(http):
    env = await world()
    own = f"{PATH}/{env['provider']}"
    await sign_in(http, "ruiz")
    ahead = (utcnow().astimezone(NY) + timedelta(days=5)).date()
    r = await post_form(http, f"{own}/exceptions",
                        {"on_date": ahead.isoformat(), "kind": "off", "note": "Conference"}, page=own)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{own}?done=exception_added"
    r = await post_form(http, f"{own}/exceptions", {"on_date": ahead.isoformat(), "kind": "extra",
                        "start": "17:00", "end": "19:00", "place": "telehealth"}, page=own)  # fmt: skip
    assert r.status_code == 303
    page = Page(await http.get(own))
    assert "Day off (whole day) · Conference" in page.text
    assert "Extra hours 17:00–19:00 · Telehealth" in page.text
    past = (utcnow().astimezone(NY) - timedelta(days=1)).date().isoformat()
    page = Page(
        await post_form(http, f"{own}/exceptions", {"on_date": past, "kind": "off"}, page=own)
    )
    assert page.status_code == 422 and "That date is in the past" in page.text
    assert f'value="{past}"' in page.raw
    page = Page(await post_form(http, f"{own}/exceptions",
                                {"on_date": ahead.isoformat(), "kind": "extra"}, page=own))  # fmt: skip
    assert page.status_code == 422 and "Enter the start time" in page.text
    assert await AvailabilityException.count() == 2
    [off, extra] = await events("availability.exception_added")
    assert off["new"]["kind"] == "off" and off["old"] is None and extra["new"]["telehealth"]
    x = await AvailabilityException.select().where(AvailabilityException.kind == "off").first()
    r = await post_form(http, f"{own}/exceptions/{x['id']}/delete", {}, page=own)
    assert r.status_code == 303 and await AvailabilityException.count() == 1
    [gone] = await events("availability.exception_deleted")
    assert gone["old"]["note"] == "Conference"
    r = await post_form(http, f"{own}/exceptions/{x['id']}/delete", {}, page=own)
    assert r.status_code == 404


async def test_the_preview_shows_times_or_the_reason(http):
    env = await world()
    own = f"{PATH}/{env['provider']}"
    await Location.update({Location.active: True}).where(Location.id == env["location"])
    await AvailabilityBlock.delete().where(AvailabilityBlock.weekday == 2)  # no Wednesdays
    await sign_in(http, "owner")
    page = Page(await http.get(own))
    assert "What clients are offered" in page.text
    assert "No weekly hours on Wednesday" in page.text
    assert "Inside the minimum notice" in page.text  # today, with 24 hours' notice
    assert "09:00, 09:30" in page.text


def test_day_reasons():
    monday = date(2030, 3, 4)
    now = datetime(2030, 3, 1, 12, tzinfo=UTC)
    rules = Rules(30, 60, timedelta(hours=24), timedelta(days=30))
    weekly = [WeeklyHours(0, 540, 720, 1)]
    none = Busy([])

    def reason(day, weekly=weekly, exceptions=(), busy=none, rules=rules, now=now):  # noqa: ANN001, ANN202
        return hours.day_reason(day, weekly, list(exceptions), busy, rules, NY, now)

    assert reason(monday) == ""
    assert reason(monday + timedelta(days=1)) == "No weekly hours on Tuesday"
    assert reason(monday, exceptions=[DateException(monday, "off")]) == "Day off"
    assert (
        reason(monday, weekly=[WeeklyHours(0, 540, 720, 1, False)]) == "Hours not bookable online"
    )
    assert reason(monday, now=datetime(2030, 3, 4, 12, tzinfo=UTC)) == "Inside the minimum notice"
    assert reason(monday + timedelta(weeks=5)) == "Beyond the booking horizon"
    start = datetime(2030, 3, 4, 14, tzinfo=UTC)  # 09:00 in New York (EST)
    assert reason(monday, busy=Busy([(start, start + timedelta(hours=3))])) == "Fully booked"
    tuesday = monday + timedelta(days=1)
    extra = DateException(tuesday, "extra", 600, 720, TELEHEALTH)
    assert reason(tuesday, exceptions=[extra]) == ""
    days = hours.preview(monday, 2, weekly, [extra], [], rules, NY, now)
    assert [len(d.slots) for d in days] == [5, 3] and days[0].reason == ""


async def test_the_page_costs_the_same_queries_for_many_blocks_and_appointments(http, app):
    env = await world()
    own = f"{PATH}/{env['provider']}"
    client = await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "owner")
    counts, made = [], 0
    for n in (1, 10):
        for i in range(made, n):
            await AvailabilityBlock.insert(
                AvailabilityBlock(provider=env["provider"], weekday=i % 7, start_minute=1200 + i,
                                  end_minute=1201 + i, telehealth=True)
            )  # fmt: skip
            start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=2, hours=i)
            await factories.appointment(client["client_id"], env["provider"], env["service"], start)
        made = n
        await http.get(own)
        with count_queries(app.state.engine) as seen:
            assert (await http.get(own)).status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 12, counts


async def test_the_pages_are_valid_html_with_every_field_in_error(app, tmp_path):
    jar = required_vnu_jar()
    env = await world()
    own = f"{PATH}/{env['provider']}"
    await AvailabilityException.insert(
        AvailabilityException(provider=env["provider"], on_date=date(2099, 1, 5), kind="extra",
                              start_minute=600, end_minute=660, telehealth=True, note="Late")
    )  # fmt: skip
    docs = {}
    async with client_for(app) as http:
        await sign_in(http, "owner")
        docs["chooser"] = (await http.get(PATH)).text
        docs["page"] = (await http.get(f"{own}?done=block_added")).text
        bad = {"weekday": "9", "start": "x", "end": "y", "place": "z"}
        block = (await AvailabilityBlock.select(AvailabilityBlock.id).first())["id"]
        for path, form in (
            (f"{own}/blocks", bad),
            (f"{own}/blocks/{block}", bad),
            (f"{own}/exceptions", {"on_date": "x", "kind": "q", "start": "x", "end": "y"}),
        ):
            for htmx in (False, True):
                r = await post_form(http, path, form, page=own, htmx=htmx)
                assert r.status_code == 422, (path, r.text)
                docs[f"{path} {htmx}"] = as_document(r.text) if htmx else r.text
    errors = await asyncio.to_thread(check, jar, docs, tmp_path)
    assert not errors, f"{len(errors)} HTML errors in {len(docs)} documents:\n" + "\n".join(errors)


async def test_extra_hours_at_a_place_without_weekly_hours_are_offered_to_clients(http):
    # The preview and /schedule agree: extra hours by telehealth, from a provider whose
    # weekly hours are all at the office, are offered to clients as telehealth times.
    env = await world()
    await AvailabilityBlock.delete().where(AvailabilityBlock.telehealth.eq(True))
    own = f"{PATH}/{env['provider']}"
    ahead = (utcnow().astimezone(NY) + timedelta(days=4)).date()
    await sign_in(http, "ruiz")
    r = await post_form(http, f"{own}/exceptions", {"on_date": ahead.isoformat(), "kind": "extra",
                        "start": "18:00", "end": "19:00", "place": "telehealth"}, page=own)  # fmt: skip
    assert r.status_code == 303
    await http.post("/logout")
    http.cookies.clear()
    await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    page = await http.get(f"/schedule?provider={env['provider']}&service={env['service']}")
    assert "Telehealth" in page.text
    page = await http.get(
        f"/schedule?provider={env['provider']}&service={env['service']}&where={TELEHEALTH}"
        f"&week={ahead.isoformat()}"
    )
    assert page.status_code == 200
    assert "/schedule/review?" in page.text and "6:00" in page.text, page.text[-3000:]
