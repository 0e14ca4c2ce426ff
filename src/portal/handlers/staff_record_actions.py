"""Staff › a client's record: the actions on the client's portal account (owner and manager).

Deactivate, reactivate, end every session, reset two-factor after an identity check,
unlock a throttled sign-in. Each is a plain form in the record's security section: for
htmx it answers that section's fragment with a status message (and the record's heading
out of band, whose status may have changed), without JavaScript a 303 to the section's
page. A refused action (nothing to reset, no account, a missing identity check) answers
the section again with the message, 409 or 422, what was typed kept. The rules are in
`portal.staff.record_actions`; a role without Part.manage, or a client out of reach, is 404.

`AccountActions` holds the routes; `ClientRecordController` (handlers/staff_record.py)
inherits them and gives them `answer_action` and `refuse_action`, so the record's URLs
stay one registered controller.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from portal.core.actor import Actor
from portal.core.errors import Conflict, Invalid
from portal.handlers.base import form_text
from portal.settings import Settings
from portal.staff import record_actions
from portal.staff.access import Staff


class AccountActions(Controller):
    """The account actions' routes (inherited by ClientRecordController)."""

    async def answer_action(
        self, request: Request, staff: Staff, client_id: int, done_key: str, actor: Actor,
        settings: Settings,
    ) -> Response:  # fmt: skip
        raise NotImplementedError

    async def refuse_action(
        self, request: Request, staff: Staff, client_id: int, actor: Actor, settings: Settings,
        exc: Invalid | Conflict, **state: object,
    ) -> Response:  # fmt: skip
        raise NotImplementedError

    @post("/deactivate", status_code=200)
    async def deactivate(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        try:
            await record_actions.deactivate(staff, client_id, actor)
        except Conflict as exc:
            return await self.refuse_action(request, staff, client_id, actor, settings, exc)
        return await self.answer_action(request, staff, client_id, "deactivated", actor, settings)

    @post("/reactivate", status_code=200)
    async def reactivate(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        try:
            await record_actions.reactivate(staff, client_id, actor)
        except Conflict as exc:
            return await self.refuse_action(request, staff, client_id, actor, settings, exc)
        return await self.answer_action(request, staff, client_id, "reactivated", actor, settings)

    @post("/sessions/end", status_code=200)
    async def end_sessions(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        try:
            await record_actions.end_sessions(staff, client_id, actor)
        except Conflict as exc:
            return await self.refuse_action(request, staff, client_id, actor, settings, exc)
        return await self.answer_action(
            request, staff, client_id, "sessions-ended", actor, settings
        )

    @post("/two-factor/reset", status_code=200)
    async def reset_two_factor(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        form = await request.form()
        method = form_text(form, "identity_check", 20)
        note = form_text(form, "identity_note", record_actions.MAX_NOTE + 1)
        confirmed = form_text(form, "identity_confirmed", 5) == "yes"
        try:
            await record_actions.reset_two_factor(staff, client_id, method, note, confirmed, actor)
        except (Invalid, Conflict) as exc:
            typed = {"identity_check": method, "identity_note": note, "confirmed": confirmed}
            return await self.refuse_action(
                request, staff, client_id, actor, settings, exc, reset_form=typed
            )
        return await self.answer_action(
            request, staff, client_id, "two-factor-reset", actor, settings
        )

    @post("/unlock", status_code=200)
    async def unlock(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        try:
            await record_actions.unlock(staff, client_id, settings.security, actor)
        except Conflict as exc:
            return await self.refuse_action(request, staff, client_id, actor, settings, exc)
        return await self.answer_action(request, staff, client_id, "unlocked", actor, settings)
