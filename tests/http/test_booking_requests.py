"""Online bookings per provider (issue 15): the provider's own limit on upcoming online
bookings, and bookings that wait as "requested" until staff approve or decline them
(Agenda › Requests), the client mailed either way."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta

from portal.core.diagnostics import count_queries
from portal.scheduling import availability
from portal.tables import Appointment, AuditEvent, Provider
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from portal.tables.scheduling import AppointmentStatus
from tests import factories
from tests.http.test_schedule import practice_with_hours, slot_links
from tests.web import Page, csrf_token, mails, post_form, sign_in, signed_in

REQUESTS = "/staff/agenda/requests"
REQUESTED = "Requested — waiting for the practice to approve"


async def second_provider(practice_id: int) -> int:
    chen = await factories.provider(practice_id, "chen", display_name="James Chen")
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    await availability.apply(
        {"provider": [{
            "username": "chen", "slot_minutes": 30, "self_schedule": ["new", "active"],
            "min_notice_hours": 24, "horizon_days": 30,
            "hours": [{"days": every_day, "from": "13:00", "to": "15:00", "place": "telehealth"}],
        }]}
    )  # fmt: skip
    return chen["provider_id"]


async def schedule_page(http, provider: int, service: int) -> str:
    r = await http.get(f"/schedule?provider={provider}&service={service}&where=telehealth")
    assert r.status_code == 200
    return r.text


async def book(http, provider: int, service: int, n: int = 0):
    """Book the `n`th offered telehealth slot with `provider`; the POST's response."""
    links = slot_links(await schedule_page(http, provider, service))
    assert links, "no slots offered"
    review = await http.get(links[n])
    token = await csrf_token(http, links[n])
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', review.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    return await http.post("/schedule/book", data={**fields, "_csrf_token": token})


async def test_a_client_at_one_providers_limit_can_still_book_another(http):
    env = await practice_with_hours()
    chen = await second_provider(env["practice"])
    await Provider.update({Provider.online_booking_limit: 1}).where(Provider.id == env["provider"])
    await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    assert (await book(http, env["provider"], env["service"])).status_code == 303
    # Dr. Ruiz takes one online booking per client: no more with her...
    page = Page(
        await http.get(
            f"/schedule?provider={env['provider']}&service={env['service']}&where=telehealth"
        )
    )
    assert "You already have 1 upcoming appointment booked." in page.text
    assert slot_links(page.raw) == []
    # ...but James Chen (the practice's limit of 3) still takes bookings.
    assert (await book(http, chen, env["service"])).status_code == 303
    assert (await book(http, chen, env["service"], 1)).status_code == 303
    assert await Appointment.count().where(Appointment.provider == chen) == 2
    # With no limit of her own, Dr. Ruiz counts every online booking against the practice's 3.
    await Provider.update({Provider.online_booking_limit: None}).where(
        Provider.id == env["provider"]
    )
    page = Page(
        await http.get(
            f"/schedule?provider={env['provider']}&service={env['service']}&where=telehealth"
        )
    )
    assert "You already have 3 upcoming appointments booked." in page.text


async def requested_booking(http) -> dict:
    env = await practice_with_hours()
    await Provider.update({Provider.online_needs_approval: True}).where(
        Provider.id == env["provider"]
    )
    alice = await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    r = await book(http, env["provider"], env["service"])
    assert r.status_code == 303
    [appt] = await Appointment.select()
    return {**env, "alice": alice, "appointment": appt, "booked_url": r.headers["location"]}


