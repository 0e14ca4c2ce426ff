"""Staff › a client's record at /staff/clients/{client_id}: its sections as fragments, the
demographics form, assigning a form, submitted forms (page and PDF) and card images.

Each section is a page of its own (`/staff/clients/{id}/{section}`: the whole record page
with that section open) and, for htmx following the section menu, the section area's
fragment (`partials/staff/record/section.html`, the menu out of band), as My Profile's
sections are. Every read goes through `access.open_record` (authorised, audited as
`staff.read` with its part). A route that reads one item (a submitted form, its PDF, a
card image) authorises without auditing, finds the item, then audits the read naming it
(`access.audited_read`, "form:ID", "form:ID:pdf", "policy:ID:front"), so an item that is
not this client's is a 404 that logs no read. A section the role may not open is not in
the menu and its URL is a 404. A form post answers its section's fragment for htmx (422
or 409 with the input kept and the message), or without JavaScript a 303 to the section's
page on success.
The account actions' routes are in `handlers/staff_record_actions.py` (`AccountActions`,
inherited here, so the record is one controller).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core import uploads
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import parse_id
from portal.core.errors import Conflict, DomainError, Invalid
from portal.forms import answers, assigning, assignments
from portal.handlers.base import done, form_text, render, staff_only
from portal.handlers.errors import status_of
from portal.handlers.forms import response_pdf
from portal.handlers.staff_record_actions import AccountActions
from portal.practice.info import PracticeInfo
from portal.settings import Settings
from portal.staff import access, demographics, record
from portal.staff.access import Staff

PAGE = "pages/staff/clients/record.html"
NAV_FRAGMENT = "partials/staff/record/section.html"


async def open_section(
    staff: Staff, client_id: int, key: str, actor: Actor, settings: Settings
) -> dict[str, Any]:
    """Open one section of the record (authorised and audited) and read what it shows."""
    part = record.section(key, staff).part
    client = await access.open_record(staff, client_id, part, actor)
    return await record.context(staff, client, key, now=utcnow(), security=settings.security)


async def show(
    request: Request,
    context: dict[str, Any],
    *,
    fragment: str = NAV_FRAGMENT,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    """The record page with the section of `context` open, or for htmx `fragment`."""
    return await render(
        request, PAGE, {**context, **extra}, fragment=fragment, status_code=status_code
    )


async def answer(
    request: Request,
    staff: Staff,
    client_id: int,
    key: str,
    done_key: str,
    actor: Actor,
    settings: Settings,
    **extra: Any,
) -> Response:
    """A form post that worked: the section's own fragment with its notice for htmx, else a
    303 to the section's page (which shows the notice from `done_key`)."""

    async def fragment() -> Template:
        context = await open_section(staff, client_id, key, actor, settings)
        notice = record.notice_for(key, done_key)
        return await show(
            request, context, fragment=context["section"].template, notice=notice, **extra
        )

    return await done(request, f"{record.SECTIONS[key].url(client_id)}?done={done_key}", fragment)


async def refused(
    request: Request, context: dict[str, Any], exc: DomainError, **state: Any
) -> Template:
    """Bad input or a state that forbids it: the section again with the message and what was
    typed (its fragment for htmx, the page otherwise), 422 or 409."""
    return await show(
        request,
        context,
        fragment=context["section"].template,
        status_code=status_of(exc),
        error=exc.message if not exc.errors else "",
        errors=exc.errors,
        **state,
    )


