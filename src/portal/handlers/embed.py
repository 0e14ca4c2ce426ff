"""`/embed/`: a client's widgets for staff to put in their own pages (issue 16).

Three ways in, tried in this order on every request (`viewer`):

- `Authorization: Bearer pt_…`, a staff API token with the "read" scope: server-side
  fetches, read-only (no action is offered nor accepted).
- An embed frame's token (header `X-Portal-Embed`, or the `_embed` form field without
  JavaScript): the iframe `embed.js` opened with an embed session's secret
  (`POST /embed/start`). Only that session's client and widgets; actions if it allows them.
- The staff member's own portal session (the same-site way: htmx from an allow-listed
  origin, with CORS and credentials): the CSRF token is checked on every action.

Whoever it is, the staff member's rights apply (`embedding.sessions.may_open`, the
client reach of `staff.access`), a client or widget out of reach is 404, and each read is
audited as `staff.read` with the item `embed:{widget}`. Domain: `portal.embedding`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import datetime

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from portal.billing import staff_ledger
from portal.core.actor import Actor
from portal.core.assets import Assets
from portal.core.clock import utcnow
from portal.core.errors import DomainError, NotFound, Refused
from portal.core.templating import money
from portal.embedding import origins, sessions, tokens, widgets
from portal.embedding.sessions import Frame
from portal.handlers.base import client_ip, form_text, is_fragment_request, render
from portal.handlers.errors import status_of
from portal.handlers.middleware import content_security_policy
from portal.practice.info import PracticeInfo, last_known
from portal.scheduling import agenda, staff_booking
from portal.settings import Settings
from portal.staff.access import Staff, audited_read, staff_member

FRAME_HEADER = "x-portal-embed"
FRAME_FIELD = "_embed"
NO_CSRF = {"exclude_from_csrf": True}  # checked here, for the session way only
NOTICES = {"confirmed": "Confirmed.", "cancelled": "Cancelled. The client has been mailed."}


class Unauthenticated(DomainError):
    """No way in held: shown as the clear message with an "Open in the portal" link;
    `host_origin`, when known, is told of it (`portal:refused`)."""

    host_origin = ""


@dataclass(frozen=True)
class Viewer:
    staff: Staff
    way: str  # "token", "frame" or "session"
    actions: bool
    frame: Frame | None = None
    frame_token: str = ""


def embed_csrf_token(request: Request) -> str:
    """The session way's CSRF token: an HMAC of the staff member's session token, good for
    `/embed/` actions only. The portal's own CSRF token is never put in a fragment another
    origin reads: with it, that page could post to any portal route (the session cookie is
    SameSite=Lax, and a same-site form post carries it)."""
    session = request.scope.get("auth") or ""
    return embed_csrf_for(request.app.state["settings"].secret(), str(session)) if session else ""


def embed_csrf_for(secret: str, session_token: str) -> str:
    return hmac.new(
        secret.encode(), b"embed-csrf:" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def _csrf_ok(request: Request, sent: str) -> bool:
    expected = embed_csrf_token(request)
    return bool(expected and sent) and hmac.compare_digest(expected, sent)


async def viewer(request: Request, *, form: dict | None = None) -> Viewer:
    """Who is behind this request, by the first way in it carries; `form` for a post."""
    header = request.headers.get("authorization", "")
    if header:
        if form is not None:
            raise Refused("An API token reads widgets only: actions need an embed session.")
        try:
            use = await tokens.use(header, "read", what=f"GET {request.url.path}",
                                   ip=client_ip(request))  # fmt: skip
        except Refused as exc:
            raise Unauthenticated(exc.message) from exc
        return Viewer(use.staff, "token", actions=False)
    token = request.headers.get(FRAME_HEADER, "") or str((form or {}).get(FRAME_FIELD, ""))
    if token:
        try:
            f = await sessions.frame(token[:100], allowed=_allowed(request))
        except Refused as exc:
            raise Unauthenticated(exc.message) from exc
        return Viewer(f.staff, "frame", f.actions, f, token[:100])
    user = request.scope.get("user")
    if user is not None and user.is_staff:
        if user.must_set_up_two_factor:
            raise Unauthenticated("Set up two-factor sign-in in the portal first: the practice "
                                  "requires it of staff.")  # fmt: skip
        if request.headers.get("hx-request") != "true":
            # Only htmx, from a page, reads a widget this way: a link followed top-level (from
            # any site: the cookie is Lax) neither shows client data nor writes the access log.
            raise Unauthenticated("This view opens inside your practice's own pages.")
        if form is not None:
            sent = request.headers.get("x-embed-csrf", "") or str(form.get("_embed_csrf", ""))
            if not _csrf_ok(request, sent):
                raise Refused("This form has expired: reload the page and try again.")
        return Viewer(await staff_member(user.id, user.role), "session", actions=True)
    raise Unauthenticated("Sign in to the portal, or open this view from your practice's "
                          "system again: it has no valid session.")  # fmt: skip


def _allowed(request: Request) -> tuple[str, ...]:
    settings: Settings = request.app.state["settings"]
    return origins.allowed(settings.security.embed_origins, last_known())


def _base(settings: Settings) -> str:
    return settings.portal_url.rstrip("/")


async def _open(v: Viewer, client_id: int, widget: str) -> dict:
    """The client, if the viewer may open this widget of theirs (404 otherwise)."""
    if v.frame and (client_id != v.frame.client_id or widget not in v.frame.widgets):
        raise NotFound("No such widget here.")
    if widget not in sessions.WIDGETS or not sessions.may_open(v.staff, widget):
        raise NotFound("No such widget.")
    return await widgets.client_row(v.staff, client_id)


def _as_staff(v: Viewer, actor: Actor) -> Actor:
    """Who acts: the staff member behind the token or frame (the request has no user then)."""
    return replace(actor, user_id=v.staff.user_id, role=v.staff.role.value)


async def _widget_context(
    v: Viewer, client_id: int, widget: str, practice: PracticeInfo, actor: Actor, now: datetime,
) -> dict:  # fmt: skip
    """One widget's context, once the viewer may open it (404 otherwise); the read audited."""
    client = await _open(v, client_id, widget)
    part = sorted(p.value for p in sessions.WIDGETS[widget][1])[0]
    way = f"{v.way}:{v.frame.session_id}" if v.frame else v.way
    await audited_read(v.staff, client_id, part, actor, item=f"embed:{widget}:{way}")
    data = await widgets.load(widget, v.staff, client, practice, now)
    return {"client": client, "widget": widget, "title": sessions.WIDGETS[widget][0],
            "act": v.actions and widgets.may_act(v.staff),
            "pay": v.actions and widgets.may_take_payments(v.staff), **data}  # fmt: skip


