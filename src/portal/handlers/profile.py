"""My Profile: its overview and section pages, and the account's sign-in and security settings.

Every section of My Profile is a page of its own (`/profile/<slug>`, the list in
`portal.profile.page`): the whole page normally, the section area's fragment
(with the menu, out of band) for htmx following a menu link. Each form is a
fragment that htmx swaps in place, and a plain form that posts and redirects
to its section's page without JavaScript. The rules are in `portal.profile.security`
and `portal.accounts.users.change_username`; a wrong entry is re-rendered in
place with its messages (422). Too many wrong passwords or codes end the session
(`accounts.rechecks`): the browser goes to the sign-in page, which says why.
"""

from __future__ import annotations

from dataclasses import asdict

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from portal.accounts import rechecks, users
from portal.accounts.auth import normalise_username
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.core.errors import Invalid
from portal.handlers.auth import end_session_cookie
from portal.handlers.base import done, form_text, render, signed_in
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo
from portal.profile import page, security
from portal.settings import Settings

SETUP_OK = {"before_two_factor_setup": True}

# What a finished change says. Redirects carry the key, never the text, so a
# crafted link cannot put words in the page.
NOTICES = {
    "username": "Your username was changed.",
    "password": "Your password was changed. Every other device was signed out.",
    "two-factor-off": "Two-factor sign-in is off.",
    "others": "You were signed out of every other session.",
}
ACCOUNT_URL = page.ACCOUNT.url


async def show_section(
    request: Request,
    section: page.Section,
    context: dict,
    *,
    notice: str = "",
    fragment: str = "partials/profile/section.html",
    status_code: int = 200,
) -> Template:
    """A section of My Profile: the whole page, or for htmx `fragment` (by default the
    section area with the menu out of band; a form's own card after a post)."""
    return await render(
        request,
        "pages/profile/section.html",
        page.section_page(section, {**context, "notice": notice}),
        fragment=fragment,
        status_code=status_code,
    )


def _signed_out(request: Request, settings: Settings) -> Response:
    """The session ended after too many wrong re-checks: to the sign-in page, which says why
    (htmx follows HX-Redirect rather than swapping a form into the card)."""
    location = "/login?ended=rechecks"
    if request.headers.get("hx-request") == "true":
        response = Response(b"", status_code=401, headers={"HX-Redirect": location})
    else:
        response = Redirect(location, status_code=303)
    return end_session_cookie(response, settings)


async def _done(
    request: Request, fragment: str, context: dict, notice: str, page_url: str = "/profile"
) -> Response:
    """Success: the re-rendered fragment for htmx, a redirect (post/redirect/get) otherwise."""

    async def render_fragment() -> Template:
        return Template(template_name=fragment, context={**context, "notice": NOTICES[notice]})

    return await done(request, f"{page_url}?done={notice}", render_fragment)


