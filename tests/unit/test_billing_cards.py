"""Which card a payment charges, and whether it stays on file: `billing.cards.choose`.
Adding and removing a card on file. Against localstripe, as the http tests are."""

from __future__ import annotations

import pytest

from portal.billing import cards, gateway
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.core.errors import Invalid, NotFound
from portal.tables import AuditEvent, SavedCard
from tests import factories
from tests.http.test_payments import VISA, stripe_js_sets_up


async def setup(settings, username: str = "alice"):
    p = await factories.practice()
    await factories.payments_configured(p, settings)
    gw = await gateway.gateway(p, Cipher(settings.secret()), settings.payments)
    c = await factories.client(p, username)
    actor = Actor(c["user_id"], "client", "203.0.113.7", "", None)
    return gw, {"id": c["client_id"]}, actor


async def new_card(gw, client, localstripe) -> str:
    """A SetupIntent confirmed in the browser (by Stripe.js) with a card: its id."""
    return await stripe_js_sets_up(localstripe, await gateway.start_setup(gw, client), VISA)


@pytest.mark.parametrize("save", [True, False])
async def test_a_new_card_is_charged_and_kept_only_if_asked(settings, localstripe, save):
    gw, client, _ = await setup(settings)
    seti = await new_card(gw, client, localstripe)
    chosen = await cards.choose(gw, client, choice="new", setup_intent=seti, save=save)
    assert chosen.payment_method_id.startswith("pm_") and chosen.keep is save
    assert await SavedCard.count() == (1 if save else 0)


async def test_a_saved_card_is_charged_and_stays(settings, localstripe):
    gw, client, actor = await setup(settings)
    await cards.add(gw, client, await new_card(gw, client, localstripe), actor=actor)
    [card] = await cards.cards(client["id"])
    chosen = await cards.choose(gw, client, choice=str(card["id"]), setup_intent="", save=False)
    assert chosen == cards.ChosenCard(card["payment_method_id"], keep=True)


async def test_no_card_or_someone_elses_is_no_choice(settings, localstripe):
    gw, alice, actor = await setup(settings)
    await cards.add(gw, alice, await new_card(gw, alice, localstripe), actor=actor)
    [card] = await cards.cards(alice["id"])
    mallory = {"id": (await factories.client(await factories.practice(), "mallory"))["client_id"]}
    for choice in (str(card["id"]), "", "0"):
        with pytest.raises(Invalid) as caught:
            await cards.choose(gw, mallory, choice=choice, setup_intent="", save=True)
        assert caught.value.errors == {"card": "Choose a card, or enter a new one."}


async def test_a_new_card_needs_a_setup_of_this_client(settings, localstripe):
    gw, alice, _ = await setup(settings)
    seti = await new_card(gw, alice, localstripe)
    bob = {"id": (await factories.client(await factories.practice(), "bob"))["client_id"]}
    for client, setup_intent in ((bob, seti), (alice, "not-a-setup"), (alice, "")):
        with pytest.raises(Invalid, match="could not be set up"):
            await cards.choose(gw, client, choice="new", setup_intent=setup_intent, save=True)
    assert await SavedCard.count() == 0


async def test_adding_and_removing_are_audited_and_scoped(settings, localstripe):
    gw, client, actor = await setup(settings)
    await cards.add(gw, client, await new_card(gw, client, localstripe), actor=actor)
    [card] = await cards.cards(client["id"])
    with pytest.raises(NotFound):
        await cards.remove(gw, client["id"] + 1, card["id"], actor=actor)
    await cards.remove(gw, client["id"], card["id"], actor=actor)
    assert await SavedCard.count() == 0
    events = await AuditEvent.select().order_by(AuditEvent.id)
    assert [(e["action"], e["actor"], e["ip"]) for e in events] == [
        ("payments.settings_changed", events[0]["actor"], ""),
        ("card.added", actor.user_id, actor.ip),
        ("card.removed", actor.user_id, actor.ip),
    ]
