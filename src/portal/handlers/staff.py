"""Staff pages: the staff home (staff/home.py) and payment processing."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from portal.billing import payment_settings
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.crypto import Cipher
from portal.core.errors import Invalid
from portal.handlers.base import form_text, render, staff_only
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo
from portal.staff.access import Staff
from portal.staff.home import home_view
from portal.tables.accounts import Role


class StaffController(Controller):
    path = "/staff"
    guards = [staff_only]

    @get("/")
    async def home(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        staff: NamedDependency[Staff],
    ) -> Template:
        return await render(
            request,
            "pages/staff/home.html",
            {"practice": practice, "home": await home_view(staff, practice, utcnow())},
        )


async def owner_or_manager(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    await staff_only(connection, handler)
    if connection.user.role not in (Role.owner, Role.manager):
        raise PermissionDeniedException("Only the practice's owner or a manager can change this.")


async def not_biller(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The agenda and availability: every staff role but the biller."""
    await staff_only(connection, handler)
    if connection.user.role is Role.biller:
        raise PermissionDeniedException(
            "The agenda and availability are kept by providers, schedulers and managers."
        )


class PaymentSettingsController(Controller):
    """Practice settings → Billing → Payment processing (owner or manager)."""

    path = "/staff/settings/payments"
    guards = [owner_or_manager]

    async def _page(
        self, request, practice, *, errors=None, typed=None, notice="", status_code=200
    ):  # noqa: ANN001, ANN202
        return await render(
            request,
            "pages/staff/payments.html",
            {
                "practice": practice,
                "current": await payment_settings.settings_view(practice.id),
                "errors": errors or {},
                "typed": typed or {},
                "notice": notice,
            },
            status_code=status_code,
        )

    @get("/")
    async def show(
        self, request: Request, practice: NamedDependency[PracticeInfo], done: FromQuery[str] = ""
    ) -> Template:
        return await self._page(
            request,
            practice,
            notice="Payment processing settings saved." if done == "saved" else "",
        )

    @post("/", status_code=303)
    async def save(
        self,
        request: Request,
        practice: NamedDependency[PracticeInfo],
        cipher: NamedDependency[Cipher],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await request.form()
        typed = {
            "publishable_key": form_text(form, "publishable_key", 200),
            "max_credit": form_text(form, "max_credit", 20),
        }
        try:
            await payment_settings.change(
                practice.id,
                cipher,
                publishable_key=typed["publishable_key"],
                secret_key=form_text(form, "secret_key", 300),
                webhook_secret=form_text(form, "webhook_secret", 300),
                max_credit=typed["max_credit"],
                actor=actor,
            )
        except Invalid as exc:
            return await self._page(
                request, practice, errors=exc.errors, typed=typed, status_code=status_of(exc)
            )
        return Redirect("/staff/settings/payments?done=saved", status_code=303)
