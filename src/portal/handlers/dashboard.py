"""The client's dashboard."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from portal.clients import client_for_user, display_name
from portal.handlers.base import render, signed_in


class DashboardController(Controller):
    path = "/"
    guards = [signed_in]

    @get("/")
    async def dashboard(self, request: Request) -> Template | Redirect:
        if request.user.is_staff:
            return Redirect("/staff", status_code=303)
        client = await client_for_user(request.user.id)
        if client is None:
            raise NotFoundException("No client record is linked to this account.")
        return await render(
            request, "pages/dashboard.html", {"client": client, "name": display_name(client)}
        )
