"""How a client gets a portal account: an invitation from staff, or self-registration."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.people import Client, Provider


class Invitation(Table):
    """A single-use link to set up a client's account. Only the token's SHA-256 is stored.
    Resending revokes the earlier link; five wrong dates of birth revoke it too."""

    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    email = Varchar(length=254)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    # The date of birth was given correctly: the next steps may follow.
    verified_at = Timestamptz(null=True, default=None)
    failed_checks = Integer(default=0)
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    # "resent", "too_many_tries", "deactivated": why it was revoked.
    revoked_reason = Varchar(length=20, default="")


class Registration(Table):
    """A request made at /register, kept until its email link is followed (then it becomes
    a client, status new, waiting for approval). Only the token's SHA-256 is stored."""

    token_hash = Varchar(length=64, unique=True, index=True)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    date_of_birth = Varchar(length=10)  # ISO date, checked when the request is made
    email = Varchar(length=254, index=True)
    mobile = Varchar(length=40, default="")
    preferred_provider = ForeignKey(Provider, on_delete=OnDelete.set_null, null=True)
    message = Varchar(length=2000, default="")
    ip = Varchar(length=45, default="")
    created_at = Timestamptz(index=True)
    expires_at = Timestamptz()
    verified_at = Timestamptz(null=True, default=None)
    client = ForeignKey(Client, on_delete=OnDelete.set_null, null=True)
