"""My Account (/account), read-only: the ledger, receipts, statements, superbills, FSA statements.

Each document is an HTML page that prints well and the same template rendered
to PDF (`.../pdf`). Which documents clients see follows the practice's setting.
"""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.accounts.clients import provide_client
from portal.billing import ledger, statements
from portal.core import pdf
from portal.core.clock import utcnow
from portal.handlers.base import render, signed_in
from portal.practice.info import PracticeInfo
from portal.tables import Practice


def _pdf(request: Request) -> bool:
    """The same document as a PDF: its URL ends in /pdf."""
    return request.url.path.endswith("/pdf")


def _dates(start: str, end: str, today: date, default_days: int) -> tuple[date, date, str]:
    """A date range from the query string, defaulting to the last `default_days`; an error text."""
    try:
        s = date.fromisoformat(start) if start else today - timedelta(days=default_days)
        e = date.fromisoformat(end) if end else today
    except ValueError:
        return today - timedelta(days=default_days), today, "Enter dates like 2026-01-31."
    if e < s:
        return s, e, "The end date is before the start date."
    if (e - s).days > 3 * 366:
        return s, e, "Choose a range of at most three years."
    return s, e, ""


class AccountController(Controller):
    path = "/account"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    async def _practice_row(self, practice: PracticeInfo) -> dict:
        return await Practice.select().where(Practice.id == practice.id).first()

    async def _document(
        self, request: Request, kind: str, page: str, context: dict, *, as_pdf: bool, filename: str,
        status_code: int = 200,
    ) -> Template | Response:  # fmt: skip
        if as_pdf and status_code == 200:
            html = request.app.template_engine.get_template(
                "pages/billing/document_pdf.html"
            ).render(**context, body=page)
            body = await pdf.render(html)
            return Response(
                body, media_type="application/pdf",
                headers={"content-disposition": f'inline; filename="{filename}"', "cache-control": "no-store"},
            )  # fmt: skip
        return await render(
            request,
            "pages/billing/document.html",
            {**context, "body": page},
            status_code=status_code,
        )

    async def _allowed(self, practice: PracticeInfo, kind: str) -> None:
        if kind not in await statements.visible_documents(practice.id):
            raise NotFoundException("Your practice does not offer this document online.")

    @get("/")
    async def account(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:
        all_lines = await statements.lines(client["id"])
        today = utcnow().astimezone(practice.time_zone).date()
        return await render(
            request,
            "pages/billing/account.html",
            {
                "practice": practice,
                "lines": list(reversed(all_lines)),
                "balance": await ledger.balance(client["id"]),
                "documents": await statements.visible_documents(practice.id),
                "service_dates": await statements.service_dates(client["id"]),
                "today": today,
                "year_ago": today - timedelta(days=365),
            },
        )

    async def _receipt(self, request, client, practice, entry_id, as_pdf):  # noqa: ANN001, ANN202
        await self._allowed(practice, "receipts")
        line = next(
            (x for x in await statements.lines(client["id"]) if x.id == entry_id and x.is_payment),
            None,
        )
        if line is None:
            raise NotFoundException()
        context = {
            "practice": practice,
            "p": await self._practice_row(practice),
            "client": client,
            "line": line,
        }
        return await self._document(
            request,
            "receipts",
            "partials/billing/receipt.html",
            context,
            as_pdf=as_pdf,
            filename=f"receipt-{entry_id}.pdf",
        )

    @get(["/receipts/{entry_id:int}", "/receipts/{entry_id:int}/pdf"])
    async def receipt(
        self,
        request: Request,
        entry_id: FromPath[int],
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template | Response:
        return await self._receipt(request, client, practice, entry_id, _pdf(request))

    async def _statement(self, request, client, practice, start, end, as_pdf):  # noqa: ANN001, ANN202
        await self._allowed(practice, "statements")
        today = utcnow().astimezone(practice.time_zone).date()
        s, e, error = _dates(start, end, today, 365)
        st = statements.statement(await statements.lines(client["id"]), s, e)
        context = {
            "practice": practice,
            "p": await self._practice_row(practice),
            "client": client,
            "st": st,
            "error": error,
            "today": today,
        }
        return await self._document(
            request, "statements", "partials/billing/statement.html", context, as_pdf=as_pdf,
            filename=f"statement-{s}-{e}.pdf", status_code=422 if error else 200,
        )  # fmt: skip

    @get(["/statement", "/statement/pdf"])
    async def statement(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Template | Response:
        return await self._statement(request, client, practice, start, end, _pdf(request))

    async def _superbill(self, request, client, practice, on, as_pdf):  # noqa: ANN001, ANN202
        await self._allowed(practice, "superbills")
        try:
            day = date.fromisoformat(on)
        except ValueError:
            raise NotFoundException("Choose a date of service.") from None
        lines = statements.service_lines(await statements.lines(client["id"]), day, day)
        if not lines:
            raise NotFoundException("There was no service on that date.")
        context = {
            "practice": practice, "p": await self._practice_row(practice), "client": client, "day": day,
            "lines": lines, "npis": await statements.provider_npis(client["id"]),
            "total": sum(x.cents for x in lines),
        }  # fmt: skip
        return await self._document(
            request,
            "superbills",
            "partials/billing/superbill.html",
            context,
            as_pdf=as_pdf,
            filename=f"superbill-{day}.pdf",
        )

    @get(["/superbill", "/superbill/pdf"])
    async def superbill(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        on: FromQuery[str] = "",
    ) -> Template | Response:
        return await self._superbill(request, client, practice, on, _pdf(request))

    async def _fsa(self, request, client, practice, start, end, as_pdf):  # noqa: ANN001, ANN202
        await self._allowed(practice, "fsa")
        today = utcnow().astimezone(practice.time_zone).date()
        s, e, error = _dates(start, end, today, 365)
        lines = statements.service_lines(await statements.lines(client["id"]), s, e)
        context = {
            "practice": practice, "p": await self._practice_row(practice), "client": client, "start": s, "end": e,
            "lines": lines, "total": sum(x.cents for x in lines), "error": error, "today": today,
        }  # fmt: skip
        return await self._document(
            request, "fsa", "partials/billing/fsa.html", context, as_pdf=as_pdf,
            filename=f"fsa-statement-{s}-{e}.pdf", status_code=422 if error else 200,
        )  # fmt: skip

    @get(["/fsa", "/fsa/pdf"])
    async def fsa(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Template | Response:
        return await self._fsa(request, client, practice, start, end, _pdf(request))
