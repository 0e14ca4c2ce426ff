"""Sign-in, throttling and server-side sessions. No HTTP here: handlers call these.

A session is a random token given to the browser; the database keeps only its
SHA-256, so a copy of the database does not let anyone sign in. Sessions end
after `idle` without a request or `absolute` after sign-in, whichever is first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal import audit
from portal.clock import utcnow
from portal.passwords import hash_password, needs_rehash, verify_password
from portal.tables import LoginAttempt, Session, User
from portal.tables.accounts import LoginOutcome, Role

# Refresh `last_seen_at` at most this often: a write per request is wasted I/O.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class Throttle:
    max_per_account: int
    max_per_ip: int
    window: timedelta


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SignIn:
    outcome: LoginOutcome
    user: dict | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.success


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    email: str
    role: Role
    session_id: int

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.client


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    return username.strip().lower()


async def _failures_since(since: datetime, *, username: str | None = None, ip: str | None = None):
    failed = [o.value for o in LoginOutcome if o is not LoginOutcome.success]
    query = LoginAttempt.count().where(LoginAttempt.at >= since, LoginAttempt.outcome.is_in(failed))
    if username is not None:
        query = query.where(LoginAttempt.username == username)
    if ip is not None:
        query = query.where(LoginAttempt.ip == ip)
    return await query


async def is_throttled(username: str, ip: str, throttle: Throttle) -> bool:
    since = utcnow() - throttle.window
    if await _failures_since(since, username=username) >= throttle.max_per_account:
        return True
    return await _failures_since(since, ip=ip) >= throttle.max_per_ip


async def authenticate(
    username: str, password: str, *, ip: str, user_agent: str, throttle: Throttle
) -> SignIn:
    """Check a username and password; record the attempt whatever its outcome.

    Unknown users, wrong passwords and inactive accounts cost the same argon2
    verification and come back as one indistinguishable failure to the caller's
    user; only the stored attempt says which it was.
    """
    username = normalise_username(username)
    user = await User.select().where(User.username == username).first()
    if await is_throttled(username, ip, throttle):
        verify_password(None, password)  # same cost as any other answer
        outcome = LoginOutcome.locked
    elif not verify_password(user["password_hash"] if user else None, password):
        outcome = LoginOutcome.wrong_password if user else LoginOutcome.unknown_user
    elif not user["active"]:
        outcome = LoginOutcome.inactive
    else:
        outcome = LoginOutcome.success
        if needs_rehash(user["password_hash"]):
            await User.update({User.password_hash: hash_password(password)}).where(
                User.id == user["id"]
            )
    await LoginAttempt.insert(
        LoginAttempt(
            user=user["id"] if user else None,
            username=username[:150],
            ip=ip,
            user_agent=user_agent[:300],
            outcome=outcome,
            at=utcnow(),
        )
    )
    return SignIn(outcome, user if outcome is LoginOutcome.success else None)


async def start_session(user_id: int, *, ip: str, user_agent: str) -> str:
    """A new session with a fresh random token (never reuse one across sign-ins)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    await Session.insert(
        Session(
            user=user_id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            ip=ip,
            user_agent=user_agent[:300],
        )
    )
    await audit.record("session.start", actor_id=user_id, ip=ip)
    return token


async def resolve_session(token: str, policy: SessionPolicy) -> CurrentUser | None:
    """The signed-in user for a session token, or None if unknown, ended or expired."""
    if not token:
        return None
    row = (
        await Session.select(
            Session.id,
            Session.created_at,
            Session.last_seen_at,
            Session.user.id.as_alias("user_id"),
            Session.user.username,
            Session.user.email,
            Session.user.role,
            Session.user.active,
        )
        .where(Session.token_hash == token_hash(token))
        .first()
    )
    if row is None:
        return None
    now = utcnow()
    if (
        not row["user.active"]
        or now - row["last_seen_at"] > policy.idle
        or now - row["created_at"] > policy.absolute
    ):
        await Session.delete().where(Session.id == row["id"])
        return None
    if now - row["last_seen_at"] > TOUCH_INTERVAL:
        await Session.update({Session.last_seen_at: now}).where(Session.id == row["id"])
    return CurrentUser(
        id=row["user_id"],
        username=row["user.username"],
        email=row["user.email"],
        role=Role(row["user.role"]),
        session_id=row["id"],
    )


async def end_session(token: str) -> None:
    await Session.delete().where(Session.token_hash == token_hash(token))


async def create_user(username: str, email: str, password: str, role: Role) -> int:
    row = await User.insert(
        User(
            username=normalise_username(username),
            email=email.strip(),
            password_hash=hash_password(password),
            role=role,
            active=True,
            created_at=utcnow(),
        )
    ).returning(User.id)
    return row[0]["id"]
