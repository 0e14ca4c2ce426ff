"""Staff › a client's billing at /staff/clients/{client_id}/billing/...: the ledger, posting
charges, adjustments, write-offs and desk payments, refunding card payments through Stripe,
and the ledger, statement, superbill and FSA statement for any dates, as pages and PDFs.

Reading follows the access policy's billing part (`Part.billing`): owner, manager, biller
(every client) and a provider (their own clients, read only); the scheduler gets a 403,
a client out of reach a 404. Writing is the owner's, the manager's and the biller's. Every
post answers the billing area's fragment for htmx (422 or 409 with the message by its
field and the input kept), or a 303 to the ledger without JavaScript. The rules are in
`billing.staff_ledger` and `billing.refunds`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.billing import refunds, staff_ledger, statements
from portal.billing.gateway import Gateway
from portal.billing.ledger import Balance
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Conflict, Invalid, NotFound
from portal.handlers.base import done, form_text, pdf_response, render, staff_only
from portal.handlers.errors import status_of
from portal.handlers.payments import provide_gateway
from portal.practice.info import PracticeInfo
from portal.staff import access
from portal.staff.access import Part, Staff

PAGE = "pages/staff/billing.html"
FRAGMENT = "partials/staff/billing/main.html"
REFUND_PAGE = "pages/staff/billing_refund.html"
WRITERS = staff_ledger.WRITERS
LEDGER_CHANGED = json.dumps({"ledger-changed": {"target": "body"}})
NOTICES = {
    "charge": "Charge posted.",
    "adjustment": "Adjustment posted.",
    "payment": "Payment recorded.",
    "refunded": "Refund made: the money goes back to the client's card.",
    "refund_pending": "Refund requested: the ledger shows it once Stripe confirms it.",
}
DOCUMENTS = {
    "ledger": ("partials/staff/billing/ledger_doc.html", "ledger"),
    "statement": ("partials/billing/statement.html", "statement"),
    "superbill": ("partials/billing/superbill.html", "superbill"),
    "fsa": ("partials/billing/fsa.html", "fsa-statement"),
}


async def billing_reader(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    await staff_only(connection, handler)
    if Part.billing not in access.GRANTS.get(connection.user.role, frozenset()):
        raise PermissionDeniedException("Billing is for the billing staff and managers.")


async def billing_writer(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    await staff_only(connection, handler)
    if connection.user.role not in WRITERS:
        raise PermissionDeniedException("Only billing staff and managers can change the ledger.")


def _today(practice: PracticeInfo) -> date:
    return utcnow().astimezone(practice.time_zone).date()


def _url(client_id: int) -> str:
    return f"/staff/clients/{client_id}/billing/ledger"


async def _open(staff: Staff, client_id: int, actor: Actor) -> dict:
    return await access.open_record(staff, client_id, Part.billing, actor)


async def _context(
    client: dict, staff: Staff, practice: PracticeInfo, *, notice: str = "",
    form: dict | None = None,
) -> dict[str, Any]:  # fmt: skip
    entries = await staff_ledger.entries(client["id"])
    today = _today(practice)
    writer = staff.role in WRITERS
    return {
        "client": client,
        "name": f"{client['first_name']} {client['last_name']}".strip(),
        "entries": list(reversed(entries)),
        "balance": Balance(entries[-1].running if entries else 0),
        "appointments": await staff_ledger.unbilled_appointments(client["id"]) if writer else [],
        "may_write": writer,
        "notice": notice,
        "form": form or {},
        "today": today,
        "year_ago": today - timedelta(days=365),
        "methods": staff_ledger.DESK_METHODS,
        "adjustments": staff_ledger.ADJUSTMENTS,
        "base": f"/staff/clients/{client['id']}/billing",
    }


class StaffBillingController(Controller):
    path = "/staff/clients/{client_id:int}/billing"
    guards = [billing_reader]
    dependencies = {"gateway": Provide(provide_gateway)}

    @get("/ledger")
    async def ledger(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], practice: NamedDependency[PracticeInfo],
        done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        client = await _open(staff, client_id, actor)
        context = await _context(client, staff, practice, notice=NOTICES.get(done, ""))
        return await render(request, PAGE, context, fragment=FRAGMENT)

    async def _post(
        self, request: Request, client_id: int, staff: Staff, actor: Actor,
        practice: PracticeInfo, name: str, write: Any,
    ) -> Response:  # fmt: skip
        """Read the form, `write` it; the fragment (or a 303), or the form again with why."""
        client = await _open(staff, client_id, actor)
        form = await request.form()
        typed = {k: form_text(form, k, n) for k, n in staff_ledger.TEXT_FIELDS.items()}
        try:
            await write(client_id, typed, tz=practice.time_zone, actor=actor)
        except (Invalid, Conflict) as exc:
            state = {"name": name, "typed": typed, "errors": exc.errors, "message": exc.message}
            context = await _context(client, staff, practice, form=state)
            return await render(
                request, PAGE, context, fragment=FRAGMENT, status_code=status_of(exc)
            )

        async def fragment() -> Response:
            context = await _context(client, staff, practice, notice=NOTICES[name])
            return await render(
                request, PAGE, context, fragment=FRAGMENT, headers={"HX-Trigger": LEDGER_CHANGED}
            )

        return await done(request, f"{_url(client_id)}?done={name}", fragment)

    @post("/charges", status_code=200, guards=[billing_writer])
    async def charge(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], practice: NamedDependency[PracticeInfo],
    ) -> Response:  # fmt: skip
        return await self._post(
            request, client_id, staff, actor, practice, "charge", staff_ledger.post_charge
        )

    @post("/adjustments", status_code=200, guards=[billing_writer])
    async def adjustment(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], practice: NamedDependency[PracticeInfo],
    ) -> Response:  # fmt: skip
        return await self._post(
            request, client_id, staff, actor, practice, "adjustment", staff_ledger.post_adjustment
        )

    @post("/payments", status_code=200, guards=[billing_writer])
    async def payment(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], practice: NamedDependency[PracticeInfo],
    ) -> Response:  # fmt: skip
        return await self._post(
            request, client_id, staff, actor, practice, "payment", staff_ledger.post_desk_payment
        )

    # --- Refunds ------------------------------------------------------------------------------

    async def _refund_page(
        self, request: Request, client: dict, entry_id: int, gateway: Gateway | None, *,
        key: str = "", typed: dict | None = None, errors: dict | None = None, error: str = "",
        status_code: int = 200, keep_form: bool = False,
    ) -> Template:  # fmt: skip
        payment = await refunds.card_payment(client["id"], entry_id)
        if not key and (waiting := await refunds.unanswered(client["id"], entry_id)):
            key, keep_form, error = waiting["idempotency_key"], True, refunds.UNANSWERED_MESSAGE
            typed = {"amount": f"{waiting['amount_cents'] / 100:.2f}", "reason": waiting["reason"]}
        context = {
            "client": client,
            "name": f"{client['first_name']} {client['last_name']}".strip(),
            "payment": payment,
            "available": gateway is not None,
            "key": key or refunds.new_form_key(),
            "typed": typed or {"amount": f"{payment['refundable'] / 100:.2f}"},
            "errors": errors or {},
            "error": error,
            "resend": keep_form,
            "base": f"/staff/clients/{client['id']}/billing",
        }
        return await render(request, REFUND_PAGE, context, status_code=status_code)

    @get("/payments/{entry_id:int}/refund", guards=[billing_writer])
    async def refund_form(
        self, request: Request, client_id: FromPath[int], entry_id: FromPath[int],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
        gateway: NamedDependency[Gateway | None],
    ) -> Template:  # fmt: skip
        client = await _open(staff, client_id, actor)
        return await self._refund_page(request, client, entry_id, gateway)

    @post("/payments/{entry_id:int}/refund", status_code=200, guards=[billing_writer])
    async def refund(
        self, request: Request, client_id: FromPath[int], entry_id: FromPath[int],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
        practice: NamedDependency[PracticeInfo], gateway: NamedDependency[Gateway | None],
    ) -> Response:  # fmt: skip
        client = await _open(staff, client_id, actor)
        await refunds.card_payment(client_id, entry_id)  # NotFound for anything else
        form = await request.form()
        key = form_text(form, "key", 64)
        typed = {"amount": form_text(form, "amount", 30), "reason": form_text(form, "reason", 300)}
        if gateway is None:
            return await self._refund_page(
                request, client, entry_id, gateway, key=key, typed=typed, status_code=409,
                error="Card payments are not set up for the practice: no refund can be made.",
            )  # fmt: skip
        try:
            outcome = await refunds.refund(
                gateway, client_id, entry_id, key=key, amount=typed["amount"],
                reason=typed["reason"], actor=actor,
            )  # fmt: skip
        except Invalid as exc:
            return await self._refund_page(
                request, client, entry_id, gateway, key=key if refunds.KEY.fullmatch(key) else "",
                typed=typed, errors=exc.errors, error=exc.message, status_code=422,
            )  # fmt: skip
        if outcome.status == "failed":  # nothing was refunded: a new form (a new key)
            return await self._refund_page(
                request, client, entry_id, gateway, typed=typed, error=outcome.error,
                status_code=422,
            )  # fmt: skip
        if outcome.status == "unanswered":  # the same form (its key) sends it again
            typed["amount"] = f"{outcome.cents / 100:.2f}"
            return await self._refund_page(
                request, client, entry_id, gateway, key=key, typed=typed, error=outcome.error,
                status_code=503, keep_form=True,
            )  # fmt: skip
        name = "refunded" if outcome.status == "succeeded" else "refund_pending"

        async def fragment() -> Response:
            context = await _context(client, staff, practice, notice=NOTICES[name])
            return await render(
                request, PAGE, context, fragment=FRAGMENT, headers={"HX-Trigger": LEDGER_CHANGED}
            )

        return await done(request, f"{_url(client_id)}?done={name}", fragment)

    # --- Documents ----------------------------------------------------------------------------

    @get(["/documents/{document:str}", "/documents/{document:str}/pdf"])
    async def document(
        self, request: Request, client_id: FromPath[int], document: FromPath[str],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
        practice: NamedDependency[PracticeInfo], start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Template | Response:  # fmt: skip
        if document not in DOCUMENTS:
            raise NotFound("No such document.")
        client = await access.open_record(staff, client_id, Part.billing, actor, audit_read=False)
        span = statements.period(start, end, today=_today(practice))
        await access.audited_read(
            staff, client_id, Part.billing, actor, item=f"document:{document}"
        )
        context = await _document_context(document, client, practice, span)
        body, stem = DOCUMENTS[document]
        base = f"/staff/clients/{client_id}/billing"
        query = f"start={span.start.isoformat()}&end={span.end.isoformat()}"
        context.update(
            practice=practice, client=client, body=body, staff_document=True,
            back_url=_url(client_id), back_label="Back to the ledger",
            pdf_url=f"{base}/documents/{document}/pdf?{query}",
        )  # fmt: skip
        if request.url.path.endswith("/pdf") and span.problem is None:
            filename = f"{stem}-client-{client_id}-{span.start}-{span.end}.pdf"
            return await pdf_response(
                request, "pages/billing/document_pdf.html", context, filename, inline=True
            )
        return await render(
            request, "pages/billing/document.html", context,
            status_code=status_of(span.problem) if span.problem else 200,
        )  # fmt: skip


async def _document_context(
    kind: str, client: dict, practice: PracticeInfo, span: statements.Period
) -> dict:
    """What each document's template reads (the same as the client's own documents)."""
    context: dict[str, Any] = {"p": await statements.letterhead(practice.id), "error": span.error}
    if kind == "superbill":
        if span.problem:
            raise span.problem
        context["bill"] = await statements.superbill(client["id"], span.start, span.end)
        return context
    all_lines = await statements.lines(client["id"])
    if kind == "fsa":
        lines = statements.service_lines(all_lines, span.start, span.end)
        context.update(start=span.start, end=span.end, lines=lines, total=statements.total(lines))
    else:  # ledger, statement
        context["st"] = statements.statement(all_lines, span.start, span.end)
    return context


CONTROLLERS: list = [StaffBillingController]
