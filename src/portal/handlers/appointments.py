"""Confirm or cancel an appointment; print, PDF and calendar files of the upcoming list."""

from __future__ import annotations

import json

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.clients import display_name, provide_client
from portal.core import pdf
from portal.core.clock import utcnow
from portal.dashboard import widgets as dashboard
from portal.handlers.base import client_ip, form_text, is_fragment_request, render, signed_in
from portal.practice.info import PracticeInfo
from portal.scheduling import appointments, calendars
from portal.scheduling.appointments import AppointmentError
from portal.settings import Settings

# Sent with every change so the widgets that depend on appointments refresh.
# Targeted at <body>: the element that asked may have been swapped out already.
CHANGED = json.dumps({"appointments-changed": {"target": "body"}})


class AppointmentController(Controller):
    path = "/appointments"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    async def _respond(
        self, request: Request, client: dict, practice: PracticeInfo, *, notice: str = "", error: str = "",
        status_code: int = 200, changed: bool = True,
    ) -> Template | Redirect:  # fmt: skip
        now = utcnow()
        if is_fragment_request(request):
            visits = await appointments.upcoming(client["id"], now, practice)
            return Template(
                template_name="partials/dashboard/appointments.html",
                context={"visits": visits, "practice": practice, "notice": notice, "error": error},
                status_code=status_code,
                headers={"HX-Trigger": CHANGED} if changed else {},
            )
        if not error:
            return Redirect("/", status_code=303)
        # Without JavaScript: the whole dashboard, the message in the appointments widget.
        context = await dashboard.load_all(
            client=client, user_id=request.user.id, practice=practice, now=now
        )
        return await render(
            request,
            "pages/dashboard/index.html",
            {
                "client": client,
                "name": display_name(client),
                "practice": practice,
                "error": error,
                **context,
            },
            status_code=status_code,
        )

    async def _change(
        self, request, client, practice, settings, appointment_id, action, done, **extra
    ):  # noqa: ANN001, ANN202
        """Apply `appointments.confirm` or `.cancel`; the widget (or page) either way."""
        try:
            visit = await action(
                client["id"], appointment_id, **extra, now=utcnow(), practice=practice,
                actor_id=request.user.id, ip=client_ip(request),
                portal_url=settings.server.public_url.rstrip("/"),
            )  # fmt: skip
        except AppointmentError as exc:
            if exc.status == 404:
                raise NotFoundException(exc.message) from exc
            return await self._respond(
                request, client, practice, error=exc.message, status_code=exc.status, changed=False
            )
        when = visit.starts_at.astimezone(practice.time_zone).strftime("%a %-d %b at %-I:%M %p")
        return await self._respond(request, client, practice, notice=f"{done}: {when}.")

    @post("/{appointment_id:int}/confirm", status_code=200)
    async def confirm(
        self, request: Request, appointment_id: FromPath[int], client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo], settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        return await self._change(
            request, client, practice, settings, appointment_id, appointments.confirm, "Confirmed"
        )

    @post("/{appointment_id:int}/cancel", status_code=200)
    async def cancel(
        self, request: Request, appointment_id: FromPath[int], client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo], settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        form = await request.form()
        return await self._change(
            request, client, practice, settings, appointment_id, appointments.cancel, "Cancelled",
            reason=form_text(form, "reason", 500),
        )  # fmt: skip

    async def _list_context(self, client: dict, practice: PracticeInfo) -> dict:
        now = utcnow()
        return {
            "client": client,
            "practice": practice,
            "visits": await appointments.upcoming(client["id"], now, practice),
            "printed_at": now,
        }

    @get("/print")
    async def print_list(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:
        return await render(
            request,
            "pages/scheduling/appointments_print.html",
            await self._list_context(client, practice),
        )

    @get("/{appointment_id:int}/calendar.ics")
    async def one_ics(
        self, appointment_id: FromPath[int], client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        try:
            visit = await appointments.one(client["id"], appointment_id, utcnow(), practice)
        except AppointmentError as exc:
            raise NotFoundException(exc.message) from exc
        body = calendars.ics([visit], practice, host=_host(settings), now=utcnow())
        return _download(body, "text/calendar; charset=utf-8", f"appointment-{appointment_id}.ics")


def _host(settings: Settings) -> str:
    return settings.server.public_url.split("://", 1)[-1].split("/", 1)[0]


def _download(body: bytes, media_type: str, filename: str, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(
        body,
        media_type=media_type,
        headers={
            "content-disposition": f'{disposition}; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


@get("/appointments.ics", guards=[signed_in], dependencies={"client": Provide(provide_client)})
async def appointments_ics(
    client: NamedDependency[dict],
    practice: NamedDependency[PracticeInfo],
    settings: NamedDependency[Settings],
) -> Response:
    now = utcnow()
    visits = await appointments.upcoming(client["id"], now, practice)
    return _download(
        calendars.ics(visits, practice, host=_host(settings), now=now),
        "text/calendar; charset=utf-8",
        "appointments.ics",
    )


@get("/appointments.pdf", guards=[signed_in], dependencies={"client": Provide(provide_client)})
async def appointments_pdf(
    request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo]
) -> Response:
    now = utcnow()
    visits = await appointments.upcoming(client["id"], now, practice)
    html = request.app.template_engine.get_template(
        "pages/scheduling/appointments_pdf.html"
    ).render(client=client, practice=practice, visits=visits, printed_at=now)
    return _download(await pdf.render(html), "application/pdf", "appointments.pdf", inline=True)
