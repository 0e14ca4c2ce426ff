"""The amount rules of Make Payment, the staff's payment settings, and whose PaymentIntent
the browser may come back with."""

from __future__ import annotations

import pytest

from portal.billing import gateway, payment_settings, payments
from portal.core.crypto import Cipher
from portal.core.errors import Invalid, NotFound
from tests import factories


@pytest.mark.parametrize(
    ("text", "cents"), [("25", 2500), ("25.5", 2550), ("$1,025.00", 102500), (" 0.49 ", 49)]
)
def test_amounts_as_typed(text, cents):
    assert payments.parse_amount(text) == cents


@pytest.mark.parametrize("text", ["", "-5", "ten", "12.345", "1e3", "12345678"])
def test_what_is_not_money_is_invalid_on_the_amount_field(text):
    with pytest.raises(Invalid) as caught:
        payments.parse_amount(text)
    assert list(caught.value.errors) == ["amount"] and "dollars and cents" in caught.value.message


KEYS = {"publishable_key": "pk_x", "secret_key": "sk_x", "webhook_secret": "whsec_x"}


def test_settings_check_gives_the_credit_limit_in_cents():
    assert payment_settings.check(**KEYS, max_credit="250.00", has_secret_key=False) == 25000
    # An empty secret keeps the current one; no credit limit typed is none.
    empty = {**KEYS, "secret_key": "", "webhook_secret": ""}
    assert payment_settings.check(**empty, max_credit="", has_secret_key=True) == 0


def test_settings_check_names_every_wrong_field():
    with pytest.raises(Invalid) as caught:
        payment_settings.check(
            publishable_key="nope", secret_key="x", webhook_secret="y", max_credit="abc",
            has_secret_key=True,
        )  # fmt: skip
    assert caught.value.errors == {
        "publishable_key": "A publishable key starts with pk_.",
        "secret_key": "A secret key starts with sk_ (or rk_ for a restricted key).",
        "webhook_secret": "A webhook signing secret starts with whsec_.",
        "max_credit": "Enter an amount in dollars, like 500.00.",
    }
    with pytest.raises(Invalid) as caught:
        payment_settings.check(**{**KEYS, "secret_key": ""}, max_credit="1", has_secret_key=False)
    assert caught.value.errors == {"secret_key": "Enter the secret key."}


async def test_amount_limits_follow_the_practice(settings):
    p = await factories.practice()
    await factories.payments_configured(p, settings, max_credit_cents=1000)
    gw = await gateway.gateway(p, Cipher(settings.secret()), settings.payments)
    assert payments.try_amount("0.50", 0, gw) == 50
    assert payments.try_amount("30.00", 2000, gw) == 3000  # what is owed plus the credit
    with pytest.raises(Invalid, match="smallest payment we can take is"):
        payments.check_amount(49, 2000, gw)
    with pytest.raises(Invalid, match=r"most you can pay now is \$30\.00"):
        payments.check_amount(3001, 2000, gw)
    with pytest.raises(Invalid, match=r"most you can pay now is \$10\.00"):
        payments.check_amount(1001, -500, gw)  # a credit already: still only the limit


async def test_only_a_payment_intent_of_this_client_comes_back(settings):
    p = await factories.practice()
    await factories.payments_configured(p, settings)
    gw = await gateway.gateway(p, Cipher(settings.secret()), settings.payments)
    intent = await gw.client.v1.payment_intents.create_async(
        params={"amount": 1000, "currency": "usd", "metadata": {"portal_client": "7"}}
    )
    assert (await payments.returned_intent(gw, 7, intent.id)).id == intent.id
    for client_id, pi in ((8, intent.id), (7, "pi_nosuchintent"), (7, "seti_x"), (7, "")):
        with pytest.raises(NotFound):
            await payments.returned_intent(gw, client_id, pi)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
async def test_a_card_payment_is_posted_on_the_practice_s_date_not_utc_s(zone):
    """UTC+14 and UTC-11: at any moment one of the two is on another date than UTC, so the
    line's date would be a day off there if it were taken from UTC."""
    from zoneinfo import ZoneInfo

    from portal.core.actor import Actor
    from portal.core.clock import utcnow
    from portal.practice.info import current_practice
    from portal.tables import LedgerEntry

    practice_id = await factories.practice(time_zone=zone)
    client = await factories.client(practice_id, "alice")
    actor = Actor.system(practice=await current_practice())
    entry = await payments.record_payment(client["client_id"], "pi_zone", 1000, actor=actor)
    row = await LedgerEntry.select(LedgerEntry.entry_date).where(LedgerEntry.id == entry).first()
    assert row["entry_date"] == utcnow().astimezone(ZoneInfo(zone)).date()
