"""Shared by every handler: guards, rendering a page or its fragment, the client's address."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from portal.accounts.auth import CurrentUser
from portal.core import pdf
from portal.core.actor import Actor
from portal.practice.info import PracticeInfo, current_practice
from portal.settings import Settings
from portal.staff.access import Staff, staff_member


class TwoFactorSetupRequired(Exception):
    """The practice requires two-factor and this user has not set it up yet."""


class TermsAcceptanceRequired(Exception):
    """New terms of service were published since this client last accepted them."""


# Guards are coroutines: Litestar runs a plain function guard in a worker thread,
# one thread hop per request for a check that reads two attributes.
async def signed_in(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthorizedException()
    if connection.user.must_set_up_two_factor and not handler.opt.get("before_two_factor_setup"):
        raise TwoFactorSetupRequired()
    if connection.user.must_accept_terms and not handler.opt.get("before_terms"):
        raise TermsAcceptanceRequired()


async def client_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    await signed_in(connection, handler)
    if connection.user.is_staff:
        raise PermissionDeniedException("This page is for clients.")


async def staff_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    await signed_in(connection, handler)
    if not connection.user.is_staff:
        raise PermissionDeniedException("This page is for practice staff.")


def is_fragment_request(request: Request) -> bool:
    """htmx asking for a part of the page (not a boosted or history navigation)."""
    h = request.headers
    return (
        h.get("hx-request") == "true"
        and h.get("hx-history-restore-request") != "true"
        and h.get("hx-request-type", "partial") == "partial"
    )


async def render(
    request: Request,
    page: str,
    context: Mapping[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Template:
    """One handler, two transports: the fragment for htmx, the whole page otherwise."""
    name = fragment if fragment and is_fragment_request(request) else page
    context = dict(context or {})
    if "practice" not in context:
        context["practice"] = await current_practice()
    return Template(
        template_name=name,
        context=context,
        status_code=status_code,
        headers=dict(headers or {}),
    )


def client_ip(request: Request) -> str:
    """The client's IP address, normalised; empty when what the server saw is not one.

    The peer's address, or the one a trusted proxy forwarded (`server.trusted_proxies`,
    applied by uvicorn). Anything else that ends up there (a proxy passing a client's own
    header through) is never stored or counted as an address.
    """
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # no IPv6 zone ("%eth0")
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:300]


def current_user(request: Request) -> CurrentUser:
    return request.user


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never `//evil.example` or `https://...`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def form_text(form, name: str, max_length: int) -> str:  # noqa: ANN001 - a FormMultiDict
    """A trimmed text field, cut at `max_length` (the page's maxlength says the same)."""
    return str(form.get(name, "")).strip()[:max_length]


async def done(
    request: Request, redirect_to: str, fragment: Callable[[], Awaitable[Response]]
) -> Response:
    """A form post that worked: the re-rendered fragment for htmx, else post/redirect/get (303)."""
    if is_fragment_request(request):
        return await fragment()
    return Redirect(redirect_to, status_code=303)


def wants_download(request: Request) -> bool:
    """A "Download" link asks for the file to be saved: `?download=1` on a document's URL."""
    return request.query_params.get("download", "") in ("1", "true", "yes")


def content_disposition(filename: str, *, inline: bool) -> str:
    """`inline` (shown in the browser) or `attachment` (saved), with a plain ASCII file name."""
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_. ") else "-" for ch in filename
    )
    return f'{"inline" if inline else "attachment"}; filename="{safe.strip() or "document.pdf"}"'


async def pdf_response(
    request: Request, template: str, context: Mapping[str, Any], filename: str, *, inline: bool
) -> Response:
    """A PDF rendered from `template`, shown in the browser (`inline`) or saved, never cached.

    `?download=1` on the request always saves it (the "Download" link next to a "View" one).
    """
    html = request.app.template_engine.get_template(template).render(**context)
    disposition = content_disposition(filename, inline=inline and not wants_download(request))
    return Response(
        await pdf.render(html),
        media_type="application/pdf",
        headers={
            "content-disposition": disposition,
            "cache-control": "no-store",
        },
    )


async def provide_actor(
    request: Request,
    settings: NamedDependency[Settings],
    practice: NamedDependency[PracticeInfo | None],
) -> Actor:
    """The `actor` dependency: who is acting in this request, for domain writes."""
    user = request.scope.get("user")
    return Actor(
        user_id=user.id if user is not None else None,
        role=user.role.value if user is not None else "anonymous",
        ip=client_ip(request),
        portal_url=settings.portal_url,
        practice=practice,
    )


async def provide_staff(request: Request) -> Staff:
    """The signed-in staff member as the access policy sees them (a dependency, `staff`)."""
    user = request.scope.get("user")
    if user is None or not user.is_staff:
        raise PermissionDeniedException("This page is for practice staff.")
    return await staff_member(user.id, user.role)


async def provide_client(request: Request) -> dict:
    """The signed-in client's record (a dependency for client pages), read with the session."""
    if request.user.is_staff:
        raise PermissionDeniedException("This page is for clients.")
    client = request.user.client
    if client is None:
        raise NotFoundException("No client record is linked to this account.")
    return client
