"""Sign-in: users, server-side sessions, and every sign-in attempt."""

from enum import Enum

from piccolo.columns import (
    BigInt,
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
    password_changed_at = Timestamptz(null=True, default=None)
    # Two-factor (TOTP): the secret is encrypted with the app's key (portal.core.crypto).
    totp_secret = Text(default="")
    # A secret shown on the setup page, kept until a valid code enables it.
    totp_pending_secret = Text(default="")
    totp_enabled_at = Timestamptz(null=True, default=None)
    # The last 30-second step whose code was accepted: a code is never accepted twice.
    totp_last_step = BigInt(null=True, default=None)
    # "Not now" on the dashboard's two-factor prompt hides it until then.
    two_factor_prompt_hidden_until = Timestamptz(null=True, default=None)
    # Staff: when the staff home was last opened ("forms submitted since your last visit").
    staff_home_seen_at = Timestamptz(null=True, default=None)


class Session(Table, tablename="portal_session"):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    ip = Varchar(length=45, default="")
    user_agent = Varchar(length=300, default="")
    # Password accepted, the two-factor code not yet: this session opens nothing
    # but the code step.
    pending_two_factor = Boolean(default=False)
    # The practice requires two-factor and the user has none: setup first.
    needs_two_factor_setup = Boolean(default=False)
    # Ticked "remember this device" on the code step.
    remember_device = Boolean(default=False)
    # The practice published terms of service this client has not accepted yet.
    needs_terms_acceptance = Boolean(default=False)


class LoginOutcome(str, Enum):
    success = "success"
    # Password accepted, two-factor code asked for.
    code_requested = "code_requested"
    wrong_password = "wrong_password"
    unknown_user = "unknown_user"
    inactive = "inactive"
    locked = "locked"
    wrong_code = "wrong_code"
    replayed_code = "replayed_code"


class LoginAttempt(Table):
    """Every sign-in attempt: the login history, and the throttle's evidence."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, null=True)
    username = Varchar(length=150, index=True)
    ip = Varchar(length=45, index=True)
    user_agent = Text(default="")
    outcome = Varchar(length=20, choices=LoginOutcome)
    at = Timestamptz(index=True)


class RecoveryCode(Table):
    """Single-use two-factor recovery codes, stored as SHA-256 (they are random, not chosen)."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    code_hash = Varchar(length=64)
    used_at = Timestamptz(null=True, default=None)


class Device(Table):
    """A browser that has signed in: a long-lived random cookie, stored hashed."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    summary = Varchar(length=120, default="")
    first_seen_at = Timestamptz()
    last_seen_at = Timestamptz()
    # Two-factor is not asked again on this device until then ("remember this device").
    remembered_until = Timestamptz(null=True, default=None)


class PasswordReset(Table):
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
