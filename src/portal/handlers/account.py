"""My Account (/account), read-only: the ledger, receipts, statements, superbills, FSA statements.

Each document is an HTML page that prints well (the "view", shown in the browser) and
the same template rendered to PDF at `.../pdf`, which only the "Download as PDF" links
reach: it is sent as an attachment, saved rather than opened. Which documents clients
see follows the practice's setting (`PracticeInfo.client_documents`, read with the
practice: no query): a document turned off is not offered and its page and PDF are a 404.
"""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.billing import ledger, statements
from portal.core.clock import utcnow
from portal.core.errors import Invalid, NotFound
from portal.handlers.base import pdf_response, provide_client, render, signed_in
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo


def _pdf(request: Request) -> bool:
    """The same document as a PDF: its URL ends in /pdf."""
    return request.url.path.endswith("/pdf")


def _today(practice: PracticeInfo) -> date:
    return utcnow().astimezone(practice.time_zone).date()


async def _document(
    request: Request, page: str, context: dict, *, filename: str, problem: Invalid | None = None
) -> Template | Response:
    """The document as a page, or as a PDF download at its /pdf address (a page while the
    dates are wrong)."""
    if _pdf(request) and problem is None:
        return await pdf_response(
            request,
            "pages/billing/document_pdf.html",
            {**context, "body": page},
            filename,
            inline=False,
        )
    return await render(
        request,
        "pages/billing/document.html",
        {**context, "body": page},
        status_code=status_of(problem) if problem else 200,
    )


class AccountController(Controller):
    path = "/account"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    async def _context(self, kind: str, client: dict, practice: PracticeInfo, **extra) -> dict:
        """What every document shows (after checking the practice offers it)."""
        if not practice.offers(kind):
            raise NotFound("Your practice does not offer this document online.")
        return {"practice": practice, "client": client, **extra}

    @get("/")
    async def account(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:
        all_lines = await statements.lines(client["id"])
        today = _today(practice)
        return await render(
            request,
            "pages/billing/account.html",
            {
                "practice": practice,
                "lines": list(reversed(all_lines)),
                "balance": await ledger.balance(client["id"]),
                "documents": practice.client_documents,
                "service_dates": await statements.service_dates(client["id"]),
                "today": today,
                "year_ago": today - timedelta(days=365),
            },
        )

    @get(["/receipts/{entry_id:int}", "/receipts/{entry_id:int}/pdf"])
    async def receipt(
        self,
        request: Request,
        entry_id: FromPath[int],
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template | Response:
        context = await self._context("receipts", client, practice)
        context["line"] = await statements.receipt(client["id"], entry_id)
        context["p"] = await statements.letterhead(practice.id)
        return await _document(
            request, "partials/billing/receipt.html", context, filename=f"receipt-{entry_id}.pdf"
        )

    @get(["/statement", "/statement/pdf"])
    async def statement(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Template | Response:
        context = await self._context("statements", client, practice, today=_today(practice))
        span = statements.period(start, end, today=context["today"])
        context["st"] = statements.statement(
            await statements.lines(client["id"]), span.start, span.end
        )
        context.update(p=await statements.letterhead(practice.id), error=span.error)
        return await _document(
            request,
            "partials/billing/statement.html",
            context,
            filename=f"statement-{span.start}-{span.end}.pdf",
            problem=span.problem,
        )

    @get(["/superbill", "/superbill/pdf"])
    async def superbill(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        on: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Template | Response:
        """The services of a period (`start`, `end`), or of one date of service (`on`)."""
        context = await self._context("superbills", client, practice, today=_today(practice))
        span = statements.period(on or start, on or end, today=context["today"])
        if span.problem:
            raise span.problem
        bill = await statements.superbill(client["id"], span.start, span.end)
        context.update(p=await statements.letterhead(practice.id), bill=bill)
        dates = f"{bill.start}" if bill.start == bill.end else f"{bill.start}-{bill.end}"
        return await _document(
            request,
            "partials/billing/superbill.html",
            context,
            filename=f"superbill-{dates}.pdf",
        )

    @get(["/fsa", "/fsa/pdf"])
    async def fsa(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Template | Response:
        context = await self._context("fsa", client, practice, today=_today(practice))
        span = statements.period(start, end, today=context["today"])
        lines = statements.service_lines(await statements.lines(client["id"]), span.start, span.end)
        context.update(
            p=await statements.letterhead(practice.id),
            start=span.start,
            end=span.end,
            lines=lines,
            total=statements.total(lines),
            error=span.error,
        )
        return await _document(
            request,
            "partials/billing/fsa.html",
            context,
            filename=f"fsa-statement-{span.start}-{span.end}.pdf",
            problem=span.problem,
        )
