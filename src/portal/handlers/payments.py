"""Make Payment (/pay), cards on file (/account/cards) and the Stripe webhook."""

from __future__ import annotations

import json

import stripe
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.billing import cards, ledger, payments, webhooks
from portal.billing.gateway import Gateway, start_setup
from portal.billing.gateway import gateway as practice_gateway
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.core.errors import Invalid
from portal.handlers.base import form_text, is_fragment_request, provide_client, render, signed_in
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo
from portal.settings import Settings

# Sent after a payment so the balance widget and the tasks refresh themselves.
LEDGER_CHANGED = json.dumps({"ledger-changed": {"target": "body"}})
NOT_AVAILABLE = {"error": "Online payment is not available."}
NOT_PREPARED = {"error": "The card form could not be prepared. Please try again."}


async def provide_gateway(
    practice: NamedDependency[PracticeInfo],
    cipher: NamedDependency[Cipher],
    settings: NamedDependency[Settings],
) -> Gateway | None:
    return await practice_gateway(practice.id, cipher, settings.payments)


class PayController(Controller):
    path = "/pay"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client), "gateway": Provide(provide_gateway)}

    async def _page(
        self,
        request: Request,
        client: dict,
        practice: PracticeInfo,
        gw: Gateway | None,
        settings: Settings,
        *,
        amount: str | None = None,
        error: str = "",
        field: str = "",
        status_code: int = 200,
        action_secret: str = "",
    ) -> Template:
        balance = await ledger.balance(client["id"])
        context = {
            "practice": practice,
            "client": client,
            "balance": balance,
            "available": gw is not None,
            "cards": await cards.cards(client["id"]) if gw else [],
            "amount": amount
            if amount is not None
            else (f"{balance.owed / 100:.2f}" if balance.owed else ""),
            "key": payments.new_form_key(),
            "error": error,
            "error_field": field,
            "publishable_key": gw.publishable_key if gw else "",
            "stripe_js_url": settings.payments.stripe_js_url,
            "max_credit": gw.max_credit_cents if gw else 0,
            "action_secret": action_secret,
        }
        return await render(
            request,
            "pages/billing/pay.html",
            context,
            fragment="partials/billing/pay_form.html",
            status_code=status_code,
        )

    @get("/")
    async def pay_page(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings],
    ) -> Template:
        return await self._page(request, client, practice, gateway, settings)

    @post("/setup")
    async def setup(
        self,
        request: Request,
        client: NamedDependency[dict],
        gateway: NamedDependency[Gateway | None],
    ) -> Response:
        """For Stripe.js: check the amount first, then a SetupIntent for the new card."""
        if gateway is None:
            return Response(NOT_AVAILABLE, status_code=409)
        form = await request.form()
        try:
            if form.get("amount") is not None:
                payments.try_amount(
                    form_text(form, "amount", 20), await payments.owed(client["id"]), gateway
                )
            secret = await start_setup(gateway, client)
        except Invalid as exc:
            return Response({"error": exc.message}, status_code=status_of(exc))
        except stripe.StripeError:
            return Response(NOT_PREPARED, status_code=502)
        return Response({"client_secret": secret}, status_code=200)

    @post("/", status_code=200)
    async def pay(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await request.form()
        amount_text = form_text(form, "amount", 20)
        if gateway is None:
            return await self._page(request, client, practice, None, settings, status_code=409)
        try:
            cents = payments.try_amount(amount_text, await payments.owed(client["id"]), gateway)
            card = await cards.choose(
                gateway,
                client,
                choice=form_text(form, "card", 20),
                setup_intent=form_text(form, "setup_intent", 120),
                save=form.get("save") == "yes",
            )
            outcome = await payments.pay(
                gateway, client, key=form_text(form, "key", 64), cents=cents, card=card, actor=actor
            )
        except Invalid as exc:
            return await self._page(
                request,
                client,
                practice,
                gateway,
                settings,
                amount=amount_text,
                error=exc.message,
                field=next(iter(exc.errors), ""),
                status_code=status_of(exc),
            )
        return await self._after(request, client, practice, gateway, settings, outcome, amount_text)

    async def _after(self, request, client, practice, gateway, settings, outcome, amount_text):  # noqa: ANN001, ANN202
        if outcome.status == "succeeded":
            if is_fragment_request(request):
                return Template(
                    template_name="partials/billing/pay_done.html",
                    context={
                        "entry_id": outcome.ledger_entry_id,
                        "balance": await ledger.balance(client["id"]),
                        "practice": practice,
                    },
                    headers={"HX-Trigger": LEDGER_CHANGED},
                )
            # The receipt, unless the practice keeps receipts from clients: then My Account.
            if practice.offers("receipts"):
                return Redirect(f"/account/receipts/{outcome.ledger_entry_id}", status_code=303)
            return Redirect("/account", status_code=303)
        page = (request, client, practice, gateway, settings)
        if outcome.status == "requires_action":
            return await self._page(*page, amount=amount_text, action_secret=outcome.client_secret)
        if outcome.status == "pending":
            return await self._page(
                *page,
                amount=amount_text,
                status_code=202,
                error="Your payment is being processed. Check My Account in a minute before "
                "paying again.",
            )
        return await self._page(*page, amount=amount_text, error=outcome.error, status_code=422)

    @get("/return")
    async def back_from_authentication(
        self,
        request: Request,
        client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo],
        gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings],
        actor: NamedDependency[Actor],
        payment_intent: FromQuery[str] = "",
    ) -> Template | Redirect:
        """The browser's return after the bank's check: the PaymentIntent decides."""
        if gateway is None:
            raise NotFoundException()
        intent = await payments.returned_intent(gateway, client["id"], payment_intent)
        outcome = await payments.settle(gateway, client["id"], intent, actor=actor)
        return await self._after(
            request, client, practice, gateway, settings, outcome, f"{intent.amount / 100:.2f}"
        )


