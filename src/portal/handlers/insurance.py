"""My Insurance: answer "no insurance" or enter the policy, re-enter it later; card images.

The page is one panel (`partials/insurance/panel.html`) that htmx swaps after
each form; without JavaScript the forms post and redirect back to the page.
"""

from __future__ import annotations

from functools import partial

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core import uploads
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid
from portal.handlers.base import done, form_text, provide_client, render, signed_in
from portal.handlers.errors import status_of
from portal.handlers.limits import upload_bytes
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

    async def _panel(self, request: Request, client: dict, notice: str) -> Template:
        """The panel after a change: what htmx swaps in (`done()` redirects otherwise)."""
        context = await self._context(client, notice=NOTICES[notice])
        return await render(request, PAGE, context, fragment=PANEL)

    @get("/")
    async def page(
        self, request: Request, client: NamedDependency[dict], done: FromQuery[str] = ""
    ) -> Template:
        context = await self._context(client, notice=NOTICES.get(done, ""))
        return await render(request, PAGE, context, fragment=PANEL)

    @post("/none", status_code=200)
    async def no_insurance(
        self, request: Request, client: NamedDependency[dict], actor: NamedDependency[Actor]
    ) -> Response:
        await insurance.choose_none(client["id"], actor=actor, now=utcnow())
        return await done(
            request, "/insurance?done=none", partial(self._panel, request, client, "none")
        )

    @post("/", status_code=200, request_max_body_size=upload_bytes(len(insurance.CARD_SIDES)))
    async def save(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        form = await request.form()
        values = {name: form_text(form, name, n) for name, n in insurance.TEXT_FIELDS.items()}
        files: dict[str, tuple[bytes, str]] = {}
        for side in insurance.CARD_SIDES:
            upload = form.get(f"card_{side}")
            if isinstance(upload, UploadFile) and (upload.filename or "").strip():
                files[side] = (await upload.read(), upload.filename)
            # no file chosen: the current image, if the card is the same (policy.save decides)
        today = utcnow().astimezone(practice.time_zone).date()
        try:
            details, cards = await uploads.off_the_loop(
                insurance.check_submission, values, files, today=today
            )
        except Invalid as exc:
            # A file input cannot be filled in again by the page: say so for what was chosen.
            reselect = [s for s in files if f"card_{s}" not in exc.errors]
            return await render(
                request,
                PAGE,
                await self._context(
                    client, values=values, errors=exc.errors, open_form=True, reselect=reselect
                ),
                fragment=PANEL,
                status_code=status_of(exc),
            )
        await insurance.save(client["id"], details, cards=cards, actor=actor, now=utcnow())
        return await done(
            request, "/insurance?done=saved", partial(self._panel, request, client, "saved")
        )

    @get("/cards/{file_id:int}")
    async def card(self, file_id: FromPath[int], client: NamedDependency[dict]) -> Response:
        row = await insurance.card_for_client(client["id"], file_id)
        if row is None:
            raise NotFoundException("There is no such card image.")
        return Response(
            row["data"], media_type=row["content_type"], headers=uploads.download_headers(row)
        )
