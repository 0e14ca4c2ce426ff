"""Staff › Clients: the client list with search, filters and paging; creating a client;
the practice's custom demographics (Settings, owner or manager).

The list is a GET form: without JavaScript it loads the page; with htmx the same handler
answers only the results (`partials/staff/clients/results.html`). Creating a client is a
plain form post (it ends on another page, the new record): 303 to the record, or the
form again with every typed value and each error by its field (422). A role that may not
create clients (the biller) gets 404, as everything outside the access policy.

The custom demographics' actions each answer the re-rendered list for htmx, or a 303 to
the page without JavaScript; bad input is 422 with the message by its field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.core.actor import Actor
from portal.core.errors import Invalid, NotFound
from portal.handlers.base import done, form_text, render, staff_only
from portal.handlers.errors import status_of
from portal.handlers.staff import owner_or_manager
from portal.practice.info import PracticeInfo
from portal.staff import clients, demographics, new_client
from portal.staff.access import Part, Staff

RESULTS = "partials/staff/clients/results.html"


class ClientsController(Controller):
    path = "/staff/clients"
    guards = [staff_only]

    @get("/")
    async def index(
        self,
        request: Request,
        staff: NamedDependency[Staff],
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
        q: FromQuery[str] = "",
        status: FromQuery[str] = "",
        provider: FromQuery[str] = "",
        page: FromQuery[str] = "",
    ) -> Template:
        query = clients.list_query(q, status, provider, page)
        found = await clients.search(staff, practice.id, query, actor)  # a search is audited
        return await render(
            request,
            "pages/staff/clients/list.html",
            {
                "found": found,
                "search_q": query.q,
                "statuses": clients.FILTER_STATUSES,
                "portal_states": clients.PORTAL_STATES,
                "may_create": new_client.may_create(staff),
            },
            fragment=RESULTS,
        )

    async def _form(
        self, request: Request, staff: Staff, practice: PracticeInfo, typed: dict,
        errors: dict, status: int,
    ) -> Template:  # fmt: skip
        # Demographics are a part of the record of their own: a role without it (the
        # scheduler) neither sees nor sets them here.
        may_demographics = staff.may(Part.demographics)
        return await render(
            request,
            "pages/staff/clients/new.html",
            {
                "typed": typed,
                "errors": errors,
                "providers": await clients.practice_providers(practice.id),
                "may_demographics": may_demographics,
                "custom": await demographics.fields(practice.id) if may_demographics else [],
                "top_choices": demographics.TOP_CHOICES if may_demographics else {},
                "top_labels": demographics.TOP_LABELS,
                "statuses": clients.STATUSES,
            },
            status_code=status,
        )

    @get("/new")
    async def new(
        self,
        request: Request,
        staff: NamedDependency[Staff],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:
        if not new_client.may_create(staff):
            raise NotFound("No such page.")
        typed = {"status": "new", "providers": []}
        return await self._form(request, staff, practice, typed, {}, 200)

    @post("/", status_code=303)
    async def create(
        self,
        request: Request,
        staff: NamedDependency[Staff],
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:
        if not new_client.may_create(staff):
            raise NotFound("No such page.")
        form = await request.form()
        typed: dict = {name: form_text(form, name, n) for name, n in new_client.TEXT_FIELDS.items()}
        typed["providers"] = [str(v)[:12] for v in form.getall("providers", [])][:100]
        if staff.may(Part.demographics):  # anything else posted is ignored
            for name in demographics.TOP_CHOICES:
                typed[name] = form_text(form, name, 100)
            for f in await demographics.fields(practice.id):
                typed[f.name] = form_text(form, f.name, demographics.MAX_VALUE + 1)
        try:
            client_id = await new_client.create(practice.id, staff, typed, actor)
        except Invalid as exc:
            return await self._form(request, staff, practice, typed, exc.errors, status_of(exc))
        return Redirect(f"/staff/clients/{client_id}", status_code=303)


DEMOGRAPHICS = "partials/staff/demographics/fields.html"
NOTICES = {
    "added": "Field added.",
    "changed": "Field saved.",
    "removed": "Field removed, with every client's answer to it.",
    "moved": "Order saved.",
}


async def _own_field(practice: PracticeInfo, field_id: int) -> None:
    """Another practice's field, or none, is a 404 before anything else is said about it."""
    if field_id not in {f.id for f in await demographics.fields(practice.id)}:
        raise NotFound("There is no such field.")


