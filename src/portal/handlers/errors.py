"""Errors as HTML: a whole page, or a fragment for htmx (which swaps every status)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template

from portal.core.errors import Conflict, DomainError, Invalid, NotFound, Refused
from portal.handlers.base import is_fragment_request
from portal.practice.info import last_known

log = logging.getLogger("portal")

TITLES = {
    400: "That request could not be understood",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not available here",
    409: "That could not be done",
    413: "That is too much to send at once",
    422: "Please check what you entered",
    429: "Too many requests",
    500: "Something went wrong on our side",
}


# The one mapping of domain errors (portal.core.errors) to HTTP statuses.
STATUS: dict[type[DomainError], int] = {Invalid: 422, NotFound: 404, Conflict: 409, Refused: 403}


def status_of(exc: DomainError) -> int:
    """The HTTP status for a domain error: handlers re-rendering a form use it too."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def domain_error(request: Request, exc: DomainError) -> Response:
    """A domain error no handler caught: the error page or fragment with its message."""
    return _page_or_fragment(request, status_of(exc), exc.message)


def _page_or_fragment(request: Request, status: int, message: str) -> Template:
    name = (
        "partials/shared/error.html" if is_fragment_request(request) else "pages/shared/error.html"
    )
    title = TITLES.get(status, "Something went wrong")
    return Template(
        template_name=name,
        # The practice's name in the header, as on every other page (not "Client portal").
        context={"status": status, "title": title, "message": message, "practice": last_known()},
        status_code=status,
    )


def not_signed_in(request: Request, exc: NotAuthorizedException) -> Response:
    """Send the browser to sign in; htmx follows HX-Redirect instead of swapping a fragment."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request") == "true":
        current = request.headers.get("hx-current-url", "")
        path = "/" + current.split("/", 3)[3] if current.count("/") >= 3 else "/"
        location = f"/login?next={quote(path, safe='/')}"
        return Response(b"", status_code=401, headers={"HX-Redirect": location})
    return Redirect(f"/login?next={quote(target, safe='/')}", status_code=303)


def _send_to(request: Request, location: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=403, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)


def two_factor_setup_required(request: Request, exc: Exception) -> Response:
    return _send_to(request, "/profile/two-factor")


def terms_acceptance_required(request: Request, exc: Exception) -> Response:
    return _send_to(request, "/terms/accept")


def http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) and status < 500 else ""
    if detail == TITLES.get(status) or detail in {"Not Found", "Forbidden"}:
        detail = ""
    headers = getattr(exc, "headers", None) or {}
    response = _page_or_fragment(request, status, detail)
    response.headers.update(headers)
    return response


def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _page_or_fragment(request, 500, "")
