"""Staff › Settings › Forms (issue 15 item 7, owner and manager): the practice's form
templates (portal.forms.templates), active and retired, with how many copies are open
and submitted.

Built so far: the list page, the preview (the form as the client sees it, disabled) and
the editor (new, create, edit, save; rows moved, removed
and added by submit buttons of the same form, so it works without JavaScript; with htmx
the form swaps itself), and the template's actions: retire, restore, give to every new
client, assign to every client with an upcoming first appointment (plain posts, 303 back to
the template with a notice). Assigning to one client: a name search (`?q=`, the clients
the staff member may reach) and an Assign button.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.core.actor import Actor
from portal.core.errors import Conflict, NotFound
from portal.forms import assigning, editor, templates
from portal.forms.definition import FieldDef
from portal.handlers.base import done, render
from portal.handlers.errors import status_of
from portal.handlers.staff import owner_or_manager
from portal.practice.info import PracticeInfo
from portal.staff.access import Staff, client_clause
from portal.staff.clients import search_clause
from portal.tables import Client

ACTIONS = ("retire", "restore", "new-clients", "assign-upcoming")


class FormsController(Controller):
    path = "/staff/settings/forms"
    guards = [owner_or_manager]

    @get("/")
    async def show(self, request: Request, practice: NamedDependency[PracticeInfo]) -> Template:
        return await render(
            request,
            "pages/staff/forms/list.html",
            {"items": await templates.listing(practice.id)},
            fragment="partials/staff/forms/list.html",
        )

    @get("/new")
    async def new(self, request: Request) -> Template:
        typed = {"title": "", "version": "1", "intro": "", "consent": "",
                 "rows": [editor.blank_row()]}  # fmt: skip
        return await _editor(request, None, typed)

    @post("/", status_code=200)
    async def create(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        form = await request.form()
        typed = editor.typed_from_form(form)
        if editor.apply_op(typed, str(form.get("op", ""))):
            return await _editor(request, None, typed)
        t, errors = editor.check(typed, await templates.new_slug(typed["title"] or "form"))
        if errors or t is None:
            return await _editor(request, None, typed, errors, status_code=422)
        template_id = await templates.create(practice.id, t, actor)
        return await _saved(request, practice, template_id, "created")

    @get("/{template_id:int}")
    async def edit(
        self, request: Request, template_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], done: FromQuery[str] = "",
        n: FromQuery[int] = 0, q: FromQuery[str] = "", staff: NamedDependency[Staff] = None,
    ) -> Template:  # fmt: skip
        item = await templates.one(practice.id, template_id)
        found = await _found(staff, practice.id, q.strip()[:100])
        typed = editor.typed_from_template(item.title, item.version, item.definition)
        notice = NOTICES.get(done, "")
        if done == "assigned":
            notice = f"Assigned to {n} client{'' if n == 1 else 's'}."
        return await _editor(request, item, typed, notice=notice, q=q, found=found)

    @post("/{template_id:int}", status_code=200)
    async def save(
        self, request: Request, template_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        item = await templates.one(practice.id, template_id)  # another practice's: 404
        form = await request.form()
        typed = editor.typed_from_form(form)
        if editor.apply_op(typed, str(form.get("op", ""))):
            return await _editor(request, item, typed)
        t, errors = editor.check(typed, item.slug)
        if errors or t is None:
            return await _editor(request, item, typed, errors, status_code=422)
        changed = await templates.change(practice.id, template_id, t, actor)
        return await _saved(request, practice, template_id, "saved" if changed else "unchanged")

    @get("/{template_id:int}/preview")
    async def preview(
        self, request: Request, template_id: FromPath[int],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:  # fmt: skip
        item = await templates.one(practice.id, template_id)
        form = SimpleNamespace(
            title=item.title, intro=item.definition.get("intro", ""),
            consent=item.definition.get("consent", ""),
            fields=[FieldDef.from_json(f) for f in item.fields],
        )  # fmt: skip
        return await render(request, "pages/staff/forms/preview.html", {"item": item, "form": form})

    @post([f"/{{template_id:int}}/{a}" for a in ACTIONS], status_code=200)
    async def act(
        self, request: Request, template_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        action = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        item = await templates.one(practice.id, template_id)  # another practice's: 404
        url = f"/staff/settings/forms/{template_id}"
        if action in ("retire", "restore"):
            await templates.set_active(practice.id, template_id, action == "restore", actor)
            return Redirect(f"{url}?done={action}d", status_code=303)
        if action == "new-clients":
            on = str((await request.form()).get("on", "")) == "yes"
            await templates.set_new_clients(practice.id, template_id, on, actor)
            return Redirect(f"{url}?done={'new_on' if on else 'new_off'}", status_code=303)
        if action == "assign-upcoming":
            try:
                n = await templates.assign_upcoming(practice.id, template_id, actor)
            except Conflict as exc:
                typed = editor.typed_from_template(item.title, item.version, item.definition)
                return await _editor(request, item, typed, notice=exc.message,
                                     status_code=status_of(exc))  # fmt: skip
            return Redirect(f"{url}?done=assigned&n={n}", status_code=303)
        raise NotFound("There is no such action.")

    @post("/{template_id:int}/assign", status_code=200)
    async def assign(
        self, request: Request, template_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
        staff: NamedDependency[Staff],
    ) -> Response:  # fmt: skip
        item = await templates.one(practice.id, template_id)
        raw = str((await request.form()).get("client", ""))
        client_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0
        reach = await Client.exists().where(
            (Client.id == client_id) & (Client.practice == practice.id)
            & client_clause(staff, "client.id")
        )  # fmt: skip
        if not reach:
            raise NotFound("There is no such client.")
        try:
            await assigning.assign(practice.id, client_id, template_id, actor)
        except Conflict as exc:
            typed = editor.typed_from_template(item.title, item.version, item.definition)
            return await _editor(request, item, typed, notice=exc.message,
                                 status_code=status_of(exc))  # fmt: skip
        url = f"/staff/settings/forms/{template_id}?done=assigned_one"
        return Redirect(url, status_code=303)


async def _found(staff: Staff, practice_id: int, q: str) -> list[dict] | None:
    clause = search_clause(q) if q else None
    if clause is None:
        return None
    return await (
        Client.select(Client.id, Client.first_name, Client.last_name)
        .where(Client.practice == practice_id, client_clause(staff, "client.id"), clause)
        .order_by(Client.last_name).order_by(Client.first_name).limit(20)
    )  # fmt: skip


NOTICES = {
    "assigned_one": "Form assigned: the client sees it in their forms now.",
    "retired": "Form retired: it is no longer given to anyone. Copies already given can "
    "still be filled in and responses read.",
    "restored": "Form restored: you can give it to clients again.",
    "new_on": "Every new client will now be given this form.",
    "new_off": "New clients will no longer be given this form.",
    "created": "Form created. It is active: you can give it to clients now.",
    "saved": "Form saved. Responses already submitted keep the words they were given.",
    "unchanged": "Nothing changed: the form is as it was.",
}


async def _editor(
    request: Request, item: templates.TemplateItem | None, typed: dict[str, Any],
    errors: dict[str, str] | None = None, *, notice: str = "", status_code: int = 200,
    q: str = "", found: list | None = None,
) -> Template:  # fmt: skip
    return await render(
        request,
        "pages/staff/forms/edit.html",
        {
            "item": item,
            "typed": typed,
            "errors": errors or {},
            "notice": notice,
            "kinds": editor.KIND_NAMES,
            "assign_q": q,
            "assign_found": found,
        },  # fmt: skip
        fragment="partials/staff/forms/editor.html",
        status_code=status_code,
    )


async def _saved(request: Request, practice: PracticeInfo, template_id: int, key: str) -> Response:
    async def fragment() -> Template:
        item = await templates.one(practice.id, template_id)
        typed = editor.typed_from_template(item.title, item.version, item.definition)
        return await _editor(request, item, typed, notice=NOTICES[key])

    return await done(request, f"/staff/settings/forms/{template_id}?done={key}", fragment)


# The controllers and route handlers this module adds to the app (portal.app).
CONTROLLERS: list = [FormsController]
