"""My Profile: the account's sign-in and security settings.

Each form is a fragment that htmx swaps in place, and a plain form that posts
and redirects without JavaScript.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from portal.accounts import auth as accounts
from portal.accounts import devices, twofactor
from portal.accounts.clients import client_for_user
from portal.accounts.passwords import password_problem
from portal.accounts.signin import two_factor_required
from portal.core import audit
from portal.core.crypto import Cipher
from portal.handlers.base import client_ip, form_text, is_fragment_request, render, signed_in
from portal.practice.info import PracticeInfo
from portal.settings import Settings
from portal.tables import User

SETUP_OK = {"before_two_factor_setup": True}

# What a finished change says. Redirects carry the key, never the text, so a
# crafted link cannot put words in the page.
NOTICES = {
    "username": "Your username was changed.",
    "password": "Your password was changed. Every other device was signed out.",
    "two-factor-off": "Two-factor sign-in is off.",
    "others": "You were signed out of every other session.",
}


async def _account(user_id: int) -> dict:
    return (
        await User.select(User.username, User.email, User.totp_enabled_at)
        .where(User.id == user_id)
        .first()
    )


def _notice(
    request: Request, settings: Settings, practice: PracticeInfo | None
) -> accounts.ChangeNotice:
    return accounts.ChangeNotice(
        ip=client_ip(request),
        practice_name=practice.name if practice else "Client portal",
        portal_url=settings.server.public_url.rstrip("/"),
    )


def _done(request: Request, fragment: str, context: dict, notice: str, page: str = "/profile"):
    """Success: the re-rendered fragment for htmx, a redirect (post/redirect/get) otherwise."""
    if is_fragment_request(request):
        return Template(template_name=fragment, context={**context, "notice": NOTICES[notice]})
    return Redirect(f"{page}?done={notice}", status_code=303)


class ProfileController(Controller):
    path = "/profile"
    guards = [signed_in]

    @get("/")
    async def profile(self, request: Request, done: FromQuery[str] = "") -> Template:
        user = request.user
        account = await _account(user.id)
        from portal.profile import (
            details as profile_details,  # phones, emails, reminders, contacts, photo ID
        )

        client = None if user.is_staff else await client_for_user(user.id)
        return await render(
            request,
            "pages/profile/index.html",
            {
                "account": account,
                "client": client,
                "notice": NOTICES.get(done, ""),
                "recovery_left": await twofactor.recovery_codes_left(user.id),
                **(await profile_details.context_for(client, done) if client else {}),
            },
        )

    @post("/username", status_code=200)
    async def change_username(self, request: Request) -> Template | Redirect:
        form = await request.form()
        new = accounts.normalise_username(form_text(form, "username", 150))
        password = str(form.get("current_password", ""))[:1024]
        errors: dict[str, str] = {}
        if not new:
            errors["username"] = "Enter a username."
        elif not all(ch.isalnum() or ch in "._-@" for ch in new):
            errors["username"] = "Use letters, digits and . _ - @ only."
        elif new == request.user.username:
            errors["username"] = "That is already your username."
        elif await accounts.username_taken(new, except_user=request.user.id):
            errors["username"] = "That username is taken. Choose another."
        if not await accounts.check_password(request.user.id, password):
            errors["current_password"] = "Your current password is not right."
        context = {"account": {"username": request.user.username}, "typed_username": new}
        if errors:
            return await render(
                request,
                "pages/profile/index.html",
                {**context, "account": await _account(request.user.id), "username_errors": errors},
                fragment="partials/profile/username.html",
                status_code=422,
            )
        await User.update({User.username: new}).where(User.id == request.user.id)
        await audit.record(
            "account.username_changed",
            actor_id=request.user.id,
            ip=client_ip(request),
            detail={"old": request.user.username, "new": new},
        )
        return _done(
            request, "partials/profile/username.html", {"account": {"username": new}}, "username"
        )

    @post("/password", status_code=200)
    async def change_password(
        self,
        request: Request,
        settings: NamedDependency[Settings],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template | Redirect:
        form = await request.form()
        current = str(form.get("current_password", ""))[:1024]
        new = str(form.get("new_password", ""))
        again = str(form.get("new_password_again", ""))
        errors: dict[str, str] = {}
        if not await accounts.check_password(request.user.id, current):
            errors["current_password"] = "Your current password is not right."
        if problem := password_problem(new, username=request.user.username):
            errors["new_password"] = problem
        elif new != again:
            errors["new_password_again"] = "The two new passwords are not the same."
        elif new == current:
            errors["new_password"] = "Choose a password different from your current one."
        if errors:
            return await render(
                request,
                "pages/profile/index.html",
                {"account": await _account(request.user.id), "password_errors": errors},
                fragment="partials/profile/password.html",
                status_code=422,
            )
        await accounts.change_password(request.user, new, _notice(request, settings, practice))
        return _done(request, "partials/profile/password.html", {}, "password")

    @get("/two-factor", opt=SETUP_OK)
    async def two_factor(
        self,
        request: Request,
        cipher: NamedDependency[Cipher],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template:
        return await self._two_factor_page(request, cipher, practice)

    async def _two_factor_page(
        self, request, cipher, practice, *, status_code=200, **extra
    ) -> Template:
        user = request.user
        enabled = await twofactor.is_enabled(user.id)
        context = {
            "enabled": enabled,
            "required": two_factor_required(
                practice.two_factor_policy if practice else "staff", user.role
            ),
            "recovery_left": await twofactor.recovery_codes_left(user.id) if enabled else 0,
            **extra,
        }
        if not enabled:
            setup = await twofactor.pending_setup(
                user.id, user.username, practice.name if practice else "Portal", cipher
            )
            context |= {"qr_svg": setup.qr_svg, "secret": twofactor.format_secret(setup.secret)}
        return await render(
            request, "pages/profile/two_factor.html", context, status_code=status_code
        )

    @post("/two-factor/enable", opt=SETUP_OK, status_code=200)
    async def enable_two_factor(
        self,
        request: Request,
        cipher: NamedDependency[Cipher],
        settings: NamedDependency[Settings],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template:
        form = await request.form()
        code = form_text(form, "code", 20)
        notice = _notice(request, settings, practice)
        codes = await twofactor.turn_on(request.user, code, cipher, notice) if code else None
        if codes is None:
            error = (
                "Enter the 6-digit code your app shows."
                if not code
                else "That code does not match. Check that your phone's time is set automatically, and try the current code."
            )
            return await self._two_factor_page(
                request, cipher, practice, status_code=422, code_error=error
            )
        return await render(
            request,
            "pages/profile/recovery_codes.html",
            {
                "codes": codes,
                "just_enabled": True,
                "other_sessions": await self._other_sessions(request),
            },
        )

    @post("/two-factor/disable", status_code=303)
    async def disable_two_factor(
        self,
        request: Request,
        cipher: NamedDependency[Cipher],
        settings: NamedDependency[Settings],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template | Redirect:
        form = await request.form()
        password = str(form.get("password", ""))[:1024]
        code = form_text(form, "code", 40)
        errors: dict[str, str] = {}
        if two_factor_required(
            practice.two_factor_policy if practice else "staff", request.user.role
        ):
            errors["code"] = (
                "Your practice requires two-factor sign-in for your account, so it cannot be turned off."
            )
        else:
            if not await accounts.check_password(request.user.id, password):
                errors["password"] = "Your password is not right."
            result = (
                await twofactor.check(request.user.id, code, cipher)
                if code
                else twofactor.Check.wrong
            )
            if result is twofactor.Check.replayed:
                errors["code"] = "That code was already used. Wait for the next one."
            elif result is twofactor.Check.wrong:
                errors["code"] = "That code is not right."
        if errors:
            return await self._two_factor_page(
                request, cipher, practice, status_code=422, disable_errors=errors
            )
        await twofactor.turn_off(request.user, _notice(request, settings, practice))
        return Redirect("/profile?done=two-factor-off", status_code=303)

    @post("/two-factor/recovery-codes", status_code=200)
    async def new_recovery_codes(
        self,
        request: Request,
        cipher: NamedDependency[Cipher],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template:
        form = await request.form()
        code = form_text(form, "code", 20)
        result = (
            await twofactor.check(request.user.id, code, cipher) if code else twofactor.Check.wrong
        )
        if result is not twofactor.Check.ok:
            error = (
                "That code was already used. Wait for the next one."
                if result is twofactor.Check.replayed
                else "Enter the current 6-digit code from your app."
            )
            return await self._two_factor_page(
                request, cipher, practice, status_code=422, recovery_error=error
            )
        codes = await twofactor.replace_recovery_codes(request.user.id)
        await audit.record(
            "two_factor.recovery_codes_replaced", actor_id=request.user.id, ip=client_ip(request)
        )
        return await render(
            request, "pages/profile/recovery_codes.html", {"codes": codes, "just_enabled": False}
        )

    async def _other_sessions(self, request: Request) -> int:
        sessions = await accounts.active_sessions(request.user.id)
        return sum(1 for s in sessions if s["id"] != request.user.session_id)

    @get("/login-history")
    async def login_history(self, request: Request) -> Template:
        rows = await accounts.login_history(request.user.id)
        for row in rows:
            row["device"] = devices.summary(row["user_agent"])
        return await render(request, "pages/profile/login_history.html", {"attempts": rows})

    @get("/sessions")
    async def sessions(self, request: Request, done: FromQuery[str] = "") -> Template:
        return await render(
            request,
            "pages/profile/sessions.html",
            {"sessions": await self._session_rows(request), "notice": NOTICES.get(done, "")},
            fragment="partials/profile/sessions.html",
        )

    async def _session_rows(self, request: Request) -> list[dict]:
        rows = await accounts.active_sessions(request.user.id)
        for row in rows:
            row["device"] = devices.summary(row["user_agent"])
            row["current"] = row["id"] == request.user.session_id
        return rows

    @post("/sessions/sign-out-others", status_code=200, opt=SETUP_OK)
    async def sign_out_others(self, request: Request) -> Template | Redirect:
        ended = await accounts.end_other_sessions(request.user.id, request.user.session_id)
        await audit.record(
            "session.others_ended",
            actor_id=request.user.id,
            ip=client_ip(request),
            detail={"count": ended},
        )
        context = {"sessions": await self._session_rows(request)}
        return _done(
            request, "partials/profile/sessions.html", context, "others", "/profile/sessions"
        )
