"""The app's request hooks that give full pages the left menu's counts (portal.core.menu).

Litestar takes one `before_request` and one `after_request` hook per layer. These are
the app's: they remember the signed-in client, then after the handler add `menu_counts`
(one query for every registered count) to a full-page template (`pages/...`) only, so
fragments, widgets, redirects and downloads pay nothing.
"""

from __future__ import annotations

from contextvars import ContextVar

from litestar import Request, Response
from litestar.response import Template

from portal.accounts.auth import CurrentUser
from portal.core.menu import counts_for
from portal.messaging import inbox
from portal.staff.access import staff_member

_reader: ContextVar[CurrentUser | None] = ContextVar("portal_menu_reader", default=None)


async def note_menu_reader(request: Request) -> None:
    """before_request: who may get counts on this response (the signed-in user, or nobody)."""
    _reader.set(request.scope.get("user"))


async def add_menu_counts(response: Response) -> Response:
    """after_request: a full page gets `menu_counts`: a client's registered counts, or a
    staff member's unread inbox (as the access policy lets them read threads)."""
    user = _reader.get()
    if (
        user is not None
        and isinstance(response, Template)
        and str(response.template_name or "").startswith("pages/")
        and "menu_counts" not in response.context
    ):
        if user.is_staff:
            staff = await staff_member(user.id, user.role)
            response.context["menu_counts"] = {"inbox": await inbox.unread_count(staff)}
        else:
            response.context["menu_counts"] = await counts_for(user.id)
    return response
