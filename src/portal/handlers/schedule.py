"""Scheduling: self-scheduling at /schedule; confirm or cancel at /appointments; the upcoming
list as print view, PDF and calendar files.

The picker is a GET form: without JavaScript it submits and the page comes back
with the dependent choices and slots; with htmx each change swaps only the
picker fragment (and pushes the URL, so back and reload work). Confirm and
cancel answer the appointments widget to htmx, a 303 to the dashboard otherwise.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.clients import display_name
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import parse_id
from portal.core.errors import DomainError
from portal.dashboard import widgets as dashboard
from portal.handlers.base import (
    form_text,
    is_fragment_request,
    pdf_response,
    provide_client,
    render,
    signed_in,
)
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo
from portal.scheduling import appointments, booking, calendars, places
from portal.settings import Settings

# Sent with every change so the widgets that depend on appointments refresh.
# Targeted at <body>: the element that asked may have been swapped out already.
CHANGED = json.dumps({"appointments-changed": {"target": "body"}})
CLIENT = {"client": Provide(provide_client)}


class ScheduleController(Controller):
    path = "/schedule"
    guards = [signed_in]
    dependencies = CLIENT

    async def _picker(
        self, request: Request, client: dict, practice: PracticeInfo, provider: str, service: str,
        where: str, week: str, *, error: str = "", status_code: int = 200,
    ) -> Template:  # fmt: skip
        now = utcnow()
        c = await booking.choices(
            client, parse_id(provider), parse_id(service), where, practice=practice, now=now
        )
        shown = await booking.week(c, week, practice, now)
        query = {"provider": provider, "service": service, "where": where}
        context = {
            "c": c,
            "practice": practice,
            "selected": query,
            "days": shown.days,
            "week": shown.monday,
            "prev_week": shown.prev_week,
            "next_week": shown.next_week,
            "next_slot": shown.next_slot,
            "base_query": urlencode(query),
            "error": error,
        }
        return await render(
            request,
            "pages/scheduling/schedule.html",
            context,
            fragment="partials/scheduling/picker.html",
            status_code=status_code,
        )

    @get("/")
    async def schedule(
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        provider: FromQuery[str] = "", service: FromQuery[str] = "", where: FromQuery[str] = "",
        week: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._picker(request, client, practice, provider, service, where, week)

    @get("/review")
    async def review(
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        provider: FromQuery[str] = "", service: FromQuery[str] = "", where: FromQuery[str] = "",
        start: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        c = await booking.choices(
            client, parse_id(provider), parse_id(service), where, practice=practice, now=utcnow()
        )
        when = booking.parse_start(start)
        if not c.complete or when is None:
            return await self._picker(
                request, client, practice, provider, service, where, "",
                error=c.reason or "Choose a time from the list.", status_code=422,
            )  # fmt: skip
        name, address = await places.place_label(c.place)
        week = booking.monday_of(when.astimezone(practice.time_zone).date()).isoformat()
        fields = {"provider": provider, "service": service, "where": where, "start": start}
        context = {
            "c": c,
            "practice": practice,
            "start": when,
            "end": when + timedelta(minutes=c.service["duration_minutes"]),
            "place_name": name,
            "address": address,
            "fields": fields,
            "back": "/schedule?"
            + urlencode({"provider": provider, "service": service, "where": where, "week": week}),
        }
        return await render(request, "pages/scheduling/review.html", context)

    @post("/book", status_code=303)
    async def book(
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:  # fmt: skip
        form = await request.form()
        provider, service, where, start = (
            str(form.get(k, ""))[:64] for k in ("provider", "service", "where", "start")
        )
        now = utcnow()
        c = await booking.choices(
            client, parse_id(provider), parse_id(service), where, practice=practice, now=now
        )
        when = booking.parse_start(start)
        week = (
            booking.monday_of(when.astimezone(practice.time_zone).date()).isoformat()
            if when
            else ""
        )
        try:
            appointment_id = await booking.book(client, c, when, now=now, actor=actor)
        except DomainError as exc:
            return await self._picker(
                request, client, practice, provider, service, where, week,
                error=exc.message, status_code=status_of(exc),
            )  # fmt: skip
        return Redirect(f"/schedule/booked/{appointment_id}", status_code=303)

    @get("/booked/{appointment_id:int}")
    async def booked(
        self, request: Request, appointment_id: FromPath[int], client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:  # fmt: skip
        visit = await appointments.one(client["id"], appointment_id, utcnow(), practice)
        return await render(
            request, "pages/scheduling/booked.html", {"v": visit, "practice": practice}
        )


class AppointmentController(Controller):
    path = "/appointments"
    guards = [signed_in]
    dependencies = CLIENT

    async def _respond(
        self, request: Request, client: dict, practice: PracticeInfo, *, notice: str = "", error: str = "",
        status_code: int = 200, changed: bool = True, done_key: str = "",
    ) -> Template | Redirect:  # fmt: skip
        now = utcnow()
        if is_fragment_request(request):
            visits = await appointments.next_visits(client["id"], now, practice)
            return Template(
                template_name="partials/dashboard/appointments.html",
                context={
                    **appointments.dashboard_view(visits),
                    "practice": practice,
                    "notice": notice,
                    "error": error,
                },
                status_code=status_code,
                headers={"HX-Trigger": CHANGED} if changed else {},
            )
        if not error:  # the dashboard says what was done (`done_notice`), by key: no text in URLs
            return Redirect(f"/?done={done_key}" if done_key else "/", status_code=303)
        # Without JavaScript: the whole dashboard, the message in the appointments widget.
        context = await dashboard.load_all(
            client=client, user=request.user, practice=practice, now=now
        )
        page = {
            "client": client,
            "name": display_name(client),
            "practice": practice,
            "error": error,
        }
        return await render(
            request, "pages/dashboard/index.html", {**page, **context}, status_code=status_code
        )

    async def _change(self, request, client, actor, appointment_id, action, done, **extra):  # noqa: ANN001, ANN202
        """Apply `appointments.confirm` or `.cancel`; the widget (or page) either way."""
        practice = actor.practice
        try:
            visit = await action(client["id"], appointment_id, **extra, now=utcnow(), actor=actor)
        except DomainError as exc:
            if status_of(exc) == 404:
                raise
            return await self._respond(
                request, client, practice, error=exc.message, status_code=status_of(exc),
                changed=False,
            )  # fmt: skip
        when = visit.starts_at.astimezone(practice.time_zone).strftime("%a %-d %b at %-I:%M %p")
        return await self._respond(
            request, client, practice, notice=f"{done}: {when}.",
            done_key=f"{done.lower()}-{appointment_id}",
        )  # fmt: skip

    @post("/{appointment_id:int}/confirm", status_code=200)
    async def confirm(
        self, request: Request, appointment_id: FromPath[int], client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:  # fmt: skip
        return await self._change(
            request, client, actor, appointment_id, appointments.confirm, "Confirmed"
        )

    @post("/{appointment_id:int}/cancel", status_code=200)
    async def cancel(
        self, request: Request, appointment_id: FromPath[int], client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:  # fmt: skip
        form = await request.form()
        return await self._change(
            request, client, actor, appointment_id, appointments.cancel, "Cancelled",
            reason=form_text(form, "reason", 500),
        )  # fmt: skip

    @get("/print")
    async def print_list(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:
        return await render(
            request, "pages/scheduling/appointments_print.html", await _list(client, practice)
        )

    @get("/{appointment_id:int}/calendar.ics")
    async def one_ics(
        self, appointment_id: FromPath[int], client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        visit = await appointments.one(client["id"], appointment_id, utcnow(), practice)
        body = calendars.ics([visit], practice, host=_host(settings), now=utcnow())
        return _calendar_file(body, f"appointment-{appointment_id}.ics")


async def _list(client: dict, practice: PracticeInfo) -> dict:
    now = utcnow()
    visits = await appointments.upcoming(client["id"], now, practice)
    return {"client": client, "practice": practice, "visits": visits, "printed_at": now}


def _host(settings: Settings) -> str:
    return settings.portal_url.split("://", 1)[-1].split("/", 1)[0]


def _calendar_file(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


@get("/appointments.ics", guards=[signed_in], dependencies=CLIENT)
async def appointments_ics(
    client: NamedDependency[dict],
    practice: NamedDependency[PracticeInfo],
    settings: NamedDependency[Settings],
) -> Response:
    now = utcnow()
    visits = await appointments.upcoming(client["id"], now, practice)
    return _calendar_file(
        calendars.ics(visits, practice, host=_host(settings), now=now), "appointments.ics"
    )


@get("/appointments.pdf", guards=[signed_in], dependencies=CLIENT)
async def appointments_pdf(
    request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo]
) -> Response:
    context = await _list(client, practice)
    return await pdf_response(
        request, "pages/scheduling/appointments_pdf.html", context, "appointments.pdf", inline=True
    )