class ProfileController(Controller):
    path = "/profile"
    guards = [signed_in]

    @get("/")
    async def profile(self, request: Request, done: FromQuery[str] = "") -> Response:
        """The overview; an old no-JS redirect's `?done=` goes on to its section's page."""
        if done in page.NOTICES:
            section = page.DETAILS[page.NOTICES[done][0]]
            return Redirect(f"{section.url}?done={done}", status_code=303)
        if done in ("username", "password"):
            return Redirect(f"{ACCOUNT_URL}?done={done}", status_code=303)
        user = request.user
        context = {"client": None if user.is_staff else user.client}
        return await show_section(request, page.OVERVIEW, context, notice=NOTICES.get(done, ""))

    @get("/username-password")
    async def username_password(self, request: Request, done: FromQuery[str] = "") -> Template:
        notice = NOTICES[done] if done in ("username", "password") else ""
        context = {"account": {"username": request.user.username}}
        return await show_section(request, page.ACCOUNT, context, notice=notice)

    @post("/username", status_code=200)
    async def change_username(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Response:
        form = await request.form()
        typed = form_text(form, "username", 150)
        password = str(form.get("current_password", ""))[:1024]
        try:
            new = await users.change_username(request.user, typed, password, actor)
        except rechecks.SignedOut:
            return _signed_out(request, settings)
        except Invalid as exc:
            return await show_section(
                request,
                page.ACCOUNT,
                {
                    "account": {"username": request.user.username},
                    "typed_username": normalise_username(typed),
                    "username_errors": exc.errors,
                },
                fragment="partials/profile/username.html",
                status_code=status_of(exc),
            )
        context = {"account": {"username": new}}
        return await _done(
            request, "partials/profile/username.html", context, "username", ACCOUNT_URL
        )

    @post("/password", status_code=200)
    async def change_password(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Response:
        form = await request.form()
        try:
            await security.change_password(
                request.user,
                str(form.get("current_password", ""))[:1024],
                str(form.get("new_password", "")),
                str(form.get("new_password_again", "")),
                actor,
            )
        except rechecks.SignedOut:
            return _signed_out(request, settings)
        except Invalid as exc:
            return await show_section(
                request,
                page.ACCOUNT,
                {"account": {"username": request.user.username}, "password_errors": exc.errors},
                fragment="partials/profile/password.html",
                status_code=status_of(exc),
            )
        return await _done(request, "partials/profile/password.html", {}, "password", ACCOUNT_URL)

    @get("/two-factor", opt=SETUP_OK)
    async def two_factor(
        self,
        request: Request,
        cipher: NamedDependency[Cipher],
        practice: NamedDependency[PracticeInfo | None],
    ) -> Template:
        return await _two_factor_page(request, cipher, practice)

    @post("/two-factor/enable", opt=SETUP_OK, status_code=200)
    async def enable_two_factor(
        self, request: Request, cipher: NamedDependency[Cipher], actor: NamedDependency[Actor]
    ) -> Template:
        form = await request.form()
        code = form_text(form, "code", 20)
        try:
            codes = await security.turn_on_two_factor(request.user, code, cipher, actor)
        except Invalid as exc:
            return await _two_factor_page(
                request, cipher, actor.practice, exc, code_error=exc.errors["code"]
            )
        sessions = await security.sessions(request.user)
        return await render(
            request,
            "pages/profile/recovery_codes.html",
            {
                "codes": codes,
                "just_enabled": True,
                "other_sessions": sum(1 for s in sessions if not s["current"]),
            },
        )

    @post("/two-factor/disable", status_code=303)
    async def disable_two_factor(
        self,
        request: Request,
        cipher: NamedDependency[Cipher],
        actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Response:
        form = await request.form()
        password = str(form.get("password", ""))[:1024]
        code = form_text(form, "code", 40)
        try:
            await security.turn_off_two_factor(request.user, password, code, cipher, actor)
        except rechecks.SignedOut:
            return _signed_out(request, settings)
        except Invalid as exc:
            return await _two_factor_page(
                request, cipher, actor.practice, exc, disable_errors=exc.errors
            )
        return Redirect("/profile?done=two-factor-off", status_code=303)

    @post("/two-factor/recovery-codes", status_code=200)
    async def new_recovery_codes(
        self,
        request: Request,
        cipher: NamedDependency[Cipher],
        actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Response:
        form = await request.form()
        code = form_text(form, "code", 20)
        try:
            codes = await security.new_recovery_codes(request.user, code, cipher, actor)
        except rechecks.SignedOut:
            return _signed_out(request, settings)
        except Invalid as exc:
            return await _two_factor_page(
                request, cipher, actor.practice, exc, recovery_error=exc.errors["code"]
            )
        return await render(
            request, "pages/profile/recovery_codes.html", {"codes": codes, "just_enabled": False}
        )

    @get("/login-history")
    async def login_history(self, request: Request) -> Template:
        rows = await security.login_history(request.user)
        return await render(request, "pages/profile/login_history.html", {"attempts": rows})

    @get("/sessions")
    async def sessions(self, request: Request, done: FromQuery[str] = "") -> Template:
        return await render(
            request,
            "pages/profile/sessions.html",
            {"sessions": await security.sessions(request.user), "notice": NOTICES.get(done, "")},
            fragment="partials/profile/sessions.html",
        )

    @post("/sessions/sign-out-others", status_code=200, opt=SETUP_OK)
    async def sign_out_others(self, request: Request, actor: NamedDependency[Actor]) -> Response:
        await security.sign_out_others(request.user, actor)
        context = {"sessions": await security.sessions(request.user)}
        return await _done(
            request, "partials/profile/sessions.html", context, "others", "/profile/sessions"
        )


async def _two_factor_page(
    request: Request,
    cipher: Cipher,
    practice: PracticeInfo | None,
    exc: Invalid | None = None,
    **extra: object,
) -> Template:
    """The two-factor page; after a wrong entry, with its message and the error's status."""
    state = await security.two_factor_state(request.user, practice, cipher)
    return await render(
        request,
        "pages/profile/two_factor.html",
        {**asdict(state), **extra},
        status_code=status_of(exc) if exc else 200,
    )
