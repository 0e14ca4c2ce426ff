"""Payment processing settings (staff: owner or manager): the practice's Stripe keys.

Secrets are stored encrypted and never shown again: the page shows their last
four characters. An empty secret field keeps the current secret.
"""

from __future__ import annotations

from portal.billing.payments import parse_amount
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.crypto import Cipher
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.practice import info as practice_info
from portal.tables import PaymentSettings


def check(
    *,
    publishable_key: str,
    secret_key: str,
    webhook_secret: str,
    max_credit: str,
    has_secret_key: bool,
) -> int:
    """The keys as typed, checked by their prefixes; the credit limit in cents (else Invalid)."""
    errors = {}
    if not publishable_key.startswith("pk_"):
        errors["publishable_key"] = "A publishable key starts with pk_."
    if secret_key and not secret_key.startswith(("sk_", "rk_")):
        errors["secret_key"] = "A secret key starts with sk_ (or rk_ for a restricted key)."
    if not secret_key and not has_secret_key:
        errors["secret_key"] = "Enter the secret key."
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        errors["webhook_secret"] = "A webhook signing secret starts with whsec_."
    try:
        max_credit_cents = parse_amount(max_credit or "0")
    except Invalid:
        errors["max_credit"] = "Enter an amount in dollars, like 500.00."
        max_credit_cents = 0
    if errors:
        raise Invalid(errors=errors)
    return max_credit_cents


async def change(
    practice_id: int,
    cipher: Cipher,
    *,
    publishable_key: str,
    secret_key: str,
    webhook_secret: str,
    max_credit: str,
    actor: Actor,
) -> None:
    """The settings form: check what was typed (Invalid, field by field), then save it."""
    current = await settings_view(practice_id)
    max_credit_cents = check(
        publishable_key=publishable_key,
        secret_key=secret_key,
        webhook_secret=webhook_secret,
        max_credit=max_credit,
        has_secret_key=bool(current["secret_key_hint"]),
    )
    await save_settings(
        practice_id,
        cipher,
        publishable_key=publishable_key,
        secret_key=secret_key,
        webhook_secret=webhook_secret,
        max_credit_cents=max_credit_cents,
        actor=actor,
    )


async def save_settings(
    practice_id: int,
    cipher: Cipher,
    *,
    publishable_key: str,
    secret_key: str,
    webhook_secret: str,
    max_credit_cents: int,
    actor: Actor,
) -> None:
    """Store the keys; an empty secret keeps the current one. Secrets are encrypted."""
    values: dict = {
        PaymentSettings.publishable_key: publishable_key,
        PaymentSettings.max_credit_cents: max_credit_cents,
        PaymentSettings.updated_at: utcnow(),
        PaymentSettings.updated_by: actor.user_id,
    }
    changed = ["publishable_key", "max_credit_cents"]
    if secret_key:
        values[PaymentSettings.secret_key] = cipher.encrypt(secret_key)
        values[PaymentSettings.secret_key_hint] = secret_key[-4:]
        changed.append("secret_key")
    if webhook_secret:
        values[PaymentSettings.webhook_secret] = cipher.encrypt(webhook_secret)
        values[PaymentSettings.webhook_secret_hint] = webhook_secret[-4:]
        changed.append("webhook_secret")
    async with write_transaction():
        exists = await PaymentSettings.exists().where(PaymentSettings.practice == practice_id)
        if not exists:
            await PaymentSettings.insert(PaymentSettings(practice=practice_id))
        await PaymentSettings.update(values).where(PaymentSettings.practice == practice_id)
        await audit.record(
            "payments.settings_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            detail={"changed": changed},
        )
    practice_info.changed()  # the dashboard now offers (or no longer offers) to pay by card


async def settings_view(practice_id: int) -> dict:
    """What the settings page shows: never a secret, only its last four characters."""
    row = (
        await PaymentSettings.select(
            PaymentSettings.publishable_key,
            PaymentSettings.secret_key_hint,
            PaymentSettings.webhook_secret_hint,
            PaymentSettings.max_credit_cents,
            PaymentSettings.updated_at,
        )
        .where(PaymentSettings.practice == practice_id)
        .first()
    )
    return row or {
        "publishable_key": "",
        "secret_key_hint": "",
        "webhook_secret_hint": "",
        "max_credit_cents": 50000,
        "updated_at": None,
    }
