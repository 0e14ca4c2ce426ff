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

from portal.accounts.passwords import hash_password_async, needs_rehash, verify_password_async
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.tables import Client, LoginAttempt, Session, User
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
    must_set_up_two_factor: bool = False
    must_accept_terms: bool = False
    # Read with the session, so the pages and widgets that need them ask nothing more.
    two_factor_on: bool = False
    two_factor_prompt_hidden_until: datetime | None = None
    client: dict | None = None  # the client record of a client's account

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.client


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    return username.strip().lower()


# Attempts that count towards throttling. A refused ("locked") attempt does not:
# the lock lifts a window after the last real failure.
FAILURES = (
    LoginOutcome.wrong_password,
    LoginOutcome.unknown_user,
    LoginOutcome.inactive,
    LoginOutcome.wrong_code,
    LoginOutcome.replayed_code,
)


# The failures of the two-factor step: what its own limit counts.
CODE_FAILURES = (LoginOutcome.wrong_code, LoginOutcome.replayed_code)


async def _failures_since(
    since: datetime,
    *,
    username: str | None = None,
    ip: str | None = None,
    outcomes: tuple[LoginOutcome, ...] = FAILURES,
):
    failed = [o.value for o in outcomes]
    query = LoginAttempt.count().where(LoginAttempt.at >= since, LoginAttempt.outcome.is_in(failed))
    if username is not None:
        query = query.where(LoginAttempt.username == username)
    if ip is not None:
        query = query.where(LoginAttempt.ip == ip)
    return await query


async def is_throttled(
    username: str, ip: str, throttle: Throttle, *, per_account: bool = True
) -> bool:
    """Too many failures for this account (unless `per_account` is off) or from this IP."""
    since = utcnow() - throttle.window
    if per_account and await _failures_since(since, username=username) >= throttle.max_per_account:
        return True
    return await _failures_since(since, ip=ip) >= throttle.max_per_ip


async def known_device(device_token: str, user_id: int | None) -> bool:
    """True when this browser's device cookie belongs to the account (it signed in before).

    With a cookie, the lookup runs whether or not the account exists (same work)."""
    if not device_token:
        return False
    from portal.accounts.devices import recognise

    return await recognise(device_token, user_id or 0) is not None


async def authenticate(
    username: str,
    password: str,
    *,
    ip: str,
    user_agent: str,
    throttle: Throttle,
    device_token: str = "",
) -> SignIn:
    """Check a username and password; record a failed attempt.

    Unknown users, wrong passwords and inactive accounts cost the same argon2
    verification and come back as one indistinguishable failure to the caller's
    user; only the stored attempt says which it was. A success is recorded by
    the caller once it knows whether a second factor follows (`record_attempt`).

    The per-account lock (too many failures for this username, from anywhere) does
    not stop a browser the account signed in from before (`device_token`, the device
    cookie), so failures from elsewhere cannot lock the owner out of their own
    devices. The per-IP limit holds for every browser.
    """
    username = normalise_username(username)
    user = await User.select().where(User.username == username).first()
    recognised = await known_device(device_token, user["id"] if user else None)
    if await is_throttled(username, ip, throttle, per_account=not recognised):
        await verify_password_async(None, password)  # same cost as any other answer
        outcome = LoginOutcome.locked
    elif not await verify_password_async(user["password_hash"] if user else None, password):
        outcome = LoginOutcome.wrong_password if user else LoginOutcome.unknown_user
    elif not user["active"]:
        outcome = LoginOutcome.inactive
    else:
        outcome = LoginOutcome.success
        if needs_rehash(user["password_hash"]):
            await User.update({User.password_hash: await hash_password_async(password)}).where(
                User.id == user["id"]
            )
    if outcome is not LoginOutcome.success:
        await record_attempt(
            user["id"] if user else None, username, outcome, ip=ip, user_agent=user_agent
        )
        return SignIn(outcome, None)
    return SignIn(outcome, user)


async def record_attempt(
    user_id: int | None, username: str, outcome: LoginOutcome, *, ip: str, user_agent: str
) -> None:
    await LoginAttempt.insert(
        LoginAttempt(
            user=user_id,
            username=username[:150],
            ip=ip,
            user_agent=user_agent[:300],
            outcome=outcome,
            at=utcnow(),
        )
    )


async def start_session(
    user_id: int,
    *,
    ip: str,
    user_agent: str,
    pending_two_factor: bool = False,
    needs_two_factor_setup: bool = False,
    remember_device: bool = False,
    needs_terms_acceptance: bool = False,
) -> str:
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
            pending_two_factor=pending_two_factor,
            needs_two_factor_setup=needs_two_factor_setup,
            remember_device=remember_device,
            needs_terms_acceptance=needs_terms_acceptance,
        )
    )
    if not pending_two_factor:
        await audit.record("session.start", actor_id=user_id, ip=ip)
    return token


def _session_sql() -> str:
    """One query for a request's who: the session, its user and the user's client row."""
    client = ", ".join(
        f'c."{col._meta.db_column_name}" AS "client.{col._meta.name}"'
        for col in Client._meta.columns
    )
    # The only text put in is our own column names.
    return (
        "SELECT s.id, s.created_at, s.last_seen_at, s.pending_two_factor,"  # noqa: S608
        " s.needs_two_factor_setup, s.needs_terms_acceptance,"
        " u.id AS user_id, u.username, u.email, u.role, u.active, u.totp_enabled_at,"
        f" u.two_factor_prompt_hidden_until, {client}"
        ' FROM portal_session s JOIN portal_user u ON u.id = s."user"'
        ' LEFT JOIN client c ON c."user" = u.id'
        " WHERE s.token_hash = {}"
    )


