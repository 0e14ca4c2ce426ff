"""The app's request hooks that give a client's full pages the left menu's counts (portal.core.menu).

Litestar takes one `before_request` and one `after_request` hook per layer. These are
the app's: they remember the signed-in client, then after the handler add `menu_counts`
(one query for every registered count) to a full-page template (`pages/...`) only, so
fragments, widgets, redirects and downloads pay nothing.
"""

from __future__ import annotations

from contextvars import ContextVar

from litestar import Request, Response
from litestar.response import Template

from portal.core.menu import counts_for

_client_user: ContextVar[int | None] = ContextVar("portal_menu_client", default=None)


async def note_menu_reader(request: Request) -> None:
    """before_request: who may get counts on this response (a signed-in client, or nobody)."""
    user = request.scope.get("user")
    _client_user.set(user.id if user is not None and not user.is_staff else None)


async def add_menu_counts(response: Response) -> Response:
    """after_request: a client's full page gets `menu_counts`."""
    user_id = _client_user.get()
    if (
        user_id is not None
        and isinstance(response, Template)
        and str(response.template_name or "").startswith("pages/")
        and "menu_counts" not in response.context
    ):
        response.context["menu_counts"] = await counts_for(user_id)
    return response
