"""Staff › Agenda (issue 15, item 5): the day and week views, booking for a client, and
acting on one appointment (move, cancel, mark what happened).

Domain: portal.scheduling.agenda (what a view shows, who may see it) and
portal.scheduling.staff_booking (the actions). Owner, manager and scheduler see every
provider; a provider their own agenda; the biller nothing (403). An appointment out of
reach is 404. Every action answers the re-rendered appointment card for htmx, or a 303
to the appointment's page without JavaScript; bad input is 422 with the message by its
field and the input kept; a state that forbids the action (already cancelled) is 409 with
the card and its message. Requested bookings are approved at /staff/agenda/requests.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import DomainError
from portal.handlers.base import done, form_text, render
from portal.handlers.errors import status_of
from portal.handlers.staff import not_biller
from portal.practice.info import PracticeInfo
from portal.scheduling import agenda, diagnoses, staff_booking
from portal.staff.access import Staff

BASE = "/staff/agenda"
NOTICES = {
    "booked": "Booked. The client has been mailed a confirmation.",
    "moved": "Moved. The old time is free again and the client has been mailed the new time.",
    "cancelled": "Cancelled. The client has been mailed.",
    "marked": "Saved.",
    "diagnoses": "Diagnosis codes saved: a charge for this appointment carries them.",
}


async def _period(request: Request, staff: Staff, practice: PracticeInfo, *, week: bool,
                  date: str, provider: str) -> Template:  # fmt: skip
    v = await agenda.view(staff, practice, utcnow(), day_text=date, provider_text=provider,
                          week=week)  # fmt: skip
    return await render(
        request, "pages/staff/agenda.html",
        {"view": v, "whole": agenda.sees_practice(staff), "practice": practice},
        fragment="partials/staff/agenda/period.html",
    )  # fmt: skip


def _typed(source, fields: dict[str, int]) -> dict[str, str]:  # noqa: ANN001 - query or form
    return {k: form_text(source, k, n) for k, n in fields.items()}


class AgendaController(Controller):
    path = BASE
    guards = [not_biller]

    @get("/")
    async def day(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff], date: FromQuery[str] = "", provider: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await _period(request, staff, practice, week=False, date=date, provider=provider)

    @get("/week")
    async def week(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff], date: FromQuery[str] = "", provider: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await _period(request, staff, practice, week=True, date=date, provider=provider)

    # --- Booking for a client --------------------------------------------------------------

    async def _book_page(
        self, request, staff, practice, typed, *, status_code=200, errors=None, message=""
    ) -> Template:  # noqa: ANN001 - fmt: skip
        f = await staff_booking.booking_form(staff, practice, typed, utcnow())
        f.errors, f.message = errors or {}, message
        return await render(
            request, "pages/staff/agenda_book.html", {"f": f, "practice": practice},
            fragment="partials/staff/agenda/book.html", status_code=status_code,
        )  # fmt: skip

    @get("/book")
    async def book_form(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff],
    ) -> Template:  # fmt: skip
        typed = _typed(request.query_params, staff_booking.FIELDS)
        return await self._book_page(request, staff, practice, typed)

    @post("/book", status_code=200)
    async def book(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        typed = _typed(await request.form(), staff_booking.FIELDS)
        f = await staff_booking.booking_form(staff, practice, typed, utcnow())
        try:
            appointment_id = await staff_booking.book(staff, f, now=utcnow(), actor=actor)
        except DomainError as exc:
            status = 422 if status_of(exc) in (409, 422) else status_of(exc)
            return await self._book_page(request, staff, practice, typed, status_code=status,
                                         errors=exc.errors, message=exc.message)  # fmt: skip

        async def card() -> Template:
            return await self._card(request, staff, practice, appointment_id, notice="booked")

        return await done(request, f"{BASE}/appointments/{appointment_id}?done=booked", card)

    # --- One appointment -------------------------------------------------------------------

    async def _card(
        self,
        request,
        staff,
        practice,
        appointment_id,
        *,
        notice="",
        typed=None,
        errors=None,
        message="",
        status_code=200,
        row=None,
    ) -> Template:  # noqa: ANN001 - fmt: skip
        row = row or await agenda.one(staff, practice.id, appointment_id)
        typed = typed or {}
        now = utcnow()
        tz = practice.time_zone
        day = agenda.parse_day(
            typed.get("date", ""), max(row["starts_at"], now).astimezone(tz).date()
        )
        override = typed.get("override") == "yes"
        open_ = row["status"] not in ("cancelled", "completed", "no_show")
        offered = []
        if open_:
            provider = await agenda.provider_rules(practice.id, row["provider"])
            minutes = int((row["ends_at"] - row["starts_at"]).total_seconds() // 60)
            place = agenda.TELEHEALTH if row["telehealth"] else row["location"]
            offered = await agenda.times(provider, minutes, place, day, practice, now,
                                                override=override, ignore=row["id"])  # fmt: skip
        return await render(
            request, "pages/staff/agenda_appointment.html",
            {"a": row, "notice": NOTICES.get(notice, ""), "typed": typed, "errors": errors or {},
             "message": message, "day": day, "override": override, "offered": offered,
             "open": open_, "started": row["starts_at"] <= now, "practice": practice,
             "clinical": diagnoses.may_enter(staff)},
            fragment="partials/staff/agenda/appointment.html", status_code=status_code,
        )  # fmt: skip

    @get("/appointments/{appointment_id:int}")
    async def appointment(
        self, request: Request, appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        done: FromQuery[str] = "", date: FromQuery[str] = "", override: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        typed = {"date": date[:10], "override": override[:3]}
        return await self._card(request, staff, practice, appointment_id, notice=done, typed=typed)

    async def _act(self, request, staff, practice, appointment_id, typed, act, key) -> Response:  # noqa: ANN001
        await agenda.one(staff, practice.id, appointment_id)  # out of reach: 404 first
        try:
            await act()
        except DomainError as exc:
            if status_of(exc) == 404:
                raise
            return await self._card(request, staff, practice, appointment_id, typed=typed,
                                    errors=exc.errors, message=exc.message if not exc.errors else "",
                                    status_code=status_of(exc))  # fmt: skip

        async def card() -> Template:
            return await self._card(request, staff, practice, appointment_id, notice=key)

        return await done(request, f"{BASE}/appointments/{appointment_id}?done={key}", card)

    @post("/appointments/{appointment_id:int}/move", status_code=200)
    async def move(
        self, request: Request, appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        typed = _typed(await request.form(), {"start": 40, "date": 10, "override": 3})

        async def act() -> None:
            await staff_booking.move(staff, appointment_id, typed["start"],
                                     override=typed["override"] == "yes", now=utcnow(), actor=actor)  # fmt: skip

        return await self._act(request, staff, practice, appointment_id, typed, act, "moved")

    @post("/appointments/{appointment_id:int}/cancel", status_code=200)
    async def cancel(
        self, request: Request, appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        form = await request.form()
        typed = {"reason": str(form.get("reason", ""))[: staff_booking.REASON_MAX + 100]}

        async def act() -> None:
            await staff_booking.cancel(staff, appointment_id, typed["reason"], now=utcnow(),
                                       actor=actor)  # fmt: skip

        return await self._act(request, staff, practice, appointment_id, typed, act, "cancelled")

    @post("/appointments/{appointment_id:int}/mark", status_code=200)
    async def mark(
        self, request: Request, appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        typed = _typed(await request.form(), {"outcome": 20})

        async def act() -> None:
            await staff_booking.mark(staff, appointment_id, typed["outcome"], now=utcnow(),
                                     actor=actor)  # fmt: skip

        return await self._act(request, staff, practice, appointment_id, typed, act, "marked")

    @post("/appointments/{appointment_id:int}/diagnoses", status_code=200)
    async def set_diagnoses(
        self, request: Request, appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        typed = _typed(await request.form(), {"diagnoses": 200})

        async def act() -> None:
            await diagnoses.set_codes(staff, appointment_id, typed["diagnoses"], actor=actor)

        return await self._act(request, staff, practice, appointment_id, typed, act, "diagnoses")


# The controllers and route handlers this module adds to the app (portal.app).
CONTROLLERS: list = [AgendaController]