class ClientRecordController(AccountActions):
    path = "/staff/clients/{client_id:int}"
    guards = [staff_only]

    async def answer_action(
        self, request: Request, staff: Staff, client_id: int, done_key: str, actor: Actor,
        settings: Settings,
    ) -> Response:  # fmt: skip
        """An account action worked: the security section, with the heading out of band."""
        return await answer(
            request, staff, client_id, "security", done_key, actor, settings, head_oob=True
        )

    async def refuse_action(
        self, request: Request, staff: Staff, client_id: int, actor: Actor, settings: Settings,
        exc: Invalid | Conflict, **state: object,
    ) -> Response:  # fmt: skip
        context = await open_section(staff, client_id, "security", actor, settings)
        return await refused(request, context, exc, **state)

    async def _section(
        self, request: Request, client_id: int, key: str, staff: Staff, actor: Actor,
        settings: Settings, done: str,
    ) -> Template:  # fmt: skip
        context = await open_section(staff, client_id, key, actor, settings)
        return await show(request, context, notice=record.notice_for(key, done))

    # --- The sections -----------------------------------------------------------------------

    @get("/")
    async def record_page(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, record.FIRST, staff, actor, settings, "")

    @get("/profile")
    async def profile_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "profile", staff, actor, settings, done)

    @get("/demographics")
    async def demographics_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "demographics", staff, actor, settings, done)

    @get("/appointments")
    async def appointments_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "appointments", staff, actor, settings, done)

    @get("/insurance")
    async def insurance_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "insurance", staff, actor, settings, done)

    @get("/forms")
    async def forms_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "forms", staff, actor, settings, done)

    @get("/messages")
    async def messages_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "messages", staff, actor, settings, done)

    @get("/billing")
    async def billing_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "billing", staff, actor, settings, done)

    @get("/security")
    async def security_section(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._section(request, client_id, "security", staff, actor, settings, done)

    # --- Demographics -----------------------------------------------------------------------

    @post("/demographics", status_code=200)
    async def save_demographics(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        context = await open_section(staff, client_id, "demographics", actor, settings)
        form = await request.form()
        names = [*demographics.TOP_CHOICES, *(f.name for f in context["fields"])]
        typed = {name: form_text(form, name, demographics.MAX_VALUE + 1) for name in names}
        top, values, errors = demographics.check_values(context["fields"], typed)
        if errors:
            exc = Invalid("Please check the fields marked below.", errors=errors)
            return await refused(request, context, exc, typed=typed)
        await demographics.update(client_id, top, values, actor)
        return await answer(
            request, staff, client_id, "demographics", "demographics", actor, settings
        )

    # --- Forms ------------------------------------------------------------------------------

    @post("/forms", status_code=200)
    async def assign_form(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        context = await open_section(staff, client_id, "forms", actor, settings)
        chosen = form_text(await request.form(), "template", 12)
        template_id = parse_id(chosen)
        try:
            if template_id is None:
                raise Invalid(errors={"template": "Choose the form to assign."})
            await assigning.assign(context["client"]["practice"], client_id, template_id, actor)
        except (Invalid, Conflict) as exc:
            return await refused(request, context, exc, chosen=chosen)
        return await answer(request, staff, client_id, "forms", "assigned", actor, settings)

    @get("/forms/{assignment_id:int}")
    async def form_response(
        self, request: Request, client_id: FromPath[int], assignment_id: FromPath[int],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
    ) -> Template:  # fmt: skip
        client = await access.open_record(
            staff, client_id, access.Part.forms, actor, audit_read=False
        )
        a = await assignments.response(client_id, assignment_id)  # NotFound: nothing was read
        await access.audited_read(
            staff, client_id, access.Part.forms, actor, item=f"form:{assignment_id}"
        )
        context = {
            "client": client,
            "head": record.header(client),
            "form": a,
            "answers": answers.shown(a),
        }
        return await render(request, "pages/staff/clients/record_form.html", context)

    @get("/forms/{assignment_id:int}/pdf")
    async def form_pdf(
        self, request: Request, client_id: FromPath[int], assignment_id: FromPath[int],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
        practice: NamedDependency[PracticeInfo],
    ) -> Response:  # fmt: skip
        client = await access.open_record(
            staff, client_id, access.Part.forms, actor, audit_read=False
        )
        a = await assignments.response(client_id, assignment_id)
        await access.audited_read(
            staff, client_id, access.Part.forms, actor, item=f"form:{assignment_id}:pdf"
        )
        filename = f"{a.slug}-client-{client_id}-{a.id}.pdf"
        return await response_pdf(request, a, client, practice, filename, inline=True)

    # --- Insurance card images --------------------------------------------------------------

    @get("/insurance/{policy_id:int}/{side:str}")
    async def card_image(
        self, client_id: FromPath[int], policy_id: FromPath[int], side: FromPath[str],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        part = access.Part.insurance
        await access.open_record(staff, client_id, part, actor, audit_read=False)
        row = await record.card_image(client_id, policy_id, side)  # NotFound: nothing was read
        await access.audited_read(staff, client_id, part, actor, item=f"policy:{policy_id}:{side}")
        return Response(
            row["data"], media_type=row["content_type"], headers=uploads.download_headers(row)
        )
