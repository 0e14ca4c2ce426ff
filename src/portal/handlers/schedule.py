"""Self-scheduling at /schedule: who, what, where, then the free slots; review; book.

The picker is a GET form: without JavaScript it submits and the page comes
back with the dependent choices and slots; with htmx each change swaps only
the picker fragment (and pushes the URL, so back and reload work).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.clients import provide_client
from portal.core.clock import utcnow
from portal.handlers.base import client_ip, render, signed_in
from portal.practice.info import PracticeInfo
from portal.scheduling import appointments, booking
from portal.scheduling import slots as scheduling
from portal.scheduling.booking import BookingError
from portal.settings import Settings


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _parse_start(value: str) -> datetime | None:
    try:
        start = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return start if start.tzinfo else None


class ScheduleController(Controller):
    path = "/schedule"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    async def _picker(
        self, request: Request, client: dict, practice: PracticeInfo, provider: str, service: str,
        where: str, week: str, *, error: str = "", status_code: int = 200,
    ) -> Template:  # fmt: skip
        now = utcnow()
        tz = practice.time_zone
        c = await booking.choices(client, _int(provider), _int(service), where)
        today = now.astimezone(tz).date()
        try:
            monday = _monday(date.fromisoformat(week)) if week else _monday(today)
        except ValueError:
            monday = _monday(today)
        monday = max(monday, _monday(today))
        days: list[tuple[date, list[datetime]]] = []
        next_slot = None
        if c.complete:
            found = scheduling.by_local_day(
                await booking.slots(c, monday, monday + timedelta(days=6), practice, now), tz
            )
            days = [
                (monday + timedelta(days=i), found.get(monday + timedelta(days=i), []))
                for i in range(7)
            ]
            if not any(s for _, s in days):
                next_slot = await booking.next_free(c, monday + timedelta(days=7), practice, now)
                if next_slot is None and monday == _monday(today):
                    c.reason = (
                        f"{c.provider['display_name']} has no free time for this in the next "
                        f"{c.provider['horizon_days']} days. Try another provider or place, or call the practice."
                    )
        query = {"provider": provider, "service": service, "where": where}
        context = {
            "c": c,
            "practice": practice,
            "selected": query,
            "days": days,
            "week": monday,
            "prev_week": monday - timedelta(days=7) if monday > _monday(today) else None,
            "next_week": monday + timedelta(days=7),
            "next_slot": next_slot,
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
        c = await booking.choices(client, _int(provider), _int(service), where)
        when = _parse_start(start)
        if not c.complete or when is None:
            return await self._picker(
                request, client, practice, provider, service, where, "",
                error=c.reason or "Choose a time from the list.", status_code=422,
            )  # fmt: skip
        name, address = await booking.place_label(c.place)
        return await render(
            request,
            "pages/scheduling/review.html",
            {
                "c": c,
                "practice": practice,
                "start": when,
                "end": when + timedelta(minutes=c.service["duration_minutes"]),
                "place_name": name,
                "address": address,
                "fields": {
                    "provider": provider,
                    "service": service,
                    "where": where,
                    "start": start,
                },
                "back": "/schedule?"
                + urlencode(
                    {
                        "provider": provider,
                        "service": service,
                        "where": where,
                        "week": _monday(when.astimezone(practice.time_zone).date()).isoformat(),
                    }
                ),
            },  # fmt: skip
        )

    @post("/book", status_code=303)
    async def book(
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        form = await request.form()
        provider, service, where, start = (
            str(form.get(k, ""))[:64] for k in ("provider", "service", "where", "start")
        )
        c = await booking.choices(client, _int(provider), _int(service), where)
        when = _parse_start(start)
        week = _monday(when.astimezone(practice.time_zone).date()).isoformat() if when else ""
        try:
            if when is None:
                raise BookingError("Choose a time from the list.")
            appointment_id = await booking.book(
                client, c, when, practice=practice, now=utcnow(), actor_id=request.user.id,
                ip=client_ip(request), portal_url=settings.server.public_url.rstrip("/"),
            )  # fmt: skip
        except BookingError as exc:
            return await self._picker(
                request, client, practice, provider, service, where, week,
                error=exc.message, status_code=409 if exc.taken else 422,
            )  # fmt: skip
        return Redirect(f"/schedule/booked/{appointment_id}", status_code=303)

    @get("/booked/{appointment_id:int}")
    async def booked(
        self, request: Request, appointment_id: FromPath[int], client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:  # fmt: skip
        try:
            visit = await appointments.one(client["id"], appointment_id, utcnow(), practice)
        except appointments.AppointmentError as exc:
            raise NotFoundException() from exc
        return await render(
            request, "pages/scheduling/booked.html", {"v": visit, "practice": practice}
        )
