"""Make Payment (/pay), cards on file (/account/cards) and the Stripe webhook."""

from __future__ import annotations

import json

import stripe
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.clients import provide_client
from portal.billing import ledger, payments
from portal.billing.payments import Gateway, PaymentError
from portal.core import audit
from portal.core.crypto import Cipher
from portal.handlers.base import client_ip, form_text, is_fragment_request, render, signed_in
from portal.practice.info import PracticeInfo
from portal.settings import Settings

# Sent after a payment so the balance widget and the tasks refresh themselves.
LEDGER_CHANGED = json.dumps({"ledger-changed": {"target": "body"}})


async def provide_gateway(
    practice: NamedDependency[PracticeInfo],
    cipher: NamedDependency[Cipher],
    settings: NamedDependency[Settings],
) -> Gateway | None:
    return await payments.gateway(practice.id, cipher, settings.payments)


def _portal_url(settings: Settings) -> str:
    return settings.server.public_url.rstrip("/")


class PayController(Controller):
    path = "/pay"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client), "gateway": Provide(provide_gateway)}

    async def _page(
        self, request: Request, client: dict, practice: PracticeInfo, gw: Gateway | None, settings: Settings,
        *, amount: str | None = None, error: str = "", field: str = "", status_code: int = 200,
        action_secret: str = "",
    ) -> Template:  # fmt: skip
        balance = await ledger.balance(client["id"])
        context = {
            "practice": practice,
            "client": client,
            "balance": balance,
            "available": gw is not None,
            "cards": await payments.cards(client["id"]) if gw else [],
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
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        gateway: NamedDependency[Gateway | None], settings: NamedDependency[Settings],
    ) -> Template:  # fmt: skip
        return await self._page(request, client, practice, gateway, settings)

    @post("/setup")
    async def setup(
        self, request: Request, client: NamedDependency[dict], gateway: NamedDependency[Gateway | None],
    ) -> Response:  # fmt: skip
        """For Stripe.js: check the amount first, then a SetupIntent for the new card."""
        if gateway is None:
            return Response({"error": "Online payment is not available."}, status_code=409)
        form = await request.form()
        try:
            if form.get("amount") is not None:
                payments.try_amount(
                    form_text(form, "amount", 20), await payments.owed(client["id"]), gateway
                )
            secret = await payments.start_setup(gateway, client)
        except PaymentError as exc:
            return Response({"error": exc.message}, status_code=422)
        except stripe.StripeError:
            return Response(
                {"error": "The card form could not be prepared. Please try again."}, status_code=502
            )
        return Response({"client_secret": secret}, status_code=200)

    @post("/", status_code=200)
    async def pay(
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        gateway: NamedDependency[Gateway | None], settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        form = await request.form()
        amount_text = form_text(form, "amount", 20)
        if gateway is None:
            return await self._page(request, client, practice, None, settings, status_code=409)
        try:
            cents = payments.try_amount(amount_text, await payments.owed(client["id"]), gateway)
            choice = form_text(form, "card", 20)
            save = form.get("save") == "yes"
            if choice == "new":
                pm = await payments.card_from_setup(
                    gateway, client, form_text(form, "setup_intent", 120)
                )
                if save:
                    await payments.save_card(client["id"], pm)
                payment_method_id = pm.id
            else:
                card = next(
                    (c for c in await payments.cards(client["id"]) if str(c["id"]) == choice), None
                )
                if card is None:
                    raise PaymentError("Choose a card, or enter a new one.", "card")
                payment_method_id = card["payment_method_id"]
            outcome = await payments.pay(
                gateway, client, key=form_text(form, "key", 64), cents=cents, payment_method_id=payment_method_id,
                save=save or choice != "new", practice_name=practice.name, portal_url=_portal_url(settings),
                actor_id=request.user.id, ip=client_ip(request),
            )  # fmt: skip
        except PaymentError as exc:
            return await self._page(
                request, client, practice, gateway, settings, amount=amount_text, error=exc.message, field=exc.field,
                status_code=422,
            )  # fmt: skip
        return await self._after(request, client, practice, gateway, settings, outcome, amount_text)

    async def _after(self, request, client, practice, gateway, settings, outcome, amount_text):  # noqa: ANN001, ANN202
        if outcome.status == "succeeded":
            if is_fragment_request(request):
                return Template(
                    template_name="partials/billing/pay_done.html",
                    context={
                        "entry_id": outcome.ledger_entry_id,
                        "balance": await ledger.balance(client["id"]),
                    },
                    headers={"HX-Trigger": LEDGER_CHANGED},
                )
            return Redirect(f"/account/receipts/{outcome.ledger_entry_id}", status_code=303)
        if outcome.status == "requires_action":
            return await self._page(
                request,
                client,
                practice,
                gateway,
                settings,
                amount=amount_text,
                action_secret=outcome.client_secret,
            )
        if outcome.status == "pending":
            return await self._page(
                request, client, practice, gateway, settings, amount=amount_text, status_code=202,
                error="Your payment is being processed. Check My Account in a minute before paying again.",
            )  # fmt: skip
        return await self._page(
            request,
            client,
            practice,
            gateway,
            settings,
            amount=amount_text,
            error=outcome.error,
            status_code=422,
        )

    @get("/return")
    async def back_from_authentication(
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        gateway: NamedDependency[Gateway | None], settings: NamedDependency[Settings],
        payment_intent: FromQuery[str] = "",
    ) -> Template | Redirect:  # fmt: skip
        """The browser's return after the bank's check: the PaymentIntent decides."""
        if gateway is None or not payment_intent.startswith("pi_"):
            raise NotFoundException()
        try:
            intent = await gateway.client.v1.payment_intents.retrieve_async(payment_intent[:100])
        except stripe.InvalidRequestError as exc:
            raise NotFoundException() from exc
        if getattr(intent.metadata, "portal_client", None) != str(client["id"]):
            raise NotFoundException()
        outcome = await payments.settle(
            gateway, client["id"], intent, practice_name=practice.name, portal_url=_portal_url(settings),
            actor_id=request.user.id, ip=client_ip(request),
        )  # fmt: skip
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
                "cards": await payments.cards(client["id"]) if gateway else [],
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
        self, request: Request, client: NamedDependency[dict], gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        notice = {"added": "Your card was saved.", "removed": "The card was removed."}.get(done, "")
        return await self._page(request, client, gateway, settings, notice=notice)

    @post("/setup")
    async def setup(
        self, client: NamedDependency[dict], gateway: NamedDependency[Gateway | None]
    ) -> Response:
        """For Stripe.js: a SetupIntent for the card being added."""
        if gateway is None:
            return Response({"error": "Online payment is not available."}, status_code=409)
        try:
            return Response(
                {"client_secret": await payments.start_setup(gateway, client)}, status_code=200
            )
        except stripe.StripeError:
            return Response(
                {"error": "The card form could not be prepared. Please try again."}, status_code=502
            )

    @post("/", status_code=303)
    async def add(
        self, request: Request, client: NamedDependency[dict], gateway: NamedDependency[Gateway | None],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        if gateway is None:
            return await self._page(request, client, gateway, settings, status_code=409)
        form = await request.form()
        try:
            pm = await payments.card_from_setup(
                gateway, client, form_text(form, "setup_intent", 120)
            )
        except PaymentError as exc:
            return await self._page(
                request, client, gateway, settings, error=exc.message, status_code=422
            )
        await payments.save_card(client["id"], pm)
        await audit.record(
            "card.added",
            actor_id=request.user.id,
            ip=client_ip(request),
            detail={"last4": pm.card.last4},
        )
        return Redirect("/account/cards?done=added", status_code=303)

    @post("/{card_id:int}/remove", status_code=303)
    async def remove(
        self, request: Request, card_id: FromPath[int], client: NamedDependency[dict],
        gateway: NamedDependency[Gateway | None], settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        if gateway is None or not await payments.remove_card(gateway, client["id"], card_id):
            raise NotFoundException()
        await audit.record(
            "card.removed",
            actor_id=request.user.id,
            ip=client_ip(request),
            subject=f"card:{card_id}",
        )
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
    request: Request, gateway: NamedDependency[Gateway | None], practice: NamedDependency[PracticeInfo],
    settings: NamedDependency[Settings],
) -> Response:  # fmt: skip
    if gateway is None:
        return Response({"error": "payments are not configured"}, status_code=503)
    payload = await request.body()
    try:
        outcome = await payments.handle_webhook(
            gateway, payload, request.headers.get("stripe-signature", ""),
            practice_name=practice.name, portal_url=_portal_url(settings),
        )  # fmt: skip
    except payments.WebhookRejected as exc:
        return Response({"error": str(exc)}, status_code=400)
    return Response({"received": True, "outcome": outcome}, status_code=200)
