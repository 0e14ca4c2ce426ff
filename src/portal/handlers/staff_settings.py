"""Staff › Settings › Practice (owner, manager): the practice's details and portal rules,
and the terms of service (portal.practice.settings).

One page in three sections, each its own form: the practice (`POST …/details`), the portal's
rules (`POST …/rules`) and the terms of service (`POST …/terms`). Without JavaScript a post
that worked is a 303 to the page with its notice; with htmx the section alone is answered.
Bad input is 422 with each message by its field and everything typed kept. After a change
the per-process practice is forgotten (`info.changed()`), so every page shows it at once.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template

from portal.core.actor import Actor
from portal.core.errors import Invalid
from portal.handlers.base import done, form_text, render
from portal.handlers.errors import status_of
from portal.handlers.staff import owner_or_manager
from portal.practice import info, settings, terms
from portal.practice.info import PracticeInfo

PAGE = "pages/staff/practice.html"
PATH = "/staff/settings/practice"
SECTIONS = {
    "details": "partials/staff/practice/details.html",
    "rules": "partials/staff/practice/rules.html",
    "terms": "partials/staff/practice/terms.html",
}
NOTICES = {
    "details": "The practice's details are saved.",
    "rules": "The portal's rules are saved.",
    "terms": "The new terms are published: clients accept them at their next sign-in.",
}
UNCHANGED = "Nothing was changed."
TERMS_BYTES = 9 * settings.MAX_TERMS  # the text percent-encoded (up to 9 bytes a character)


class PracticeSettingsController(Controller):
    path = PATH
    guards = [owner_or_manager]

    async def _context(self, practice: PracticeInfo) -> dict:
        context = await settings.view(practice.id)
        context.update(
            section="",
            notice="",
            typed={},
            errors={},
            documents=info.DOCUMENTS,
            two_factor=settings.TWO_FACTOR,
            labels=settings.DETAIL_LABELS,
            max_minutes=settings.MAX_LINK_MINUTES,
            max_version=terms.MAX_VERSION,
            max_terms=settings.MAX_TERMS,
        )
        return context

    async def _section(
        self,
        request: Request,
        practice: PracticeInfo,
        section: str,
        *,
        notice: str = "",
        typed: dict | None = None,
        errors: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        """One section for htmx (the whole page otherwise): `typed` and `errors` are its
        input and messages when it failed, `notice` what is said in its box."""
        context = await self._context(practice)
        context.update(section=section, notice=notice, typed=typed or {}, errors=errors or {})
        return await render(
            request, PAGE, context, fragment=SECTIONS[section], status_code=status_code
        )

    async def _done(
        self, request: Request, practice: PracticeInfo, section: str, changed: bool
    ) -> Response:
        key = section if changed else "unchanged"

        async def fragment() -> Template:
            notice = NOTICES[section] if changed else UNCHANGED
            return await self._section(request, practice, section, notice=notice)

        return await done(request, f"{PATH}?done={key}&section={section}#{section}", fragment)

    @get("/")
    async def show(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        done: FromQuery[str] = "",
        section: FromQuery[str] = "",
    ) -> Template:
        context = await self._context(practice)
        if section in SECTIONS and done in (section, "unchanged"):
            context.update(
                section=section, notice=NOTICES[section] if done == section else UNCHANGED
            )
        return await render(request, PAGE, context)

    @post("/details", status_code=200)
    async def save_details(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        form = await request.form()
        typed = {k: form_text(form, k, n + 1) for k, n in settings.DETAILS.items()}
        try:
            changed = await settings.change_details(practice.id, typed, actor)
        except Invalid as exc:
            return await self._section(
                request, practice, "details", typed=typed, errors=exc.errors,
                status_code=status_of(exc),
            )  # fmt: skip
        info.changed()
        return await self._done(request, practice, "details", bool(changed))

    @post("/rules", status_code=200)
    async def save_rules(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        form = await request.form()
        typed = {
            k: form_text(form, k, 12)
            for k in ("two_factor_policy", "designated_scheduler", "designated_biller",
                      "telehealth_link_minutes")
        }  # fmt: skip
        documents = [str(v)[:12] for v in form.getall("client_documents", [])][:10]
        try:
            changed = await settings.change_rules(practice.id, typed, documents, actor)
        except Invalid as exc:
            return await self._section(
                request, practice, "rules",
                typed={**typed, "client_documents": documents}, errors=exc.errors,
                status_code=status_of(exc),
            )  # fmt: skip
        info.changed()
        return await self._done(request, practice, "rules", bool(changed))

    @post("/terms", status_code=200, request_max_body_size=TERMS_BYTES)
    async def publish_terms(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Response:
        form = await request.form()
        typed = {
            "version": form_text(form, "version", terms.MAX_VERSION + 1),
            "text": str(form.get("text", ""))[: settings.MAX_TERMS],
        }
        try:
            await terms.publish(typed["version"], typed["text"], actor=actor)
        except Invalid as exc:
            return await self._section(
                request, practice, "terms", typed=typed, errors=exc.errors,
                status_code=status_of(exc),
            )  # fmt: skip
        info.changed()
        return await self._done(request, practice, "terms", True)
