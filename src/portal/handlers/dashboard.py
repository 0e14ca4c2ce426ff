"""The client's dashboard: four widgets inline on the first load, each also served alone."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.clients import display_name
from portal.core.clock import utcnow
from portal.dashboard import widgets as dashboard
from portal.handlers.base import is_fragment_request, provide_client, render, signed_in
from portal.practice.info import PracticeInfo


class DashboardController(Controller):
    path = "/"
    guards = [signed_in]

    @get("/")
    async def dashboard(
        self, request: Request, practice: NamedDependency[PracticeInfo], done: FromQuery[str] = ""
    ) -> Template | Redirect:
        if request.user.is_staff:
            return Redirect("/staff", status_code=303)
        client = await provide_client(request)
        now = utcnow()
        context = await dashboard.load_all(
            client=client, user=request.user, practice=practice, now=now
        )
        notice = await dashboard.done_notice(
            done[:40], client=client, visits=context["visits"], practice=practice, now=now
        )
        page = {"client": client, "name": display_name(client), "practice": practice}
        return await render(
            request, "pages/dashboard/index.html", {**page, **context, "done_notice": notice}
        )

    @get("/dashboard/widgets/{name:str}", dependencies={"client": Provide(provide_client)})
    async def widget(
        self,
        request: Request,
        name: FromPath[str],
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
    ) -> Template:
        if name not in dashboard.WIDGETS:
            raise NotFoundException()
        context = await dashboard.load(
            name, client=client, user=request.user, practice=practice, now=utcnow()
        )
        return Template(
            template_name=f"partials/dashboard/{name.replace('-', '_')}.html",
            context={"practice": practice, **context},
        )

    @post(
        "/dashboard/two-factor-prompt/dismiss",
        status_code=200,
        dependencies={"client": Provide(provide_client)},
    )
    async def dismiss_two_factor_prompt(
        self, request: Request, client: NamedDependency[dict]
    ) -> Template | Redirect:
        await dashboard.snooze_two_factor_prompt(request.user.id, utcnow())
        if is_fragment_request(request):
            return Template(
                template_name="partials/dashboard/two_factor.html",
                context={"show_prompt": False, "dismissed": True},
            )
        return Redirect("/", status_code=303)
