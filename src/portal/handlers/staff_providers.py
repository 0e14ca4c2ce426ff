"""Staff › Settings › Providers (owner, manager: every provider; a provider: their own) and
Agenda › Requests (online bookings waiting for approval): portal.practice.providers and
portal.scheduling.requests.

Each save answers the re-rendered form for htmx, or a 303 to the page without JavaScript;
bad input is 422 with each message by its field and the input kept.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core.actor import Actor
from portal.core.errors import Conflict, Invalid
from portal.handlers.base import done, form_text, render, staff_only
from portal.handlers.errors import status_of
from portal.practice import providers
from portal.practice.info import PracticeInfo
from portal.scheduling import requests
from portal.staff.access import Part, Staff
from portal.tables.accounts import Role

PATH = "/staff/settings/providers"
REQUESTS = "/staff/agenda/requests"


async def sets_up_providers(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    await staff_only(connection, handler)
    if connection.user.role not in (Role.owner, Role.manager, Role.provider):
        raise PermissionDeniedException(
            "Only the practice's owner, a manager or the provider can change this."
        )


class ProvidersController(Controller):
    path = PATH
    guards = [sets_up_providers]

    @get("/")
    async def listing(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff],
    ) -> Template:  # fmt: skip
        items = await providers.visible(practice.id, staff)
        return await render(
            request, "pages/staff/providers.html",
            {"items": items, "limit": practice.max_upcoming_online_bookings},
        )  # fmt: skip

    async def _page(
        self, request: Request, practice: PracticeInfo, item: providers.ProviderItem, *,
        typed: dict | None = None, errors: dict | None = None, message: str = "",
        notice: str = "", status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(
            request,
            "pages/staff/provider.html",
            {
                "p": item,
                "typed": typed or item.typed(),
                "errors": errors or {},
                "message": message,
                "notice": notice,
                "statuses": providers.STATUSES,
                "limit": practice.max_upcoming_online_bookings,
            },
            fragment="partials/staff/providers/form.html",
            status_code=status_code,
        )

    @get("/{provider_id:int}")
    async def show(
        self, request: Request, provider_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        item = await providers.one(practice.id, provider_id, staff)
        notice = "Provider settings saved." if done == "saved" else ""
        return await self._page(request, practice, item, notice=notice)

    @post("/{provider_id:int}", status_code=200)
    async def change(
        self, request: Request, provider_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        item = await providers.one(practice.id, provider_id, staff)  # not theirs: 404 first
        form = await request.form()
        typed = {k: form_text(form, k, n) for k, n in providers.TEXT_FIELDS.items()}
        statuses = [str(s) for s in form.getall("statuses", [])][:10]
        clean, errors = providers.check(typed, statuses)
        try:
            if errors:
                raise Invalid(errors=errors)
            await providers.change(practice.id, provider_id, clean, staff, actor)
        except Invalid as exc:
            return await self._page(
                request, practice, item, typed={**typed, "statuses": statuses},
                errors=exc.errors, message=exc.message, status_code=status_of(exc),
            )  # fmt: skip

        async def fragment() -> Template:
            fresh = await providers.one(practice.id, provider_id, staff)
            return await self._page(request, practice, fresh, notice="Provider settings saved.")

        return await done(request, f"{PATH}/{provider_id}?done=saved", fragment)


async def handles_requests(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    await staff_only(connection, handler)
    if connection.user.role not in (Role.owner, Role.manager, Role.scheduler, Role.provider):
        raise PermissionDeniedException("Only staff who schedule appointments can see this.")


DECIDED = {
    "approved": "Booking approved: it is scheduled, and the client was emailed.",
    "declined": "Booking declined: the time is free again, and the client was emailed.",
}


class RequestsController(Controller):
    """Agenda › Requests: online bookings waiting for approval."""

    path = REQUESTS
    guards = [handles_requests]

    async def _page(
        self, request: Request, practice: PracticeInfo, staff: Staff, *, notice: str = "",
        error: str = "", status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(
            request,
            "pages/staff/requests.html",
            {
                "items": await requests.waiting(practice.id, staff),
                "notice": notice,
                "error": error,
                "tz": practice.time_zone,
            },
            fragment="partials/staff/requests/list.html",
            status_code=status_code,
        )

    @get("/")
    async def show(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._page(request, practice, staff, notice=DECIDED.get(done, ""))

    async def _decide(
        self, request: Request, practice: PracticeInfo, staff: Staff, actor: Actor,
        appointment_id: int, approve: bool,
    ) -> Response:  # fmt: skip
        if not staff.may(Part.appointments):
            raise PermissionDeniedException("Only staff who schedule appointments can do this.")
        form = await request.form()
        reason = form_text(form, "reason", requests.MAX_REASON)
        try:
            await requests.decide(
                practice.id, appointment_id, staff, actor, approve=approve, reason=reason
            )
        except (Invalid, Conflict) as exc:  # not NotFound: that is the 404 page
            return await self._page(
                request, practice, staff, error=exc.message, status_code=status_of(exc)
            )
        key = "approved" if approve else "declined"

        async def fragment() -> Template:
            return await self._page(request, practice, staff, notice=DECIDED[key])

        return await done(request, f"{REQUESTS}?done={key}", fragment)

    @post("/{appointment_id:int}/approve", status_code=200)
    async def approve(
        self, request: Request, appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        return await self._decide(request, practice, staff, actor, appointment_id, True)

    @post("/{appointment_id:int}/decline", status_code=200)
    async def decline(
        self, request: Request, appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        return await self._decide(request, practice, staff, actor, appointment_id, False)


# The controllers and route handlers this module adds to the app (portal.app).
CONTROLLERS: list = [ProvidersController, RequestsController]
