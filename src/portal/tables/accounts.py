"""Sign-in: users, server-side sessions, and every sign-in attempt."""

from enum import Enum

from piccolo.columns import (
    Boolean,
    ForeignKey,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Role(str, Enum):
    client = "client"
    owner = "owner"
    manager = "manager"
    provider = "provider"
    scheduler = "scheduler"
    biller = "biller"


STAFF_ROLES = frozenset({Role.owner, Role.manager, Role.provider, Role.scheduler, Role.biller})


class User(Table, tablename="portal_user"):
    username = Varchar(length=150, unique=True, index=True)
    email = Varchar(length=254)
    password_hash = Varchar(length=200)
    role = Varchar(length=20, choices=Role)
    active = Boolean(default=True)
    created_at = Timestamptz()


class Session(Table, tablename="portal_session"):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    ip = Varchar(length=45, default="")
    user_agent = Varchar(length=300, default="")


class LoginOutcome(str, Enum):
    success = "success"
    wrong_password = "wrong_password"
    unknown_user = "unknown_user"
    inactive = "inactive"
    locked = "locked"
    wrong_code = "wrong_code"


class LoginAttempt(Table):
    """Every sign-in attempt: the login history, and the throttle's evidence."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, null=True)
    username = Varchar(length=150, index=True)
    ip = Varchar(length=45, index=True)
    user_agent = Text(default="")
    outcome = Varchar(length=20, choices=LoginOutcome)
    at = Timestamptz(index=True)