async def test_a_booking_needing_approval_is_requested_and_holds_its_slot(http):
    env = await requested_booking(http)
    appt = env["appointment"]
    assert appt["status"] == AppointmentStatus.requested and appt["booked_online"]
    booked = Page(await http.get(env["booked_url"]))
    assert "Appointment requested" in booked.text and REQUESTED in booked.text
    assert "You're booked" not in booked.text
    widget = Page(await http.get("/dashboard/widgets/appointments"))
    assert f'id="appointment-{appt["id"]}"' in widget.raw and REQUESTED in widget.text
    assert f"/appointments/{appt['id']}/confirm" not in widget.raw
    assert REQUESTED in Page(await http.get("/appointments/print")).text
    # The slot stays held: it is no longer offered.
    page = await schedule_page(http, env["provider"], env["service"])
    starts = [
        datetime.fromisoformat(re.search(r"start=([^&]+)", u).group(1).replace("Z", "+00:00"))
        for u in slot_links(page)
    ]
    assert starts and appt["starts_at"] not in starts
    # Confirming a request is refused.
    r = await post_form(http, f"/appointments/{appt['id']}/confirm", {}, page="/")
    assert r.status_code in (409, 422)
    assert (await Appointment.select().first())["status"] == AppointmentStatus.requested


async def test_staff_approve_a_request_and_the_client_is_mailed(http, app):
    env = await requested_booking(http)
    appt = env["appointment"]
    await factories.staff("priya", Role.scheduler)
    async with signed_in(app, "priya") as priya:
        page = Page(await priya.get(REQUESTS))
        assert page.status_code == 200 and f'id="request-{appt["id"]}"' in page.raw
        r = await post_form(priya, f"{REQUESTS}/{appt['id']}/approve", {}, page=REQUESTS)
        assert r.status_code == 303 and r.headers["location"] == f"{REQUESTS}?done=approved"
        assert (await Appointment.select().first())["status"] == AppointmentStatus.scheduled
        [event] = await AuditEvent.select().where(
            AuditEvent.action == "appointment.request_approved"
        )
        detail = (
            event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
        )
        assert detail["old"]["status"] == "requested" and detail["new"]["status"] == "scheduled"
        [sent] = await mails("booking_approved")
        assert (
            sent["to_address"]
            == (await Appointment.select(Appointment.client.user.email.as_alias("e")).first())["e"]
        )
        assert "approved" in sent["body"] and "Dr. Elena Ruiz" in sent["body"]
        # Handled already: 409, with the reason, for approve and decline alike.
        for action in ("approve", "decline"):
            r = await post_form(
                priya, f"{REQUESTS}/{appt['id']}/{action}", {}, page=REQUESTS, htmx=True
            )
            assert r.status_code == 409 and "already handled: it is approved" in Page(r).text
        assert "No bookings are waiting" in Page(await priya.get(REQUESTS)).text
    widget = Page(await http.get("/dashboard/widgets/appointments"))
    assert REQUESTED not in widget.text and f"/appointments/{appt['id']}/confirm" in widget.raw


async def test_a_provider_declines_their_own_request_with_a_reason(http, app):
    env = await requested_booking(http)
    appt = env["appointment"]
    other = await factories.provider(env["practice"], "chen", display_name="James Chen")
    await factories.staff("tom", Role.biller)
    async with signed_in(app, "chen") as chen:  # not his: as if none
        assert f'id="request-{appt["id"]}"' not in (await chen.get(REQUESTS)).text
        r = await post_form(chen, f"{REQUESTS}/{appt['id']}/decline", {}, page=REQUESTS)
        assert r.status_code == 404
    async with signed_in(app, "tom") as tom:
        assert (await tom.get(REQUESTS)).status_code == 403
        r = await post_form(tom, f"{REQUESTS}/{appt['id']}/approve", {}, page="/profile")
        assert r.status_code == 403
    assert (await Appointment.select().first())["status"] == AppointmentStatus.requested
    async with signed_in(app, "ruiz") as ruiz:
        r = await post_form(
            ruiz, f"{REQUESTS}/{appt['id']}/decline", {"reason": "I am away that week."},
            page=REQUESTS, htmx=True,
        )  # fmt: skip
        assert r.status_code == 200 and "Booking declined" in r.text
    row = await Appointment.select().first()
    assert (
        row["status"] == AppointmentStatus.cancelled
        and row["cancel_reason"] == "I am away that week."
    )
    [sent] = await mails("booking_declined")
    assert "I am away that week." in sent["body"]
    assert await AuditEvent.count().where(AuditEvent.action == "appointment.request_declined") == 1
    # The time is free again, and the client no longer sees the request.
    assert (
        f'id="appointment-{appt["id"]}"'
        not in (await http.get("/dashboard/widgets/appointments")).text
    )
    assert other["provider_id"] != env["provider"]


