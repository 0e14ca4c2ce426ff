"""Sign in and sign out."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from portal import accounts, audit
from portal.handlers.base import client_ip, render, safe_next, user_agent
from portal.settings import Settings
from portal.tables.accounts import LoginOutcome

FAILED = "That username and password do not match an active account."
LOCKED = "Too many unsuccessful attempts. Wait {minutes} minutes, then try again."


def session_cookie_name(settings: NamedDependency[Settings]) -> str:
    return "__Host-portal_session" if settings.https else "portal_session"


def home_for(user: dict | accounts.CurrentUser) -> str:
    role = user["role"] if isinstance(user, dict) else user.role.value
    return "/" if role == "client" else "/staff"


class AuthController(Controller):
    path = ""

    @get("/login")
    async def login_page(self, request: Request, next: FromQuery[str] = "") -> Template | Redirect:
        if request.user is not None:
            return Redirect(safe_next(next, home_for(request.user)), status_code=303)
        return await render(
            request, "pages/login.html", {"next": safe_next(next, ""), "username": ""}
        )

    @post("/login", status_code=303)
    async def login(
        self, request: Request, settings: NamedDependency[Settings]
    ) -> Template | Redirect:
        form = await request.form()
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", "")), "")
        errors: list[str] = []
        if not username:
            errors.append("Enter your username.")
        if not password:
            errors.append("Enter your password.")
        if len(password) > 1024 or len(username) > 150:
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
                return await self._signed_in(request, settings, result.user, target)
            if result.outcome is LoginOutcome.locked:
                errors.append(LOCKED.format(minutes=sec.throttle_window_minutes))
            else:
                errors.append(FAILED)
        return await render(
            request,
            "pages/login.html",
            {"errors": errors, "username": username, "next": target},
            status_code=422,
        )

    async def _signed_in(
        self, request: Request, settings: Settings, user: dict, target: str
    ) -> Redirect:
        cookie_name = session_cookie_name(settings)
        old = request.cookies.get(cookie_name)
        if old:
            await accounts.end_session(old)
        token = await accounts.start_session(
            user["id"], ip=client_ip(request), user_agent=user_agent(request)
        )
        return Redirect(
            target or home_for(user),
            status_code=303,
            cookies=[
                Cookie(
                    key=cookie_name,
                    value=token,
                    path="/",
                    httponly=True,
                    secure=settings.https,
                    samesite="lax",
                )
            ],
        )

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