def _shared(v: Viewer, settings: Settings, request: Request) -> dict:
    return {"base": _base(settings), "viewer": v, "frame_field": FRAME_FIELD,
            "fragment": is_fragment_request(request),
            "embed_csrf": embed_csrf_token(request) if v.way == "session" else ""}  # fmt: skip


class EmbedController(Controller):
    path = "/embed"

    @get("/clients/{client_id:int}/{widget:str}")
    async def widget(
        self, request: Request, client_id: FromPath[int], widget: FromPath[str],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Template:  # fmt: skip
        v = await viewer(request)
        context = await _widget_context(v, client_id, widget, practice, actor, utcnow())
        return await render(request, f"partials/embed/{widget}.html",
                            {**context, **_shared(v, settings, request)})  # fmt: skip

    # Their own routes: the router would take ".../appointments" and ".../balance" for the
    # start of the actions' paths below (a literal segment wins over {widget}) and find no
    # handler there.
    @get("/clients/{client_id:int}/balance")
    async def balance(
        self, request: Request, client_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Template:  # fmt: skip
        return await self.widget.fn(self, request, client_id, "balance", practice, actor, settings)

    @get("/clients/{client_id:int}/appointments")
    async def appointments(
        self, request: Request, client_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Template:  # fmt: skip
        return await self.widget.fn(self, request, client_id, "appointments", practice, actor,
                                    settings)  # fmt: skip

    async def _act(
        self, request, client_id, appointment_id, practice, actor, settings, act
    ) -> Response:  # noqa: ANN001, E501
        form = dict(await request.form())
        v = await viewer(request, form=form)
        if not (v.actions and widgets.may_act(v.staff)):
            raise Refused("This view is read-only: it cannot change appointments.")
        now = utcnow()
        await _open(v, client_id, "appointments")
        row = await agenda.one(v.staff, practice.id, appointment_id)
        if row["client"] != client_id:
            raise NotFound("That appointment was not found.")
        staff_actor = _as_staff(v, actor)
        extra: dict = {}
        status, headers = 200, {}
        try:
            name = await act(v.staff, form, now, staff_actor)
            extra["notice"] = NOTICES[name]
            headers["HX-Trigger"] = json.dumps(  # on the body: the button is swapped away
                {f"portal:{name}": {"target": "body", "appointment": appointment_id}}
            )
        except DomainError as exc:
            if status_of(exc) == 404:
                raise
            extra["error"], status = exc.message or " ".join(exc.errors.values()), status_of(exc)
            extra["typed"] = {"reason": form_text(form, "reason", 600), "id": appointment_id}
        context = await _widget_context(v, client_id, "appointments", practice, actor, now)
        template = "partials/embed/appointments.html"
        if not is_fragment_request(request) and v.frame:  # a frame without JavaScript
            return await self._frame_page(request, v, practice, actor, settings, now,
                                          extra={"appointments": extra}, status_code=status)  # fmt: skip
        return await render(request, template, {**context, **extra, **_shared(v, settings, request)},
                            status_code=status, headers=headers)  # fmt: skip

    @post("/clients/{client_id:int}/appointments/{appointment_id:int}/confirm", status_code=200,
          opt=NO_CSRF)  # fmt: skip
    async def confirm(
        self, request: Request, client_id: FromPath[int], appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        async def act(staff: Staff, form: dict, now: datetime, who: Actor) -> str:
            await staff_booking.confirm(staff, appointment_id, now=now, actor=who)
            return "confirmed"

        return await self._act(request, client_id, appointment_id, practice, actor, settings, act)

    @post("/clients/{client_id:int}/appointments/{appointment_id:int}/cancel", status_code=200,
          opt=NO_CSRF)  # fmt: skip
    async def cancel(
        self, request: Request, client_id: FromPath[int], appointment_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        async def act(staff: Staff, form: dict, now: datetime, who: Actor) -> str:
            reason = str(form.get("reason", ""))[: staff_booking.REASON_MAX + 100]
            await staff_booking.cancel(staff, appointment_id, reason, now=now, actor=who)
            return "cancelled"

        return await self._act(request, client_id, appointment_id, practice, actor, settings, act)

    @post("/clients/{client_id:int}/balance/payments", status_code=200, opt=NO_CSRF)
    async def record_payment(
        self, request: Request, client_id: FromPath[int],
        practice: NamedDependency[PracticeInfo], actor: NamedDependency[Actor],
        settings: NamedDependency[Settings],
    ) -> Response:  # fmt: skip
        """A payment taken at the desk (cash, cheque, a card outside the portal), recorded
        from the balance widget; the host hears `portal:paid`."""
        form = dict(await request.form())
        v = await viewer(request, form=form)
        if not (v.actions and widgets.may_take_payments(v.staff)):
            raise Refused("This view cannot record payments.")
        now = utcnow()
        await _open(v, client_id, "balance")
        typed = {k: form_text(form, k, n) for k, n in (("amount", 30), ("method", 20),
                                                       ("reference", 200))}  # fmt: skip
        staff_actor = _as_staff(v, actor)
        extra: dict = {}
        status, headers = 200, {}
        try:
            entry = await staff_ledger.post_desk_payment(client_id, typed, tz=practice.time_zone,
                                                         actor=staff_actor)  # fmt: skip
        except DomainError as exc:
            status = status_of(exc)
            extra = {"error": exc.message or "Check the payment's fields.", "errors": exc.errors,
                     "typed": typed}  # fmt: skip
        else:
            cents = staff_ledger.parse_amount(typed["amount"])
            extra["notice"] = f"Payment of {money(cents)} recorded."
            headers["HX-Trigger"] = json.dumps(
                {"portal:paid": {"target": "body", "cents": cents, "entry": entry}}
            )
        if not is_fragment_request(request) and v.frame:  # a frame without JavaScript
            return await self._frame_page(request, v, practice, actor, settings, now,
                                          extra={"balance": extra}, status_code=status)  # fmt: skip
        context = await _widget_context(v, client_id, "balance", practice, actor, now)
        return await render(request, "partials/embed/balance.html",
                            {**context, **extra, **_shared(v, settings, request)},
                            status_code=status, headers=headers)  # fmt: skip

    async def _frame_page(
        self, request: Request, v: Viewer, practice: PracticeInfo, actor: Actor,
        settings: Settings, now: datetime, *, extra: dict | None = None, status_code: int = 200,
    ) -> Template:  # fmt: skip
        assert v.frame is not None
        shown = []
        for widget in v.frame.widgets:
            context = await _widget_context(v, v.frame.client_id, widget, practice, actor, now)
            shown.append({**context, **(extra or {}).get(widget, {})})
        csp = content_security_policy(frame_ancestors=v.frame.origin)
        return await render(
            request, "pages/embed/frame.html",
            {"shown": shown, "frame": v.frame, **_shared(v, settings, request),
             "fragment": False, "theme": v.frame.theme},
            status_code=status_code, headers={"content-security-policy": csp},
        )  # fmt: skip

    @post("/start", status_code=200, opt=NO_CSRF)
    async def start(
        self, request: Request, practice: NamedDependency[PracticeInfo],
        actor: NamedDependency[Actor], settings: NamedDependency[Settings],
    ) -> Template:  # fmt: skip
        """The iframe's first request: `embed.js` posts the session's secret (never in a URL)."""
        form = await request.form()
        secret = form_text(form, "secret", 100)
        host = await sessions.origin_of_secret(secret)
        sent = request.headers.get("origin", "")
        try:
            if sent not in ("", "null", host):  # spent from another site's page: refused
                raise Refused(sessions.EXPIRED)
            token = await sessions.redeem(secret)
            f = await sessions.frame(token, allowed=_allowed(request))
        except Refused as exc:
            refusal = Unauthenticated(exc.message)
            refusal.host_origin = host if host in _allowed(request) else ""
            raise refusal from exc
        v = Viewer(f.staff, "frame", f.actions, f, token)
        return await self._frame_page(request, v, practice, actor, settings, utcnow())

    # Cache-Control by hand: Litestar's response cache (`cache=`) would keep one encoding.
    @get("/embed.js", opt={"exclude_from_auth": True})
    async def script(self, request: Request, assets: NamedDependency[Assets]) -> Response:
        """The host pages' script at a stable URL (the fingerprinted one changes)."""
        asset = assets.by_name["embed.js"]
        body, encoding = asset.body_for(request.headers.get("accept-encoding", ""))
        headers = {"content-type": asset.media_type, "vary": "accept-encoding",
                   "cache-control": "public, max-age=3600"}  # fmt: skip
        if encoding:
            headers["content-encoding"] = encoding
        return Response(body, headers=headers)

    @get("/theme.css")
    async def theme(self, request: Request) -> Response:
        """The frame's theme as CSS variables, from the session's checked values only."""
        values = sessions.theme_variables(request.query_params.get("t", "")[:300])
        body = ":root{" + ";".join(f"{k}:{v}" for k, v in values.items()) + "}\n"
        return Response(
            body, media_type="text/css", headers={"cache-control": "public, max-age=3600"}
        )


def embed_error(request: Request, exc: DomainError) -> Template:
    """Why a view cannot open, in a few words and a link to the portal: never the portal's
    own error page nor a sign-in form inside someone else's page."""
    settings: Settings = request.app.state["settings"]
    status = 401 if isinstance(exc, Unauthenticated) else status_of(exc)
    headers = {"cache-control": "no-store"}
    if status == 401 and "authorization" in request.headers:
        headers["www-authenticate"] = 'Bearer realm="portal"'
    return Template(
        template_name="pages/embed/refused.html",
        context={"message": exc.message or "This view cannot open.", "base": _base(settings),
                 "practice": last_known(), "host_origin": getattr(exc, "host_origin", ""),
                 "fragment": is_fragment_request(request) or "authorization" in request.headers},
        status_code=status, headers=headers,
    )  # fmt: skip


EmbedController.exception_handlers = {DomainError: embed_error}
CONTROLLERS: list = [EmbedController]
