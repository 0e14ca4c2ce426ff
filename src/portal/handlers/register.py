"""Self-registration at /register (portal.accounts.registration), its setting, and staff
approval of the clients who registered.

/register and its links answer 404 while the practice has self-registration off. The
request's answer is the same page whether or not the address has an account; too many
requests from one address get a 429 page. The link's GET only shows a "Continue" button
(a POST), which leads to the username and password step; the account's POST signs the new
client in as /login does (two-factor setup and the terms follow when they apply).
"""

from __future__ import annotations

import dataclasses

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from portal.accounts import auth as accounts
from portal.accounts import devices, registration, signin
from portal.core.actor import Actor
from portal.core.errors import Conflict, DomainError, Invalid
from portal.handlers.auth import (
    home_for,
    session_cookie_name,
    signin_context,
    step_response,
)
from portal.handlers.base import form_text, is_fragment_request, render, staff_only, user_agent
from portal.handlers.errors import status_of
from portal.handlers.staff import owner_or_manager
from portal.practice import info
from portal.practice.info import PracticeInfo
from portal.settings import Settings
from portal.staff import access
from portal.staff.access import Part, Staff

FIELDS = {"first_name": 100, "last_name": 100, "date_of_birth": 10, "email": 254,
          "mobile": 40, "provider": 12}  # fmt: skip
HONEYPOT = "website"  # hidden from people; a bot that fills it gets the answer and nothing else
SENT = "Check your email: we sent a link to {email}."


def _practice_id(practice: PracticeInfo | None) -> int | None:
    return practice.id if practice else None


