"""Staff › Embedding (owner, manager): the origins allowed to embed the portal, and the
staff API tokens internal systems use (portal.embedding).

A new token is shown once, on the page answering its creation (never in a redirect URL,
never again); revoking one stops it at once. Bad input is 422 with each message by its
field and what was typed kept.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid
from portal.embedding import origins, sessions, tokens
from portal.handlers.base import form_text, render
from portal.handlers.errors import status_of
from portal.handlers.staff import owner_or_manager
from portal.practice import info
from portal.practice.info import PracticeInfo
from portal.settings import Settings

PATH = "/staff/settings/embedding"
NOTICES = {"origins": "The allowed origins are saved.", "revoked": "The token is revoked."}


class EmbeddingSettingsController(Controller):
    path = PATH
    guards = [owner_or_manager]

    async def _page(
        self, request: Request, practice: PracticeInfo, settings: Settings, *, notice: str = "",
        typed: dict | None = None, errors: dict | None = None, new_token: str = "",
        status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(request, "pages/staff/embedding.html", {
            "practice": practice, "notice": notice, "typed": typed or {}, "errors": errors or {},
            "new_token": new_token, "tokens": await tokens.listing(utcnow()),
            "members": await tokens.members(),
            "scopes": tokens.SCOPES, "widgets": sessions.WIDGETS,
            "configured": settings.security.embed_origins,
            "practice_origins": "\n".join(practice.embed_origins),
            "base": settings.portal_url.rstrip("/"), "default_days": tokens.DEFAULT_DAYS,
            "max_days": tokens.MAX_DAYS, "secret_minutes": sessions.SECRET_MINUTES,
        }, status_code=status_code)  # fmt: skip

    @get("/")
    async def show(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        return await self._page(request, practice, settings, notice=NOTICES.get(done, ""))

    @post("/origins", status_code=303)
    async def save_origins(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        text = form_text(await request.form(), "embed_origins", 3000)
        try:
            await origins.change(practice.id, text, actor)
        except Invalid as exc:
            return await self._page(request, practice, settings, typed={"embed_origins": text},
                                    errors=exc.errors, status_code=status_of(exc))  # fmt: skip
        info.changed()
        return Redirect(f"{PATH}?done=origins", status_code=303)

    @post("/tokens", status_code=200)
    async def create_token(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Template:  # fmt: skip
        form = await request.form()
        typed = {"name": form_text(form, "name", 101), "user": form_text(form, "user", 12),
                 "days": form_text(form, "days", 5),
                 "scopes": [str(s)[:10] for s in form.getall("scopes", [])][:5]}  # fmt: skip
        try:
            _, token = await tokens.create(typed, actor=actor)
        except Invalid as exc:
            return await self._page(request, practice, settings, typed=typed, errors=exc.errors,
                                    status_code=status_of(exc))  # fmt: skip
        return await self._page(request, practice, settings, new_token=token)

    @post("/tokens/{token_id:int}/revoke", status_code=303)
    async def revoke_token(
        self, token_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> Response:
        await tokens.revoke(token_id, actor=actor)
        return Redirect(f"{PATH}?done=revoked", status_code=303)


CONTROLLERS: list = [EmbeddingSettingsController]
