"""The mail outbox: written in the transaction of the action that causes the mail."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboxMail(Table):
    to_address = Varchar(length=254)
    subject = Varchar(length=200)
    body = Text()
    # Why it was sent (e.g. "new_device"): for operators, never content.
    kind = Varchar(length=40, default="")
    created_at = Timestamptz()
    # Not to be tried before this time (retries back off).
    send_after = Timestamptz(index=True)
    attempts = Integer(default=0)
    last_error = Text(default="")
    # A worker's lease: others leave the row alone until it expires.
    claimed_by = Varchar(length=64, default="")
    claimed_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None, index=True)
    # Set when retries are exhausted.
    failed_at = Timestamptz(null=True, default=None)