class RegisterController(Controller):
    path = "/register"

    async def _form(self, request, practice, *, typed=None, errors=None, status_code=200):  # noqa: ANN001, ANN202
        return await render(
            request,
            "pages/register/form.html",
            {
                "practice": practice,
                "providers": await registration.providers(practice.id),
                "typed": typed or {"provider": registration.ANY},
                "errors": errors or {},
                "max_message": registration.MAX_MESSAGE,
            },
            status_code=status_code,
        )

    @get("/")
    async def form(
        self, request: Request, practice: NamedDependency[PracticeInfo | None]
    ) -> Template | Redirect:
        await registration.require_open(_practice_id(practice))
        if request.user is not None:
            return Redirect(home_for(request.user), status_code=303)
        return await self._form(request, practice)

    @post("/", status_code=200)
    async def send(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo | None],
        actor: NamedDependency[Actor],
    ) -> Template:
        await registration.require_open(_practice_id(practice))
        form = await request.form()
        typed = {name: form_text(form, name, size) for name, size in FIELDS.items()}
        typed["message"] = str(form.get("message", "")).strip()[: 2 * registration.MAX_MESSAGE]
        sent = {"practice": practice, "email": typed["email"], "sent": SENT}
        if form_text(form, HONEYPOT, 200):
            return await render(request, "pages/register/sent.html", sent)
        try:
            await registration.request(practice.id, typed, actor)
        except registration.TooMany as exc:
            return await render(
                request, "pages/register/too_many.html",
                {"practice": practice, "message": exc.message}, status_code=429,
            )  # fmt: skip
        except Invalid as exc:
            return await self._form(
                request, practice, typed=typed, errors=exc.errors, status_code=422
            )
        return await render(request, "pages/register/sent.html", sent)

    async def _invalid(self, request, practice, message="", status_code=410):  # noqa: ANN001, ANN202
        return await render(
            request, "pages/register/invalid.html",
            {"practice": practice, "message": message}, status_code=status_code,
        )  # fmt: skip

    @get("/verify/{token:str}")
    async def verify_page(
        self, request: Request, token: FromPath[str], practice: NamedDependency[PracticeInfo | None]
    ) -> Template:
        # Nothing is written here: mail scanners and link previews fetch links.
        await registration.require_open(_practice_id(practice))
        row = await registration.pending(token)
        if row is None:
            return await self._invalid(request, practice)
        return await render(
            request, "pages/register/verify.html",
            {"practice": practice, "token": token, "email": row["email"]},
        )  # fmt: skip

    async def _account(
        self, request, practice, token, row, *, username="", errors=None, status_code=200
    ):  # noqa: ANN001, ANN202
        return await render(
            request, "pages/register/account.html",
            {"practice": practice, "token": token, "first_name": row["first_name"],
             "email": row["email"], "username": username, "errors": errors or {}},
            status_code=status_code,
        )  # fmt: skip

    @post("/verify/{token:str}", status_code=200)
    async def confirm(
        self, request: Request, token: FromPath[str], practice: NamedDependency[PracticeInfo | None],
        actor: NamedDependency[Actor],
    ) -> Template:  # fmt: skip
        await registration.require_open(_practice_id(practice))
        row = await registration.confirm_email(token, actor)
        if row is None:
            return await self._invalid(request, practice)
        return await self._account(request, practice, token, row)

    @post("/verify/{token:str}/account", status_code=303)
    async def create(
        self, request: Request, token: FromPath[str], practice: NamedDependency[PracticeInfo | None],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        await registration.require_open(_practice_id(practice))
        form = await request.form()
        username = form_text(form, "username", 150)
        try:
            user = await registration.create_account(
                practice.id, token, username, str(form.get("password", ""))[:1024],
                str(form.get("password_again", ""))[:1024], actor,
            )  # fmt: skip
        except Invalid as exc:
            row = await registration.pending(token)
            if row is None:
                return await self._invalid(request, practice)
            return await self._account(
                request, practice, token, row, username=username, errors=exc.errors,
                status_code=422,
            )  # fmt: skip
        except Conflict as exc:
            return await self._invalid(request, practice, exc.message, status_code=409)
        if user is None:
            return await self._invalid(request, practice)
        old = request.cookies.get(session_cookie_name(settings))
        if old:
            await accounts.end_session(old)
        # This browser is the new account's first device: no "new sign-in" mail for it.
        device_token, _ = await devices.register(user["id"], user_agent(request))
        ctx = dataclasses.replace(
            signin_context(request, settings, practice), device_token=device_token
        )
        step = await signin.after_password(user, ctx)
        return step_response(
            dataclasses.replace(step, device_token=device_token), settings, "", user
        )


class ApprovalController(Controller):
    """Approve or decline a self-registered client: staff who may invite this client."""

    path = "/staff/clients/{client_id:int}/approval"
    guards = [staff_only]

    @post("/", status_code=200)
    async def decide(
        self, request: Request, client_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        await access.open_record(staff, client_id, Part.invite, actor)
        form = await request.form()
        action = form_text(form, "action", 20)
        notice, error, status = "", "", 200
        try:
            if action == "approve":
                await registration.approve(client_id, actor)
                notice = "Approved. The client can book online now, and was sent a mail."
            elif action == "decline":
                await registration.decline(client_id, actor)
                notice = "Declined. The client's portal account is closed, and was sent a mail."
            else:
                raise Invalid("Choose Approve or Decline.")
        except DomainError as exc:
            if not is_fragment_request(request):
                raise
            error, status = exc.message, status_of(exc)
        if not is_fragment_request(request):
            return Redirect(f"/staff/clients/{client_id}", status_code=303)
        return Template(
            template_name="partials/staff/approval.html",
            context={
                "client": await registration.client_row(client_id),
                "practice": actor.practice,
                "approval_notice": notice,
                "approval_error": error,
                # The registration's free-text message is for clinical roles only.
                "may_read_clinical": staff.may(Part.forms),
            },
            status_code=status,
        )


class RegistrationSettingsController(Controller):
    """Practice settings → Self-registration (owner or manager)."""

    path = "/staff/settings/registration"
    guards = [owner_or_manager]

    @get("/")
    async def show(
        self, request: Request, practice: NamedDependency[PracticeInfo], done: FromQuery[str] = ""
    ) -> Template:
        return await render(
            request,
            "pages/staff/registration.html",
            {
                "practice": practice,
                "current": await registration.settings_of(practice.id),
                "notice": "Self-registration settings saved." if done == "saved" else "",
            },
        )

    @post("/", status_code=303)
    async def save(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor],
    ) -> Redirect:
        form = await request.form()
        await registration.change_settings(
            practice.id,
            self_registration=form.get("self_registration") == "on",
            book_before_approval=form.get("book_before_approval") == "on",
            actor=actor,
        )
        info.changed()
        return Redirect("/staff/settings/registration?done=saved", status_code=303)
