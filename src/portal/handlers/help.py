"""Help: a guide to the portal, as a page and as the "Client Portal Guide" PDF.

Both render one partial (`partials/help/guide.html`), so they never disagree.
Each section has an id; the contents link to them, in the page and in the PDF
(xhtml2pdf turns `<a href="#id">` into a link to that place in the document).
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template

from portal.core.clock import utcnow
from portal.handlers.base import pdf_response, render, signed_in
from portal.practice.info import PracticeInfo
from portal.settings import Settings

PDF_NAME = "client-portal-guide.pdf"

# The guide's sections, in order: (id, title). The contents and the headings both read this.
SECTIONS = [
    ("help-signing-in", "Signing in and out"),
    ("help-dashboard", "Your dashboard"),
    ("help-tasks", "Tasks"),
    ("help-two-factor", "Two-factor sign-in"),
    ("help-appointments", "Your appointments"),
    ("help-scheduling", "Scheduling an appointment"),
    ("help-balance", "Your balance"),
    ("help-payment", "Making a payment"),
    ("help-profile", "My Profile"),
    ("help-messages", "My Messages"),
    ("help-account", "My Account"),
    ("help-forms", "My Docs & Forms"),
    ("help-insurance", "My Insurance"),
    ("help-guide", "This guide"),
]


def _context(practice: PracticeInfo | None, base: str) -> dict:
    return {
        "practice": practice,
        "sections": SECTIONS,
        "titles": dict(SECTIONS),
        "base": base,
        "pdf_name": PDF_NAME,
    }


class HelpController(Controller):
    path = "/help"
    guards = [signed_in]

    @get("/")
    async def page(
        self, request: Request, practice: NamedDependency[PracticeInfo | None]
    ) -> Template:
        return await render(request, "pages/help/index.html", _context(practice, ""))

    @get(f"/{PDF_NAME}")
    async def guide_pdf(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo | None],
        settings: NamedDependency[Settings],
    ) -> Response:
        # Links to portal pages must work from a saved file: absolute, to this portal.
        context = {**_context(practice, settings.portal_url), "printed_at": utcnow()}
        return await pdf_response(
            request, "pages/help/guide_pdf.html", context, PDF_NAME, inline=False
        )