SESSION_SQL = _session_sql()


async def resolve_session(token: str, policy: SessionPolicy) -> CurrentUser | None:
    """The signed-in user (with their client record) for a session token, or None if
    unknown, ended or expired. One query, plus a write at most once a minute."""
    if not token:
        return None
    rows = await Session.raw(SESSION_SQL, token_hash(token))
    row = rows[0] if rows else None
    if row is None or row["pending_two_factor"]:
        return None
    now = utcnow()
    if (
        not row["active"]
        or now - row["last_seen_at"] > policy.idle
        or now - row["created_at"] > policy.absolute
    ):
        await Session.delete().where(Session.id == row["id"])
        return None
    if now - row["last_seen_at"] > TOUCH_INTERVAL:
        await Session.update({Session.last_seen_at: now}).where(Session.id == row["id"])
    client = {k[7:]: v for k, v in row.items() if k.startswith("client.")}
    return CurrentUser(
        id=row["user_id"],
        username=row["username"],
        email=row["email"],
        role=Role(row["role"]),
        session_id=row["id"],
        must_set_up_two_factor=bool(row["needs_two_factor_setup"]),
        must_accept_terms=bool(row["needs_terms_acceptance"]),
        two_factor_on=row["totp_enabled_at"] is not None,
        two_factor_prompt_hidden_until=row["two_factor_prompt_hidden_until"],
        client=client if client["id"] is not None else None,
    )


async def end_session(token: str) -> None:
    await Session.delete().where(Session.token_hash == token_hash(token))


async def create_user(
    username: str, email: str, password: str, role: Role, *, password_hash: str = ""
) -> int:
    """A new account. Inside a write transaction, pass the `password_hash` made before it
    (`hash_password_async`): hashing holds no lock then."""
    row = await User.insert(
        User(
            username=normalise_username(username),
            email=email.strip(),
            password_hash=password_hash or await hash_password_async(password),
            role=role,
            active=True,
            created_at=utcnow(),
        )
    ).returning(User.id)
    return row[0]["id"]


async def count_failures(
    username: str, window: timedelta, outcomes: tuple[LoginOutcome, ...] = FAILURES
) -> int:
    return await _failures_since(
        utcnow() - window, username=normalise_username(username), outcomes=outcomes
    )


async def end_other_sessions(user_id: int, keep_session_id: int | None) -> int:
    query = Session.delete().where(Session.user == user_id)
    if keep_session_id is not None:
        query = query.where(Session.id != keep_session_id)
    rows = await query.returning(Session.id)
    return len(rows)


async def active_sessions(user_id: int) -> list[dict]:
    return (
        await Session.select(
            Session.id, Session.created_at, Session.last_seen_at, Session.ip, Session.user_agent
        )
        .where(Session.user == user_id, Session.pending_two_factor.eq(False))
        .order_by(Session.last_seen_at, ascending=False)
    )


async def login_history(user_id: int, limit: int = 50) -> list[dict]:
    return (
        await LoginAttempt.select(
            LoginAttempt.at, LoginAttempt.ip, LoginAttempt.user_agent, LoginAttempt.outcome
        )
        .where(LoginAttempt.user == user_id)
        .order_by(LoginAttempt.at, ascending=False)
        .order_by(LoginAttempt.id, ascending=False)
        .limit(limit)
    )


async def check_password(user_id: int, password: str) -> bool:
    """Whether `password` is this account's (one argon2 verification, off the event loop).

    Inside a session, ask through `accounts.rechecks.confirm`, which counts wrong answers."""
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    return await verify_password_async(row["password_hash"] if row else None, password)


async def set_password(user_id: int, password: str, *, password_hash: str = "") -> None:
    """New hash; every remembered device of the account is forgotten.

    Inside a write transaction, pass the `password_hash` made before it opened
    (`hash_password_async`), so no writer waits for argon2."""
    from portal.accounts.devices import forget_all

    password_hash = password_hash or await hash_password_async(password)
    await User.update(
        {User.password_hash: password_hash, User.password_changed_at: utcnow()}
    ).where(User.id == user_id)
    await forget_all(user_id)


async def username_taken(username: str, except_user: int | None = None) -> bool:
    query = User.exists().where(User.username == normalise_username(username))
    if except_user is not None:
        query = query.where(User.id != except_user)
    return await query


async def username_of(user_id: int) -> str:
    row = await User.select(User.username).where(User.id == user_id).first()
    return row["username"] if row else ""


async def notify_change(user: CurrentUser, actor: Actor, template: str, **context) -> None:
    """Mail the account's owner that a security setting changed (no secrets in it)."""
    if user.email:
        from portal.core import mail

        await mail.queue(
            user.email,
            template,
            practice_name=actor.practice_name,
            username=user.username,
            portal_url=actor.portal_url,
            **context,
        )


async def change_password(user: CurrentUser, new_password: str, actor: Actor) -> None:
    """New password; every other session and every remembered device ends; the owner is told."""
    from portal.core.db import write_transaction

    password_hash = await hash_password_async(new_password)  # before the write lock
    async with write_transaction():
        await set_password(user.id, new_password, password_hash=password_hash)
        ended = await end_other_sessions(user.id, user.session_id)
        await notify_change(user, actor, "password_changed")
        await audit.record(
            "account.password_changed",
            actor_id=user.id,
            ip=actor.ip,
            detail={"other_sessions_ended": ended},
        )
