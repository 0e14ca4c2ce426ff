"""Staff › Availability (issue 15): a provider's weekly hours, date exceptions, and a preview
of the times clients are offered (portal.scheduling.hours).

Owner, manager and scheduler choose any provider; a provider edits their own hours only
(another provider's page is 404); a biller is refused. Every change answers the
re-rendered editor for htmx, or a 303 to the page without JavaScript; bad input is 422
with each message by its field and the input kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid
from portal.handlers.base import done, form_text, render
from portal.handlers.errors import status_of
from portal.handlers.staff import not_biller
from portal.practice.info import PracticeInfo
from portal.scheduling import booking, hours
from portal.staff.access import Staff
from portal.tables import AvailabilityBlock, AvailabilityException, Location, Provider, Service
from portal.tables.accounts import Role

PATH = "/staff/availability"
PREVIEW_DAYS = 14
NOTICES = {
    "block_added": "Weekly hours added.",
    "block_changed": "Weekly hours saved.",
    "block_deleted": "Weekly hours removed.",
    "exception_added": "Date added.",
    "exception_deleted": "Date removed.",
}


async def _provider(practice: PracticeInfo, staff: Staff, provider_id: int) -> dict:
    """The provider, if this staff member may edit their hours: else 404."""
    if staff.role is Role.provider and staff.provider_id != provider_id:
        raise NotFoundException("No such provider.")
    row = await Provider.select(
        Provider.id, Provider.display_name, Provider.slot_minutes, Provider.min_notice_hours,
        Provider.horizon_days, Provider.self_schedule_statuses,
    ).where(Provider.id == provider_id, Provider.practice == practice.id).first()  # fmt: skip
    if row is None:
        raise NotFoundException("No such provider.")
    return row


async def _view(provider: dict, practice: PracticeInfo, service_id: int | None) -> dict:
    tz, now = practice.time_zone, utcnow()
    today = now.astimezone(tz).date()
    blocks = await AvailabilityBlock.select(
        AvailabilityBlock.all_columns(), AvailabilityBlock.location.name.as_alias("place_name")
    ).where(AvailabilityBlock.provider == provider["id"]).order_by(
        AvailabilityBlock.weekday
    ).order_by(AvailabilityBlock.start_minute)  # fmt: skip
    exceptions = await AvailabilityException.select(
        AvailabilityException.all_columns(),
        AvailabilityException.location.name.as_alias("place_name"),
    ).where(
        AvailabilityException.provider == provider["id"], AvailabilityException.on_date >= today
    ).order_by(AvailabilityException.on_date).order_by(AvailabilityException.start_minute)  # fmt: skip
    locations = await Location.select(Location.id, Location.name).where(
        Location.practice == practice.id, Location.active.eq(True)
    ).order_by(Location.name)  # fmt: skip
    services = await Service.select(Service.id, Service.name, Service.duration_minutes).where(
        Service.practice == practice.id, Service.active.eq(True),
        Service.client_may_schedule.eq(True),
    ).order_by(Service.name)  # fmt: skip
    service = next(
        (s for s in services if s["id"] == service_id), services[0] if services else None
    )
    days = []
    if service is not None:
        last = today + timedelta(days=PREVIEW_DAYS - 1)
        weekly, dated, booked = await booking._schedule_inputs(provider["id"], today, last, tz)
        rules = booking.rules_for(provider, service)
        days = hours.preview(today, PREVIEW_DAYS, weekly, dated, booked, rules, tz, now)
    by_day = {d: [b for b in blocks if b["weekday"] == d] for d in range(7)}
    return {"provider": provider, "by_day": by_day, "exceptions": exceptions,
            "locations": locations, "services": services, "service": service,
            "days": days, "weekdays": hours.WEEKDAYS, "hhmm": hours.hhmm, "tz": tz,
            "today": today.isoformat()}  # fmt: skip


async def _page(request: Request, practice: PracticeInfo, provider: dict, *, notice: str = "",
                edit: dict | None = None, status_code: int = 200,
                service_id: int | None = None) -> Template:  # fmt: skip
    context = await _view(provider, practice, service_id)
    return await render(
        request, "pages/staff/availability_provider.html",
        {**context, "notice": notice, "edit": edit or {}},
        fragment="partials/staff/availability/editor.html", status_code=status_code,
    )  # fmt: skip


async def _save(request: Request, practice: PracticeInfo, provider: dict, form_id: str,
                fields: dict[str, int], store: Callable[[dict], Awaitable[object]],
                key: str) -> Response:  # fmt: skip
    form = await request.form()
    typed = {k: form_text(form, k, n) for k, n in fields.items()}
    try:
        await store(typed)
    except Invalid as exc:
        edit = {"id": form_id, "typed": typed, "errors": exc.errors, "message": exc.message}
        return await _page(request, practice, provider, edit=edit, status_code=status_of(exc))

    async def fragment() -> Template:
        return await _page(request, practice, provider, notice=NOTICES[key])

    return await done(request, f"{PATH}/{provider['id']}?done={key}", fragment)


class AvailabilityController(Controller):
    path = PATH
    guards = [not_biller]

    @get("/")
    async def choose(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff],
    ) -> Response:  # fmt: skip
        if staff.role is Role.provider:
            if staff.provider_id is None:
                raise NotFoundException("Your account has no provider record.")
            return Redirect(f"{PATH}/{staff.provider_id}", status_code=303)
        providers = await Provider.select(Provider.id, Provider.display_name, Provider.active).where(
            Provider.practice == practice.id
        ).order_by(Provider.display_name)  # fmt: skip
        return await render(request, "pages/staff/availability.html", {"providers": providers})

    @get("/{provider_id:int}")
    async def show(
        self, request: Request, provider_id: FromPath[int], practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff], done: FromQuery[str] = "", service: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        provider = await _provider(practice, staff, provider_id)
        service_id = int(service) if service.isdigit() and len(service) < 12 else None
        return await _page(request, practice, provider, notice=NOTICES.get(done, ""),
                           service_id=service_id)  # fmt: skip

    @post("/{provider_id:int}/blocks", status_code=200)
    async def add_block(
        self, request: Request, provider_id: FromPath[int], practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        provider = await _provider(practice, staff, provider_id)

        async def store(typed: dict) -> None:
            await hours.add_block(practice.id, provider_id, typed, actor)

        return await _save(request, practice, provider, "block-new", hours.TEXT_FIELDS, store,
                           "block_added")  # fmt: skip

    @post("/{provider_id:int}/blocks/{block_id:int}", status_code=200)
    async def change_block(
        self, request: Request, provider_id: FromPath[int], block_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        provider = await _provider(practice, staff, provider_id)
        await hours.block_of(provider_id, block_id)  # another provider's, or none: 404 first

        async def store(typed: dict) -> None:
            await hours.change_block(practice.id, provider_id, block_id, typed, actor)

        return await _save(request, practice, provider, f"block-{block_id}", hours.TEXT_FIELDS,
                           store, "block_changed")  # fmt: skip

    @post("/{provider_id:int}/blocks/{block_id:int}/delete", status_code=200)
    async def delete_block(
        self, request: Request, provider_id: FromPath[int], block_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        provider = await _provider(practice, staff, provider_id)

        async def store(typed: dict) -> None:
            await hours.delete_block(provider_id, block_id, actor)

        return await _save(request, practice, provider, f"block-{block_id}", {}, store,
                           "block_deleted")  # fmt: skip

    @post("/{provider_id:int}/exceptions", status_code=200)
    async def add_exception(
        self, request: Request, provider_id: FromPath[int], practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        provider = await _provider(practice, staff, provider_id)
        today = utcnow().astimezone(practice.time_zone).date()

        async def store(typed: dict) -> None:
            await hours.add_exception(practice.id, provider_id, typed, today, actor)

        return await _save(request, practice, provider, "exception-new", hours.EXCEPTION_FIELDS,
                           store, "exception_added")  # fmt: skip

    @post("/{provider_id:int}/exceptions/{exception_id:int}/delete", status_code=200)
    async def delete_exception(
        self, request: Request, provider_id: FromPath[int], exception_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        provider = await _provider(practice, staff, provider_id)

        async def store(typed: dict) -> None:
            await hours.delete_exception(provider_id, exception_id, actor)

        return await _save(request, practice, provider, f"exception-{exception_id}", {}, store,
                           "exception_deleted")  # fmt: skip


# The controllers and route handlers this module adds to the app (portal.app).
CONTROLLERS: list = [AvailabilityController]
