"""Staff › Settings › Services and Locations (owner, manager): what can be booked and where
(portal.practice.services, portal.practice.locations).

Each list is one card with every active item (editable, retirable), the retired ones
(restorable) and a form to add one. Every action answers the re-rendered card for htmx, or
a 303 to the page without JavaScript; bad input is 422 with each message by its field and
the input kept (the card for htmx, the page otherwise). Nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core.actor import Actor
from portal.core.errors import Invalid
from portal.handlers.base import done, form_text, render
from portal.handlers.errors import status_of
from portal.handlers.staff import owner_or_manager
from portal.practice import locations, services
from portal.practice.info import PracticeInfo


@dataclass(frozen=True)
class _Kind:
    """What differs between the two settings pages."""

    path: str
    page: str
    fragment: str
    domain: ModuleType
    listing: Callable[[int], Awaitable[list]]
    notices: dict[str, str]

    async def page_for(
        self, request: Request, practice: PracticeInfo, *, notice: str = "",
        edit: dict | None = None, status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(
            request,
            self.page,
            {
                "items": await self.listing(practice.id),
                "notice": notice,
                "edit": edit or {},
                "offered_to": services.OFFERED_TO,
            },
            fragment=self.fragment,
            status_code=status_code,
        )

    async def finished(self, request: Request, practice: PracticeInfo, key: str) -> Response:
        async def fragment() -> Template:
            return await self.page_for(request, practice, notice=self.notices[key])

        return await done(request, f"{self.path}?done={key}", fragment)

    async def save(
        self, request: Request, practice: PracticeInfo, edit_id: int | str,
        store: Callable[[dict], Awaitable[object]], key: str,
    ) -> Response:  # fmt: skip
        """A posted form checked, then `store`d: the notice `key`, or the form again
        (`edit_id`: the item's id, "new" when adding) with the errors and what was typed."""
        form = await request.form()
        typed = {k: form_text(form, k, n) for k, n in self.domain.TEXT_FIELDS.items()}
        clean, errors = self.domain.check(typed)
        try:
            if errors:
                raise Invalid(errors=errors)
            await store(clean)
        except Invalid as exc:
            edit = {"id": edit_id, "typed": typed, "errors": exc.errors, "message": exc.message}
            return await self.page_for(request, practice, edit=edit, status_code=status_of(exc))
        return await self.finished(request, practice, key)

    async def toggle(
        self, request: Request, practice: PracticeInfo, item_id: int,
        act: Callable[[], Awaitable[bool]], key: str,
    ) -> Response:  # fmt: skip
        """Retire or restore; a name taken meanwhile by an active one is said at the item."""
        try:
            await act()
        except Invalid as exc:
            message = next(iter(exc.errors.values()), exc.message)
            edit = {"id": item_id, "toggle_error": message, "errors": {}}
            return await self.page_for(request, practice, edit=edit, status_code=status_of(exc))
        return await self.finished(request, practice, key)


SERVICES = _Kind(
    path="/staff/settings/services",
    page="pages/staff/services.html",
    fragment="partials/staff/services/list.html",
    domain=services,
    listing=services.all_services,
    notices={
        "added": "Service added. Clients can book it now if it is offered online.",
        "changed": "Service saved.",
        "retired": "Service retired: it is no longer offered for new bookings. "
        "Appointments already booked keep it.",
        "restored": "Service restored.",
    },
)
LOCATIONS = _Kind(
    path="/staff/settings/locations",
    page="pages/staff/locations.html",
    fragment="partials/staff/locations/list.html",
    domain=locations,
    listing=locations.all_locations,
    notices={
        "added": "Location added.",
        "changed": "Location saved.",
        "retired": "Location retired: it is no longer offered for new bookings. "
        "Appointments already booked there keep it.",
        "restored": "Location restored.",
    },
)


class ServicesController(Controller):
    path = "/staff/settings/services"
    guards = [owner_or_manager]

    @get("/")
    async def show(
        self, request: Request, practice: NamedDependency[PracticeInfo], done: FromQuery[str] = ""
    ) -> Template:
        return await SERVICES.page_for(request, practice, notice=SERVICES.notices.get(done, ""))

    @post("/", status_code=200)
    async def add(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        async def store(clean: dict) -> int:
            return await services.add(practice.id, clean, actor)

        return await SERVICES.save(request, practice, "new", store, "added")

    @post("/{service_id:int}", status_code=200)
    async def change(
        self, request: Request, service_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        await services.row_of(practice.id, service_id)  # another practice's, or none: 404 first

        async def store(clean: dict) -> None:
            await services.change(practice.id, service_id, clean, actor)

        return await SERVICES.save(request, practice, service_id, store, "changed")

    @post("/{service_id:int}/retire", status_code=200)
    async def retire(
        self, request: Request, service_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        async def act() -> bool:
            return await services.retire(practice.id, service_id, actor)

        return await SERVICES.toggle(request, practice, service_id, act, "retired")

    @post("/{service_id:int}/restore", status_code=200)
    async def restore(
        self, request: Request, service_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        async def act() -> bool:
            return await services.restore(practice.id, service_id, actor)

        return await SERVICES.toggle(request, practice, service_id, act, "restored")


class LocationsController(Controller):
    path = "/staff/settings/locations"
    guards = [owner_or_manager]

    @get("/")
    async def show(
        self, request: Request, practice: NamedDependency[PracticeInfo], done: FromQuery[str] = ""
    ) -> Template:
        return await LOCATIONS.page_for(request, practice, notice=LOCATIONS.notices.get(done, ""))

    @post("/", status_code=200)
    async def add(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        async def store(clean: dict) -> int:
            return await locations.add(practice.id, clean, actor)

        return await LOCATIONS.save(request, practice, "new", store, "added")

    @post("/{location_id:int}", status_code=200)
    async def change(
        self, request: Request, location_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        await locations.row_of(practice.id, location_id)  # another practice's, or none: 404 first

        async def store(clean: dict) -> None:
            await locations.change(practice.id, location_id, clean, actor)

        return await LOCATIONS.save(request, practice, location_id, store, "changed")

    @post("/{location_id:int}/retire", status_code=200)
    async def retire(
        self, request: Request, location_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        async def act() -> bool:
            return await locations.retire(practice.id, location_id, actor)

        return await LOCATIONS.toggle(request, practice, location_id, act, "retired")

    @post("/{location_id:int}/restore", status_code=200)
    async def restore(
        self, request: Request, location_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        async def act() -> bool:
            return await locations.restore(practice.id, location_id, actor)

        return await LOCATIONS.toggle(request, practice, location_id, act, "restored")