def _definition(form) -> dict[str, str]:  # noqa: ANN001 - a FormMultiDict
    return {
        "label": form_text(form, "label", demographics.MAX_LABEL + 1),
        "kind": form_text(form, "kind", 10),
        "choices": str(form.get("choices", ""))[:4000],
    }


class DemographicsController(Controller):
    """Settings › Custom demographics: the fields staff keep about clients (staff only)."""

    path = "/staff/settings/demographics"
    guards = [owner_or_manager]

    async def _page(
        self,
        request: Request,
        practice: PracticeInfo,
        *,
        notice: str = "",
        edit: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        return await render(
            request,
            "pages/staff/demographics.html",
            {
                "fields": await demographics.fields(practice.id),
                "kinds": demographics.KINDS,
                "notice": notice,
                "edit": edit or {},
                "max_fields": demographics.MAX_FIELDS,
            },
            fragment=DEMOGRAPHICS,
            status_code=status_code,
        )

    async def _done(self, request: Request, practice: PracticeInfo, key: str) -> Response:
        async def fragment() -> Template:
            return await self._page(request, practice, notice=NOTICES[key])

        return await done(request, f"/staff/settings/demographics?done={key}", fragment)

    async def _save(
        self, request: Request, practice: PracticeInfo, edit_id: int | str,
        store: Callable[[dict], Awaitable[None]], key: str,
    ) -> Response:  # fmt: skip
        """A posted definition checked, then `store`d (added or changed): the notice `key`,
        or the form again (`edit_id`: the field's id, "new" when adding) with the errors."""
        typed = _definition(await request.form())
        clean, errors = demographics.check_definition(**typed)
        try:
            if errors:
                raise Invalid(errors=errors)
            await store(clean)
        except Invalid as exc:
            edit = {"id": edit_id, **typed, "errors": exc.errors, "message": exc.message}
            return await self._page(request, practice, edit=edit, status_code=status_of(exc))
        return await self._done(request, practice, key)

    @get("/")
    async def show(
        self, request: Request, practice: NamedDependency[PracticeInfo], done: FromQuery[str] = ""
    ) -> Template:
        return await self._page(request, practice, notice=NOTICES.get(done, ""))

    @post("/", status_code=200)
    async def add(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        async def store(clean: dict) -> None:
            await demographics.define(practice.id, clean, actor)

        return await self._save(request, practice, "new", store, "added")

    @post("/{field_id:int}", status_code=200)
    async def change(
        self,
        request: Request,
        field_id: FromPath[int],
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        await _own_field(practice, field_id)

        async def store(clean: dict) -> None:
            await demographics.change(practice.id, field_id, clean, actor)

        return await self._save(request, practice, field_id, store, "changed")

    @post("/{field_id:int}/delete", status_code=200)
    async def remove(
        self,
        request: Request,
        field_id: FromPath[int],
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        await demographics.remove(practice.id, field_id, actor)
        return await self._done(request, practice, "removed")

    @post("/{field_id:int}/move", status_code=200)
    async def move(
        self,
        request: Request,
        field_id: FromPath[int],
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        await _own_field(practice, field_id)
        direction = form_text(await request.form(), "direction", 10)
        if direction not in ("up", "down"):
            edit = {"id": "", "errors": {}, "move_error": "Choose to move the field up or down."}
            return await self._page(request, practice, edit=edit, status_code=422)
        await demographics.move(practice.id, field_id, -1 if direction == "up" else 1, actor)
        return await self._done(request, practice, "moved")
