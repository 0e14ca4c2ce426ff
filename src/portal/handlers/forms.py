"""My Docs & Forms: the client's forms to complete and completed, fill in, draft, submit, PDF.

One fragment, `partials/forms/view.html` (id `form-view`), is the fill-in form or the
read-only response: htmx swaps it after a draft or a submit; without JavaScript the
same forms post and redirect (303) to the form's page.
"""

from __future__ import annotations

import json

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.clients import provide_client
from portal.core import pdf
from portal.core.clock import utcnow
from portal.core.menu import counts_for
from portal.forms import assignments as forms
from portal.forms.assignments import Assignment, FormNotFound
from portal.handlers.base import client_ip, is_fragment_request, render, signed_in
from portal.practice.info import PracticeInfo

# Targeted at <body>: the element that asked may have been swapped out already.
CHANGED = json.dumps({"forms-changed": {"target": "body"}})
# Redirects carry the key, never the text, so a crafted link cannot put words in the page.
NOTICES = {
    "draft": "Your draft was saved. Come back any time to finish.",
    "submitted": "Thank you. Your form was submitted to the practice.",
}
ALREADY = "This form was already submitted, so nothing was changed. Here is the response on file."


async def _own(client: dict, assignment_id: int) -> Assignment:
    try:
        return await forms.one(client["id"], assignment_id)
    except FormNotFound as exc:
        raise NotFoundException("There is no such form.") from exc


def _context(a: Assignment, **extra) -> dict:
    context = {"form": a, **extra}
    if a.is_open:
        context.setdefault("values", forms.form_values(a))
        context.setdefault("errors", {})
    else:
        context["answers"] = forms.shown(a)
    return context


class FormsController(Controller):
    path = "/forms"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    @get("/")
    async def index(self, request: Request, client: NamedDependency[dict]) -> Template:
        to_do, done = await forms.for_client(client["id"])
        return await render(request, "pages/forms/index.html", {"to_do": to_do, "done": done})

    @get("/{assignment_id:int}")
    async def view(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict],
        done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        a = await _own(client, assignment_id)
        return await render(
            request,
            "pages/forms/view.html",
            _context(a, notice=NOTICES.get(done, "")),
            fragment="partials/forms/view.html",
        )

    async def _checked(
        self, request: Request, a: Assignment, *, final: bool
    ) -> tuple[dict | None, Template | None]:
        """The posted answers when they can be kept; otherwise the page or fragment saying why."""
        if not a.is_open:
            return None, await self._already(request, a)
        values = forms.read_answers(a.fields, await request.form())
        errors = forms.check(a.fields, values, final=final)
        if not errors:
            return values, None
        return None, await render(
            request,
            "pages/forms/view.html",
            _context(a, values=values, errors=errors),
            fragment="partials/forms/view.html",
            status_code=422,
        )

    async def _already(
        self, request: Request, a: Assignment, client_id: int | None = None
    ) -> Template:
        """Submitted already (maybe a moment ago, by a second tab): the response on file, 409."""
        if client_id is not None:
            a = await forms.one(client_id, a.id)
        return await render(
            request,
            "pages/forms/view.html",
            _context(a, error=ALREADY),
            fragment="partials/forms/view.html",
            status_code=409,
        )

    @post("/{assignment_id:int}/draft", status_code=200)
    async def save_draft(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        a = await _own(client, assignment_id)
        values, problem = await self._checked(request, a, final=False)
        if problem:
            return problem
        saved = await forms.save_draft(
            client["id"], a, values, actor_id=request.user.id, ip=client_ip(request)
        )
        if not saved:
            return await self._already(request, a, client["id"])
        if not is_fragment_request(request):
            return Redirect(f"/forms/{a.id}?done=draft", status_code=303)
        a = await forms.one(client["id"], a.id)
        return await render(
            request,
            "pages/forms/view.html",
            _context(a, notice=NOTICES["draft"]),
            fragment="partials/forms/view.html",
        )

    @post("/{assignment_id:int}/submit", status_code=200)
    async def submit(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        a = await _own(client, assignment_id)
        values, problem = await self._checked(request, a, final=True)
        if problem:
            return problem
        submitted = await forms.submit(
            client["id"], a, values, actor_id=request.user.id, ip=client_ip(request)
        )
        if not submitted:
            return await self._already(request, a, client["id"])
        if not is_fragment_request(request):
            return Redirect(f"/forms/{a.id}?done=submitted", status_code=303)
        a = await forms.one(client["id"], a.id)
        # The menu's count changed: its entry comes along, swapped out of band.
        counts = await counts_for(request.user.id)
        return await render(
            request,
            "pages/forms/view.html",
            _context(
                a, notice=NOTICES["submitted"], menu_oob=True, forms_count=counts.get("forms", 0)
            ),
            fragment="partials/forms/view.html",
            headers={"HX-Trigger": CHANGED},
        )

    @get("/{assignment_id:int}/pdf")
    async def download_pdf(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Response:  # fmt: skip
        a = await _own(client, assignment_id)
        if a.is_open:
            raise NotFoundException("This form has not been submitted yet.")
        html = request.app.template_engine.get_template("pages/forms/response_pdf.html").render(
            form=a, answers=forms.shown(a), client=client, practice=practice, printed_at=utcnow()
        )
        return Response(
            await pdf.render(html),
            media_type="application/pdf",
            headers={
                "content-disposition": f'inline; filename="{a.slug}-{a.id}.pdf"',
                "cache-control": "no-store",
            },
        )
