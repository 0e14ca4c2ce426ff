"""Terms of service: read them (HTML or PDF), and accept a new version at sign-in."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from portal.core.actor import Actor
from portal.handlers.base import pdf_response, render, signed_in
from portal.practice import terms
from portal.practice.info import PracticeInfo

# Reachable while acceptance (or two-factor setup) is still pending.
PENDING_OK = {"before_terms": True, "before_two_factor_setup": True}


class TermsController(Controller):
    path = "/terms"
    guards = [signed_in]

    async def _context(self, request: Request) -> dict:
        latest = await terms.current()
        if latest is None:
            raise NotFoundException("The practice has not published terms of service.")
        return {
            "terms": latest,
            "paragraphs": terms.paragraphs(latest["body"]),
            "accepted": await terms.acceptance(request.user.id),
        }

    @get("/", opt=PENDING_OK)
    async def show(self, request: Request) -> Template:
        return await render(request, "pages/terms/show.html", await self._context(request))

    @get("/pdf", opt=PENDING_OK)
    async def as_pdf(self, request: Request, practice: NamedDependency[PracticeInfo]) -> Response:
        context = await self._context(request)
        filename = f"terms-of-service-{context['terms']['version']}.pdf"
        return await pdf_response(
            request, "pages/terms/terms_pdf.html", {**context, "practice": practice}, filename,
            inline=False,
        )  # fmt: skip

    @get("/accept", opt=PENDING_OK)
    async def accept_page(self, request: Request) -> Template:
        return await render(request, "pages/terms/accept.html", await self._context(request))

    @post("/accept", opt=PENDING_OK, status_code=303)
    async def accept(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        form = await request.form()
        version = str(form.get("terms_id", ""))
        agreed = form.get("agree") == "yes"
        if agreed and version.isdigit() and await terms.accept(int(version), actor):
            return Redirect("/" if not request.user.is_staff else "/staff", status_code=303)
        context = await self._context(request)
        context["error"] = (
            "Tick the box to say you agree, then continue."
            if not agreed
            else "These terms were just replaced by a newer version. Please read it and accept again."
        )
        return await render(request, "pages/terms/accept.html", context, status_code=422)
