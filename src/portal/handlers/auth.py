"""Sign in (password, then the two-factor code when on), sign out, password reset."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts import auth as accounts
from portal.accounts import password_reset, rechecks, signin
from portal.core import audit
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.core.errors import Invalid
from portal.handlers.base import client_ip, form_text, render, safe_next, user_agent
from portal.practice.info import PracticeInfo
from portal.settings import Settings

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


def expired_cookie(name: str, settings: Settings) -> Cookie:
    """The deletion of a cookie of ours, with the attributes it was set with: a browser
    ignores a deletion of a `Secure` (`__Host-`) cookie that is not itself `Secure`."""
    cookie = _cookie(name, "", settings, max_age=0)
    cookie.expires = 0
    return cookie


def end_session_cookie(response: Response, settings: Settings) -> Response:
    """Delete the session cookie on `response` (sign-out, an ended sign-in)."""
    response.set_cookie(expired_cookie(session_cookie_name(settings), settings))
    return response


# Why the sign-in page was reached, by key (a link cannot put words in the page).
LOGIN_NOTICES = {
    "done": "Your password was changed. Sign in with the new one.",
    "rechecks": rechecks.NOTICE,
}


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
        self,
        request: Request,
        next: FromQuery[str] = "",
        reset: FromQuery[str] = "",
        ended: FromQuery[str] = "",
    ) -> Template | Redirect:
        if request.user is not None:
            return Redirect(safe_next(next, home_for(request.user)), status_code=303)
        notice = LOGIN_NOTICES["done"] if reset == "done" else ""
        if ended == "rechecks":
            notice = LOGIN_NOTICES["rechecks"]
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
        target = safe_next(str(form.get("next", "")), "")
        try:
            user = await signin.check_password(
                username, str(form.get("password", "")), ip=client_ip(request),
                user_agent=user_agent(request), security=settings.security,
                device_token=request.cookies.get(device_cookie_name(settings), ""),
            )  # fmt: skip
        except Invalid as exc:
            return await render(
                request,
                "pages/accounts/login.html",
                {"errors": exc.messages, "username": username, "next": target},
                status_code=422,
            )
        old = request.cookies.get(session_cookie_name(settings))
        if old:
            await accounts.end_session(old)
        step = await signin.after_password(user, signin_context(request, settings, practice))
        return step_response(step, settings, target, user)

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
            return end_session_cookie(response, settings)
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
        return end_session_cookie(Redirect("/login", status_code=303), settings)

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
        # The same answer, as fast, whether or not an account matches: what differs (the
        # link, its mail) is done after the answer has gone (`background`).
        deliver = await password_reset.request(identifier, actor)
        response = await render(
            request, "pages/accounts/password_reset_request.html", {"sent": RESET_SENT}
        )
        response.background = BackgroundTask(deliver)
        return response

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
        try:
            done = await password_reset.complete(token, password, again, actor)
        except Invalid as exc:
            return await render(
                request,
                "pages/accounts/password_reset_form.html",
                {"token": token, "errors": [exc.message]},
                status_code=422,
            )
        if done is None:  # the link is unknown, used or expired
            return await render(
                request,
                "pages/accounts/password_reset_form.html",
                {"token": token, "invalid": True},
                status_code=410,
            )
        return Redirect("/login?reset=done", status_code=303)
