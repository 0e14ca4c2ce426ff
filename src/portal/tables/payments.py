"""Card payments through Stripe: settings, customers, saved cards, attempts, webhook events."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.ledger import LedgerEntry
from portal.tables.people import Client
from portal.tables.practice import Practice


class PaymentSettings(Table):
    practice = ForeignKey(Practice, on_delete=OnDelete.cascade, null=False, unique=True)
    publishable_key = Varchar(length=200, default="")
    # Encrypted with the app's key (portal.core.crypto); never shown back in full.
    secret_key = Text(default="")
    webhook_secret = Text(default="")
    # Shown in place of the secrets: their last four characters.
    secret_key_hint = Varchar(length=8, default="")
    webhook_secret_hint = Varchar(length=8, default="")
    # Largest credit a client may build up by paying more than they owe.
    max_credit_cents = Integer(default=50000)
    updated_at = Timestamptz(null=True, default=None)
    updated_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)


class StripeCustomer(Table):
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, unique=True)
    customer_id = Varchar(length=100, unique=True)


class SavedCard(Table):
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, index=True)
    payment_method_id = Varchar(length=100, unique=True)
    brand = Varchar(length=30)
    last4 = Varchar(length=4)
    exp_month = Integer()
    exp_year = Integer()
    created_at = Timestamptz()


class PaymentAttempt(Table):
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False, index=True)
    # One per rendered payment form: a double click or a retry reuses it.
    idempotency_key = Varchar(length=64, unique=True)
    amount_cents = Integer()
    payment_intent_id = Varchar(length=100, null=True, default=None, unique=True)
    payment_method_id = Varchar(length=100, default="")
    save_card = Varchar(length=3, default="no")
    status = Varchar(length=20, default="pending")  # pending, requires_action, succeeded, failed
    error = Varchar(length=300, default="")
    created_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)
    ledger_entry = ForeignKey(LedgerEntry, on_delete=OnDelete.restrict, null=True)


class StripeEvent(Table):
    """Each webhook event once: its id is unique, written with the event's effect."""

    event_id = Varchar(length=100, unique=True)
    type = Varchar(length=100)
    received_at = Timestamptz()
    # "payment recorded", "failure recorded", "ignored", or "unprocessable" (then `error`
    # says why: a verified event that cannot be applied is kept for staff, not retried).
    outcome = Varchar(length=200, default="")
    error = Varchar(length=300, default="")


class RefundAttempt(Table):
    """A refund of a card payment through Stripe, one per rendered refund form: a double
    click or a retry reuses its idempotency key, and its ledger line is written once, by
    whichever of the API answer and the `charge.refunded`/`refund.*` webhook comes first
    (the ledger's external_id is the Stripe refund id, unique)."""

    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False, index=True)
    payment = ForeignKey(LedgerEntry, on_delete=OnDelete.restrict, null=False, index=True)
    idempotency_key = Varchar(length=64, unique=True)
    amount_cents = Integer()
    reason = Varchar(length=300, default="")
    refund_id = Varchar(length=100, null=True, default=None, unique=True)
    status = Varchar(length=20, default="pending")  # pending, succeeded, failed
    error = Varchar(length=300, default="")
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)
    # How often the refund was sent to Stripe, and when last: a refund Stripe did not answer
    # is looked for at Stripe before it is sent again, each time with a new key (Stripe keeps
    # a key's first answer, a 500 included).
    sends = Integer(default=1)
    sent_at = Timestamptz(null=True, default=None)
