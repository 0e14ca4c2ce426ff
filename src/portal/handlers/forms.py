"""My Docs & Forms: the client's forms to complete and completed, fill in, draft, submit, PDF.

One fragment, `partials/forms/view.html` (id `form-view`), is the fill-in form or the
read-only response: htmx swaps it after a draft or a submit; without JavaScript the
same forms post and redirect (303) to the form's page. A refused draft or submit
re-renders it in place: 422 with the answers as typed and a message per field, or
409 with the response on file when the form was submitted already.
"""

from __future__ import annotations

import json

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Conflict, Invalid
from portal.core.menu import counts_for
from portal.forms import answers, assignments
from portal.forms.assignments import Assignment
from portal.handlers.base import done, pdf_response, provide_client, render, signed_in
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo

# Targeted at <body>: the element that asked may have been swapped out already.
CHANGED = json.dumps({"forms-changed": {"target": "body"}})
# Redirects carry the key, never the text, so a crafted link cannot put words in the page.
NOTICES = {
    "draft": "Your draft was saved. Come back any time to finish.",
    "submitted": "Thank you. Your form was submitted to the practice.",
}


async def response_pdf(
    request: Request, a: Assignment, client: dict, practice: PracticeInfo, filename: str, *,
    inline: bool,
) -> Response:  # fmt: skip
    """A submitted response as a PDF (`pages/forms/response_pdf.html`): the client's download
    here, the staff record's (portal.handlers.staff_record)."""
    context = {
        "form": a,
        "answers": answers.shown(a),
        "client": client,
        "practice": practice,
        "printed_at": utcnow(),
    }
    return await pdf_response(
        request, "pages/forms/response_pdf.html", context, filename, inline=inline
    )


def _context(a: Assignment, **extra) -> dict:
    context = {"form": a, **extra}
    if a.is_open:
        context.setdefault("values", answers.form_values(a))
        context.setdefault("errors", {})
    else:
        context["answers"] = answers.shown(a)
    return context


async def _view(request: Request, context: dict, **kwargs) -> Template:
    return await render(
        request, "pages/forms/view.html", context, fragment="partials/forms/view.html", **kwargs
    )


async def _refused(
    request: Request, client: dict, a: Assignment, values: dict, exc: Invalid | Conflict
) -> Template:
    """The form again, in place: the answers as typed with what is wrong (Invalid), or the
    response on file once it was submitted (Conflict: maybe a moment ago, by a second tab)."""
    if isinstance(exc, Invalid):
        context = _context(a, values=values, errors=exc.errors)
    elif isinstance(exc, assignments.TextChanged):  # the form as it is now, the answers kept
        context = _context(a, values=values, error=exc.message)
    else:
        context = _context(await assignments.one(client["id"], a.id), error=exc.message)
    return await _view(request, context, status_code=status_of(exc))


class FormsController(Controller):
    path = "/forms"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    @get("/")
    async def index(self, request: Request, client: NamedDependency[dict]) -> Template:
        to_do, completed = await assignments.for_client(client["id"])
        return await render(request, "pages/forms/index.html", {"to_do": to_do, "done": completed})

    @get("/{assignment_id:int}")
    async def view(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict],
        done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        a = await assignments.one(client["id"], assignment_id)
        return await _view(request, _context(a, notice=NOTICES.get(done, "")))

    @post("/{assignment_id:int}/draft", status_code=200)
    async def save_draft(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        a = await assignments.one(client["id"], assignment_id)
        values = answers.read_answers(a.fields, await request.form())
        try:
            a = await assignments.save_draft(client["id"], a, values, actor=actor)
        except (Invalid, Conflict) as exc:
            return await _refused(request, client, a, values, exc)
        return await done(
            request,
            f"/forms/{a.id}?done=draft",
            lambda: _view(request, _context(a, notice=NOTICES["draft"])),
        )

    @post("/{assignment_id:int}/submit", status_code=200)
    async def submit(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        a = await assignments.one(client["id"], assignment_id)
        form = await request.form()
        values = answers.read_answers(a.fields, form)
        shown = str(form.get("_shown", ""))[:64]  # the text_digest of the form the client read
        try:
            a = await assignments.submit(client["id"], a, values, actor=actor, shown=shown)
        except (Invalid, Conflict) as exc:
            return await _refused(request, client, a, values, exc)

        async def fragment() -> Response:
            # The menu's count changed: its entry comes along, swapped out of band.
            counts = await counts_for(request.user.id)
            context = _context(
                a, notice=NOTICES["submitted"], menu_oob=True, forms_count=counts.get("forms", 0)
            )
            return await _view(request, context, headers={"HX-Trigger": CHANGED})

        return await done(request, f"/forms/{a.id}?done=submitted", fragment)

    @get("/{assignment_id:int}/pdf")
    async def download_pdf(
        self, request: Request, assignment_id: FromPath[int], client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Response:  # fmt: skip
        a = await assignments.response(client["id"], assignment_id)
        # Reached from "Download PDF" links (the response's view is its page): saved, not opened.
        return await response_pdf(
            request, a, client, practice, f"{a.slug}-{a.id}.pdf", inline=False
        )