class CardsController(Controller):
    path = "/account/cards"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client), "gateway": Provide(provide_gateway)}

    async def _page(
        self, request, client, gateway, settings, *, error="", status_code=200, notice=""
    ):  # noqa: ANN001, ANN202
        return await render(
            request,
            "pages/billing/cards.html",
            {
                "cards": await cards.cards(client["id"]) if gateway else [],
                "available": gateway is not None,
                "publishable_key": gateway.publishable_key if gateway else "",
                "stripe_js_url": settings.payments.stripe_js_url,
                "error": error,
                "notice": notice,
            },
            fragment="partials/billing/cards.html",
            status_code=status_code,
        )

    @get("/")
    async def cards(
        self,
        request: Request,
        client: NamedDependency[dict],
        gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings],
        done: FromQuery[str] = "",
    ) -> Template:
        notice = {"added": "Your card was saved.", "removed": "The card was removed."}.get(done, "")
        return await self._page(request, client, gateway, settings, notice=notice)

    @post("/setup")
    async def setup(
        self, client: NamedDependency[dict], gateway: NamedDependency[Gateway | None]
    ) -> Response:
        """For Stripe.js: a SetupIntent for the card being added."""
        if gateway is None:
            return Response(NOT_AVAILABLE, status_code=409)
        try:
            return Response({"client_secret": await start_setup(gateway, client)}, status_code=200)
        except stripe.StripeError:
            return Response(NOT_PREPARED, status_code=502)

    @post("/", status_code=303)
    async def add(
        self,
        request: Request,
        client: NamedDependency[dict],
        gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:
        if gateway is None:
            return await self._page(request, client, gateway, settings, status_code=409)
        form = await request.form()
        try:
            await cards.add(gateway, client, form_text(form, "setup_intent", 120), actor=actor)
        except Invalid as exc:
            return await self._page(
                request, client, gateway, settings, error=exc.message, status_code=status_of(exc)
            )
        return Redirect("/account/cards?done=added", status_code=303)

    @post("/{card_id:int}/remove", status_code=303)
    async def remove(
        self,
        request: Request,
        card_id: FromPath[int],
        client: NamedDependency[dict],
        gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings],
        actor: NamedDependency[Actor],
    ) -> Template | Redirect:
        if gateway is None:
            raise NotFoundException()
        await cards.remove(gateway, client["id"], card_id, actor=actor)
        if is_fragment_request(request):
            return await self._page(
                request, client, gateway, settings, notice="The card was removed."
            )
        return Redirect("/account/cards?done=removed", status_code=303)


@post(
    "/webhooks/stripe",
    status_code=200,
    opt={"exclude_from_csrf": True, "exclude_from_auth": True},
    dependencies={"gateway": Provide(provide_gateway)},
)
async def stripe_webhook(
    request: Request,
    gateway: NamedDependency[Gateway | None],
    practice: NamedDependency[PracticeInfo],
    settings: NamedDependency[Settings],
) -> Response:
    """Stripe's calls: JSON answers, and 400 for one that does not verify (Stripe retries)."""
    if gateway is None:
        return Response({"error": "payments are not configured"}, status_code=503)
    try:
        outcome = await webhooks.handle_webhook(
            gateway,
            await request.body(),
            request.headers.get("stripe-signature", ""),
            actor=Actor.system(settings.portal_url, practice),
        )
    except Invalid as exc:
        return Response({"error": exc.message}, status_code=400)
    return Response({"received": True, "outcome": outcome}, status_code=200)
