"""Staff API tokens and embed sessions: how an internal system's server, and the iframes it
puts in its pages, reach a client's widgets under `/embed/` (issue 16).

Neither table holds a usable secret: tokens, session secrets and frame tokens are stored as
their SHA-256 (`accounts.auth.token_hash`), shown once when made.
"""

from piccolo.columns import Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.people import Client


class ApiToken(Table):
    """A staff API token: made by an owner or manager for a staff member, whose rights it
    never exceeds (they are read at every use), with scopes and an expiry."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)
    # The start of the token ("pt_Xy3k"), for telling tokens apart in the list.
    prefix = Varchar(length=12)
    # Comma-separated: "read" (fetch widgets server-side), "embed" (start embed sessions).
    scopes = Varchar(length=40)
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class EmbedSession(Table):
    """One client's named widgets for one host page: started by a token's server call, its
    secret redeemed once by the iframe (minutes), which then carries its frame token."""

    token = ForeignKey(ApiToken, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    client = ForeignKey(Client, on_delete=OnDelete.cascade, null=False)
    widgets = Varchar(length=200)  # comma-separated widget names
    actions = Boolean(default=False)  # confirm/cancel inside the frame
    origin = Varchar(length=200)  # the host page's origin: the only one messages go to
    theme = Varchar(length=300, default="")  # validated CSS variables, "accent=#0a5;radius=4"
    secret_hash = Varchar(length=64, unique=True)
    secret_expires_at = Timestamptz()
    redeemed_at = Timestamptz(null=True, default=None)
    frame_hash = Varchar(length=64, null=True, default=None, unique=True)
    expires_at = Timestamptz()
    created_at = Timestamptz()