async def test_the_requests_page_costs_the_same_queries_for_many_requests(http, app):
    env = await requested_booking(http)
    alice = env["alice"]["client_id"]
    await factories.staff("owner", Role.owner)
    counts = {}
    async with signed_in(app, "owner") as owner:
        for n in (1, 10):
            while await Appointment.count() < n:
                k = await Appointment.count()
                start = env["appointment"]["starts_at"] + timedelta(days=k)
                await factories.appointment(
                    alice,
                    env["provider"],
                    env["service"],
                    start,
                    status=AppointmentStatus.requested,
                )
            await owner.get(REQUESTS)
            with count_queries(app.state.engine) as seen:
                page = await owner.get(REQUESTS)
                assert page.status_code == 200 and page.text.count('id="request-') == n
            counts[n] = len(seen)
    assert counts[1] == counts[10] <= 6, counts


async def test_the_client_may_withdraw_a_request_and_staff_then_get_409(http, app):
    env = await requested_booking(http)
    appt = env["appointment"]
    r = await post_form(http, f"/appointments/{appt['id']}/cancel", {"reason": ""}, page="/")
    assert r.status_code in (200, 303)
    assert (await Appointment.select().first())["status"] == AppointmentStatus.cancelled
    await factories.staff("owner", Role.owner)
    async with signed_in(app, "owner") as owner:
        r = await post_form(owner, f"{REQUESTS}/{appt['id']}/approve", {}, page=REQUESTS)
        assert r.status_code == 409 and "declined or cancelled" in Page(r).text
    assert await mails("booking_approved") == []


async def test_a_request_whose_time_has_passed_is_declined_not_approved_or_marked(http, app):
    env = await requested_booking(http)
    appt = env["appointment"]
    past = appt["starts_at"] - timedelta(days=30)
    await Appointment.update(
        {Appointment.starts_at: past, Appointment.ends_at: past + timedelta(minutes=45)}
    ).where(Appointment.id == appt["id"])
    await factories.staff("priya", Role.scheduler)
    async with signed_in(app, "priya") as priya:
        r = await post_form(priya, f"{REQUESTS}/{appt['id']}/approve", {}, page=REQUESTS)
        assert r.status_code == 409 and "has passed, so it can't be approved" in Page(r).text
        # Nor can it be marked attended: it was never booked.
        mark = f"/staff/agenda/appointments/{appt['id']}/mark"
        r = await post_form(priya, mark, {"outcome": "completed"}, page=REQUESTS)
        assert r.status_code == 409 and "approve or decline it first" in Page(r).text
        assert (await Appointment.select().first())["status"] == AppointmentStatus.requested
        r = await post_form(priya, f"{REQUESTS}/{appt['id']}/decline", {}, page=REQUESTS)
        assert r.status_code == 303
        # Declined, it is no late cancellation of the client's: never marked.
        page = Page(await priya.get(f"/staff/agenda/appointments/{appt['id']}"))
        assert "Request declined" in page.text and "What happened" not in page.text
        r = await post_form(priya, mark, {"outcome": "late_cancel"}, page=REQUESTS)
        assert r.status_code == 409 and "was declined" in Page(r).text
    declined = await Appointment.select().first()
    assert declined["status"] == AppointmentStatus.cancelled and not declined["late_cancel"]
    assert declined["declined_at"] is not None
    assert await mails("booking_approved") == []
