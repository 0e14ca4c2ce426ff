"""Invitations to the portal: staff send one from a client's record; the client follows
the link to set up their account (portal.accounts.invitations).

Staff: `GET /staff/clients/{id}/invitation` is the "Invite to the portal" box (the
fragment for htmx, a small page otherwise) and `POST` sends or resends the invitation;
both need `Part.invite` for that client (else 404).

The client: `GET /invitations/{token}` asks the date of birth (or, just after it was
given, the account step); the forms post to `/invitations/date-of-birth` and
`/invitations/account` with the token in a hidden field, never in a cookie, and every
step checks it again. The account step ends in the same sign-in as `/login` (`signin.
after_password`), so the practice's two-factor policy and the terms follow as for any
sign-in. A dead or unknown link answers 410 with one message, whichever it was.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts import auth as accounts
from portal.accounts import invitations, signin
from portal.accounts.invitations import Gone, Opened
from portal.core.actor import Actor
from portal.core.errors import Conflict, Invalid
from portal.handlers.auth import session_cookie_name, signin_context, step_response
from portal.handlers.base import done, form_text, render, staff_only
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo
from portal.settings import Settings
from portal.staff.access import Part, Staff, open_record

NOTICES = {"sent": "The invitation was sent."}
STAFF_PAGE = "pages/invitations/staff.html"
STAFF_BOX = "partials/staff/invitation.html"


class InviteController(Controller):
    path = "/staff/clients/{client_id:int}/invitation"
    guards = [staff_only]

    async def _box(
        self, request: Request, client: dict, *, notice: str = "", errors: list[str] | None = None,
        status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(
            request,
            STAFF_PAGE,
            {
                "client": client,
                "invitation": await invitations.state(client["id"]),
                "invitation_notice": notice,
                "invitation_errors": errors or [],
            },
            fragment=STAFF_BOX,
            status_code=status_code,
        )

    @get("/")
    async def show(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        client = await open_record(staff, client_id, Part.invite, actor)
        return await self._box(request, client, notice=NOTICES.get(done, ""))

    @post("/", status_code=200)
    async def send(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        client = await open_record(staff, client_id, Part.invite, actor)
        try:
            sent = await invitations.send(client, actor)
        except (Invalid, Conflict) as exc:
            return await self._box(request, client, errors=exc.messages, status_code=status_of(exc))

        async def fragment() -> Response:
            return await self._box(request, client, notice=f"The invitation was sent to {sent.email}.")  # fmt: skip

        return await done(request, f"/staff/clients/{client_id}/invitation?done=sent", fragment)


GONE_PAGE = "pages/invitations/gone.html"
BIRTH_PAGE = "pages/invitations/date_of_birth.html"
ACCOUNT_PAGE = "pages/invitations/account.html"


async def _gone(request: Request, message: str = invitations.GONE) -> Template:
    return await render(request, GONE_PAGE, {"message": message}, status_code=410)


class InvitationController(Controller):
    path = "/invitations"

    @get("/{token:str}")
    async def link(self, request: Request, token: FromPath[str]) -> Template:
        try:
            invitation = await invitations.opened(token)
        except Gone:
            return await _gone(request)
        return await self._step(request, token, invitation)

    async def _step(
        self, request: Request, token: str, invitation: Opened, *, errors: dict | None = None,
        typed: dict | None = None, status_code: int = 200,
    ) -> Template:  # fmt: skip
        page = ACCOUNT_PAGE if invitation.verified else BIRTH_PAGE
        context = {
            "token": token,
            "invitation": invitation,
            "errors": errors or {},
            "typed": typed or {},
        }
        return await render(request, page, context, status_code=status_code)

    async def _refused(self, request: Request, token: str, errors: dict, typed: dict) -> Template:
        """The step again with its errors and what was typed (422), read afresh from the
        link: gone since (410) if it died meanwhile."""
        try:
            invitation = await invitations.opened(token)
        except Gone:
            return await _gone(request)
        return await self._step(
            request, token, invitation, errors=errors, typed=typed, status_code=422
        )

    @post("/date-of-birth", status_code=200)
    async def check(self, request: Request, actor: NamedDependency[Actor]) -> Template:
        form = await request.form()
        token = form_text(form, "token", 100)
        typed = form_text(form, "date_of_birth", 20)
        try:
            invitation = await invitations.check_birth_date(token, typed, actor)
        except Gone as exc:
            return await _gone(request, exc.message)
        except Invalid as exc:
            return await self._refused(request, token, exc.errors, {"date_of_birth": typed})
        return await self._step(request, token, invitation)

    @post("/account", status_code=303)
    async def account(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template | Redirect:
        form = await request.form()
        token = form_text(form, "token", 100)
        username = form_text(form, "username", 150)
        password, again = str(form.get("password", ""))[:1024], str(form.get("password_again", ""))[:1024]  # fmt: skip
        try:
            user = await invitations.accept(token, username, password, again, actor)
        except Gone:
            return await _gone(request)
        except Conflict as exc:
            return await _gone(request, exc.message)
        except Invalid as exc:
            return await self._refused(request, token, exc.errors, {"username": username})
        # Signed in exactly as after a correct password at /login: the session, the device,
        # then the two-factor setup and the terms when the practice asks for them.
        old = request.cookies.get(session_cookie_name(settings))
        if old:
            await accounts.end_session(old)
        step = await signin.after_password(user, signin_context(request, settings, practice))
        return step_response(step, settings, "", user)
