"""My Insurance: answer "no insurance" or enter the policy, re-enter it later; card images.

The page is one panel (`partials/insurance/panel.html`) that htmx swaps after
each form; without JavaScript the forms post and redirect back to the page.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.clients import provide_client
from portal.core import uploads
from portal.core.clock import utcnow
from portal.core.uploads import Checked, UploadError
from portal.handlers.base import client_ip, form_text, is_fragment_request, render, signed_in
from portal.insurance import policy as insurance
from portal.practice.info import PracticeInfo

PAGE = "pages/insurance/index.html"
PANEL = "partials/insurance/panel.html"

# Redirects carry the key, never the text.
NOTICES = {
    "saved": "Your insurance was saved. The practice sees it as your primary insurance.",
    "none": "Saved: you have no insurance (self or private pay).",
}


class InsuranceController(Controller):
    path = "/insurance"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    async def _context(self, client: dict, **extra) -> dict:
        ov = await insurance.overview(client["id"])
        return {
            "ins": ov,
            "values": extra.pop("values", None) or insurance.form_defaults(ov, client),
            "errors": {},
            "relationships": insurance.RELATIONSHIPS,
            "phrases": insurance.RELATIONSHIP_PHRASES,
            **extra,
        }

    async def _done(self, request: Request, notice: str, client: dict) -> Template | Redirect:
        """Success: the panel again for htmx, a redirect (post/redirect/get) otherwise."""
        if is_fragment_request(request):
            context = await self._context(client, notice=NOTICES[notice])
            return await render(request, PAGE, context, fragment=PANEL)
        return Redirect(f"/insurance?done={notice}", status_code=303)

    @get("/")
    async def page(
        self, request: Request, client: NamedDependency[dict], done: FromQuery[str] = ""
    ) -> Template:
        context = await self._context(client, notice=NOTICES.get(done, ""))
        return await render(request, PAGE, context, fragment=PANEL)

    @post("/none", status_code=200)
    async def no_insurance(
        self, request: Request, client: NamedDependency[dict]
    ) -> Template | Redirect:
        await insurance.choose_none(
            client["id"], actor_id=request.user.id, ip=client_ip(request), now=utcnow()
        )
        return await self._done(request, "none", client)

    @post("/", status_code=200)
    async def save(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template | Redirect:
        form = await request.form()
        values = {name: form_text(form, name, n) for name, n in insurance.TEXT_FIELDS.items()}
        today = utcnow().astimezone(practice.time_zone).date()
        details, errors = insurance.validate(values, today=today)
        cards: dict[str, Checked | None] = {}
        chosen: list[str] = []
        for side in insurance.CARD_SIDES:
            name = f"card_{side}"
            upload = form.get(name)
            cards[side] = None
            if not isinstance(upload, UploadFile) or not (upload.filename or "").strip():
                continue  # no file chosen: keep the current image, if any
            chosen.append(side)
            try:
                cards[side] = insurance.check_card(await upload.read(), upload.filename)
            except UploadError as exc:
                errors[name] = str(exc)
        if errors or details is None:
            # A file input cannot be filled in again by the page: say so for what was chosen.
            reselect = [s for s in chosen if f"card_{s}" not in errors]
            return await render(
                request,
                PAGE,
                await self._context(
                    client, values=values, errors=errors, open_form=True, reselect=reselect
                ),
                fragment=PANEL,
                status_code=422,
            )
        await insurance.save(
            client["id"], details, cards=cards, actor_id=request.user.id,
            ip=client_ip(request), now=utcnow(),
        )  # fmt: skip
        return await self._done(request, "saved", client)

    @get("/cards/{file_id:int}")
    async def card(self, file_id: FromPath[int], client: NamedDependency[dict]) -> Response:
        row = await insurance.card_for_client(client["id"], file_id)
        if row is None:
            raise NotFoundException("There is no such card image.")
        return Response(
            row["data"], media_type=row["content_type"], headers=uploads.download_headers(row)
        )
