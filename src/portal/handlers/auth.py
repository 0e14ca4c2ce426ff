"""Sign in (password, then the two-factor code when on), sign out, password reset."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts import auth as accounts
from portal.accounts import password_reset, signin
from portal.accounts.passwords import password_problem
from portal.core import audit
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.handlers.base import client_ip, form_text, render, safe_next, user_agent
from portal.practice.info import PracticeInfo
from portal.settings import Settings
from portal.tables.accounts import LoginOutcome

FAILED = "That username and password do not match an active account."
LOCKED = "Too many unsuccessful attempts. Wait {minutes} minutes, then try again."
RESET_SENT = (
    "If an account matches, we have sent its email address a link to choose a new "
    "password. The link works for 30 minutes. Check your spam folder if nothing arrives."
)


def session_cookie_name(settings: Settings) -> str:
    return "__Host-portal_session" if settings.https else "portal_session"


def device_cookie_name(settings: Settings) -> str:
    return "__Host-portal_device" if settings.https else "portal_device"


def _cookie(name: str, value: str, settings: Settings, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        path="/",
        httponly=True,
        secure=settings.https,
        samesite="lax",
        max_age=max_age,
    )


def home_for(user: dict | accounts.CurrentUser) -> str:
    role = user["role"] if isinstance(user, dict) else user.role.value
    return "/" if role == "client" else "/staff"


def signin_context(
    request: Request, settings: Settings, practice: PracticeInfo | None
) -> signin.Context:
    from zoneinfo import ZoneInfo

    return signin.Context(
        ip=client_ip(request),
        user_agent=user_agent(request),
        device_token=request.cookies.get(device_cookie_name(settings), ""),
        practice_name=practice.name if practice else "Client portal",
        two_factor_policy=practice.two_factor_policy if practice else "staff",
        portal_url=settings.portal_url,
        time_zone=practice.time_zone if practice else ZoneInfo("UTC"),
    )


def step_response(step: signin.Step, settings: Settings, target: str, user: dict) -> Redirect:
    """Where a finished (or half-finished) sign-in goes, with its cookies."""
    if step.two_factor:
        location = "/login/two-factor" + (f"?next={target}" if target else "")
    elif step.needs_setup:
        location = "/profile/two-factor"
    else:
        location = target or home_for(user)
    cookies = [_cookie(session_cookie_name(settings), step.session_token, settings)]
    if step.device_token:
        from portal.accounts.devices import COOKIE_MAX_AGE

        cookies.append(
            _cookie(device_cookie_name(settings), step.device_token, settings, COOKIE_MAX_AGE)
        )
    return Redirect(location, status_code=303, cookies=cookies)


class AuthController(Controller):
    path = ""

    @get("/login")
    async def login_page(
        self, request: Request, next: FromQuery[str] = "", reset: FromQuery[str] = ""
    ) -> Template | Redirect:
        if request.user is not None:
            return Redirect(safe_next(next, home_for(request.user)), status_code=303)
        notice = "Your password was changed. Sign in with the new one." if reset == "done" else ""
        return await render(
            request,
            "pages/accounts/login.html",
            {"next": safe_next(next, ""), "username": "", "notice": notice},
        )

    @post("/login", status_code=303)
    async def login(
        self,
        request: Request,
        settings: NamedDependency[Settings],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template | Redirect:
        form = await request.form()
        username = form_text(form, "username", 150)
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", "")), "")
        errors: list[str] = []
        if not username:
            errors.append("Enter your username.")
        if not password:
            errors.append("Enter your password.")
        if len(password) > 1024:
            errors = [FAILED]
        if not errors:
            sec = settings.security
            result = await accounts.authenticate(
                username,
                password,
                ip=client_ip(request),
                user_agent=user_agent(request),
                throttle=accounts.Throttle(
                    sec.max_failures_per_account,
                    sec.max_failures_per_ip,
                    timedelta(minutes=sec.throttle_window_minutes),
                ),
            )
            if result.ok:
                old = request.cookies.get(session_cookie_name(settings))
                if old:
                    await accounts.end_session(old)
                ctx = signin_context(request, settings, practice)
                step = await signin.after_password(result.user, ctx)
                return step_response(step, settings, target, result.user)
            if result.outcome is LoginOutcome.locked:
                errors.append(LOCKED.format(minutes=sec.throttle_window_minutes))
            else:
                errors.append(FAILED)
        return await render(
            request,
            "pages/accounts/login.html",
            {"errors": errors, "username": username, "next": target},
            status_code=422,
        )

    @get("/login/two-factor")
    async def code_page(
        self, request: Request, settings: NamedDependency[Settings], next: FromQuery[str] = ""
    ) -> Template | Redirect:
        token = request.cookies.get(session_cookie_name(settings), "")
        if not token or await signin.pending_user(token) is None:
            return Redirect("/login", status_code=303)
        return await render(
            request, "pages/accounts/login_two_factor.html", {"next": safe_next(next, "")}
        )

    @post("/login/two-factor", status_code=303)
    async def code(
        self,
        request: Request,
        settings: NamedDependency[Settings],
        practice: NamedDependency[PracticeInfo | None],
        cipher: NamedDependency[Cipher],
    ) -> Template | Redirect:
        form = await request.form()
        code = form_text(form, "code", 40)
        remember = form.get("remember") == "yes"
        target = safe_next(str(form.get("next", "")), "")
        token = request.cookies.get(session_cookie_name(settings), "")
        if not code:
            return await render(
                request,
                "pages/accounts/login_two_factor.html",
                {
                    "errors": ["Enter the 6-digit code from your app, or a recovery code."],
                    "next": target,
                    "remember": remember,
                },
                status_code=422,
            )
        result = await signin.after_code(
            token,
            code,
            remember,
            signin_context(request, settings, practice),
            cipher,
            timedelta(minutes=settings.security.throttle_window_minutes),
        )
        if result.expired:
            response = await render(
                request,
                "pages/accounts/login.html",
                {
                    "errors": [result.error or "That sign-in took too long. Please sign in again."],
                    "username": "",
                    "next": target,
                },
                status_code=422,
            )
            response.delete_cookie(session_cookie_name(settings), path="/")
            return response
        if result.error:
            return await render(
                request,
                "pages/accounts/login_two_factor.html",
                {"errors": [result.error], "next": target, "remember": remember},
                status_code=422,
            )
        return step_response(result.step, settings, target, result.user)

    @post("/logout", status_code=303)
    async def logout(self, request: Request, settings: NamedDependency[Settings]) -> Redirect:
        cookie_name = session_cookie_name(settings)
        token = request.cookies.get(cookie_name)
        if token:
            if request.user is not None:
                await audit.record("session.end", actor_id=request.user.id, ip=client_ip(request))
            await accounts.end_session(token)
        response = Redirect("/login", status_code=303)
        response.delete_cookie(cookie_name, path="/")
        return response

    @get("/password-reset")
    async def reset_request_page(self, request: Request) -> Template:
        return await render(
            request, "pages/accounts/password_reset_request.html", {"identifier": ""}
        )

    @post("/password-reset", status_code=200)
    async def reset_request(self, request: Request, actor: NamedDependency[Actor]) -> Template:
        form = await request.form()
        identifier = form_text(form, "identifier", 254)
        if not identifier:
            return await render(
                request,
                "pages/accounts/password_reset_request.html",
                {"errors": ["Enter your username or email address."], "identifier": ""},
                status_code=422,
            )
        await password_reset.request(identifier, actor)
        return await render(
            request, "pages/accounts/password_reset_request.html", {"sent": RESET_SENT}
        )

    @get("/password-reset/{token:str}")
    async def reset_page(self, request: Request, token: FromPath[str]) -> Template:
        valid = await password_reset.valid_reset(token) is not None
        return await render(
            request,
            "pages/accounts/password_reset_form.html",
            {"token": token, "invalid": not valid},
            status_code=200 if valid else 410,
        )

    @post("/password-reset/{token:str}", status_code=303)
    async def reset(
        self, request: Request, token: FromPath[str], actor: NamedDependency[Actor]
    ) -> Template | Redirect:
        form = await request.form()
        password = str(form.get("password", ""))
        again = str(form.get("password_again", ""))
        reset = await password_reset.valid_reset(token)
        if reset is None:
            return await render(
                request,
                "pages/accounts/password_reset_form.html",
                {"token": token, "invalid": True},
                status_code=410,
            )
        username = await accounts.username_of(reset["user"])
        problem = (
            password_problem(password, username=username) if password else "Enter a new password."
        )
        if not problem and password != again:
            problem = "The two passwords are not the same."
        if problem:
            return await render(
                request,
                "pages/accounts/password_reset_form.html",
                {"token": token, "errors": [problem]},
                status_code=422,
            )
        if await password_reset.complete(token, password, actor) is None:
            return await render(
                request,
                "pages/accounts/password_reset_form.html",
                {"token": token, "invalid": True},
                status_code=410,
            )
        return Redirect("/login?reset=done", status_code=303)
