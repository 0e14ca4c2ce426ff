"""Password reset by a single-use emailed link, valid for 30 minutes.

Asking gives the same answer, in the same time, whether or not an account
matches: the request itself reads nothing about the identifier. It counts the
asking address's requests and records one (`password.reset_asked`, the same
insert every time), and hands back `deliver`, which the handler runs after the
answer has gone. `deliver` finds the account, keeps to the limits and mails the
link; for an unknown account it finds nothing and does nothing. No mail is
queued while the answer waits, for any account.

Limits: `MAX_PER_IP` requests per address and `MAX_PER_ACCOUNT` links per
account within `LIMIT_WINDOW` (more requests get the same answer and no mail).
An account has one live link at most: a new one ends the older ones. The
outbox keeps a link only until its mail is sent (`core.mail` blanks it).

Using the link sets a new password and ends every session and remembered
device; it does not sign the user in, so two-factor is still asked at the next
sign-in.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from portal.accounts import auth as accounts
from portal.accounts.passwords import hash_password_async, password_problem
from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.tables import AuditEvent, PasswordReset, User

log = logging.getLogger("portal")

VALID_FOR = timedelta(minutes=30)
LIMIT_WINDOW = timedelta(hours=1)
MAX_PER_ACCOUNT = 3  # links mailed to one account within LIMIT_WINDOW
MAX_PER_IP = 10  # requests from one address within LIMIT_WINDOW
ASKED = "password.reset_asked"
BY_EMAIL = "SELECT id, email, username FROM portal_user WHERE active AND lower(email) = lower({})"


async def _nothing() -> None:
    return None


async def request(identifier: str, actor: Actor) -> Callable[[], Awaitable[None]]:
    """Record the request and say what to do once the answer is sent: `deliver()` mails a
    reset link to the account with this username or email, if there is one and the
    limits allow it. The work before the answer is the same for any identifier."""
    identifier = identifier.strip()
    since = utcnow() - LIMIT_WINDOW
    asked = await AuditEvent.count().where(
        AuditEvent.action == ASKED, AuditEvent.ip == actor.ip, AuditEvent.at >= since
    )
    await audit.record(ASKED, actor_id=None, ip=actor.ip)
    if not identifier or asked >= MAX_PER_IP:
        return _nothing

    async def deliver() -> None:
        try:
            await _deliver(identifier, actor)
        except Exception:  # noqa: BLE001 - after the answer: nobody to tell but the log
            log.exception("password reset mail failed")

    return deliver


async def _deliver(identifier: str, actor: Actor) -> None:
    if "@" in identifier:
        # An exact, case-insensitive match: never LIKE, whose % and _ would match others.
        users = await User.raw(BY_EMAIL, identifier)
    else:
        users = await User.select(User.id, User.email, User.username).where(
            User.active.eq(True), User.username == accounts.normalise_username(identifier)
        )
    for user in users:
        if user["email"]:
            await _mail_link(user, actor)


async def _mail_link(user: dict, actor: Actor) -> None:
    """A new link for the account (the older ones end), unless it had its share this hour."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with write_transaction():
        if User._meta.db.engine_type == "postgres":
            # One request per account at a time, so the count below holds (SQLite's
            # immediate transaction already admits one writer).
            await User.select(User.id).where(User.id == user["id"]).lock_rows()
        recent = await PasswordReset.count().where(
            PasswordReset.user == user["id"], PasswordReset.created_at >= now - LIMIT_WINDOW
        )
        if recent >= MAX_PER_ACCOUNT:
            await audit.record("password.reset_limited", actor_id=user["id"], ip=actor.ip)
            return
        await PasswordReset.update({PasswordReset.used_at: now}).where(
            PasswordReset.user == user["id"], PasswordReset.used_at.is_null()
        )
        await PasswordReset.insert(
            PasswordReset(
                user=user["id"],
                token_hash=accounts.token_hash(token),
                created_at=now,
                expires_at=now + VALID_FOR,
            )
        )
        await mail.queue(
            user["email"],
            "password_reset",
            practice_name=actor.practice_name,
            link=f"{actor.portal_url}/password-reset/{token}",
            minutes=int(VALID_FOR.total_seconds() // 60),
        )
        await audit.record("password.reset_requested", actor_id=user["id"], ip=actor.ip)


async def valid_reset(token: str) -> dict | None:
    row = (
        await PasswordReset.select(
            PasswordReset.id, PasswordReset.user, PasswordReset.expires_at, PasswordReset.used_at
        )
        .where(PasswordReset.token_hash == accounts.token_hash(token))
        .first()
    )
    if row is None or row["used_at"] is not None or row["expires_at"] <= utcnow():
        return None
    return row


async def complete(token: str, new_password: str, again: str, actor: Actor) -> int | None:
    """Use the token once to set the password; the user id, or None if the link is no good.

    Raises Invalid (and uses nothing up) when the new password breaks a rule or the
    two entries differ.
    """
    reset = await valid_reset(token)
    if reset is None:
        return None
    username = await accounts.username_of(reset["user"])
    problem = (
        password_problem(new_password, username=username)
        if new_password
        else "Enter a new password."
    )
    if not problem and new_password != again:
        problem = "The two passwords are not the same."
    if problem:
        raise Invalid(problem)
    password_hash = await hash_password_async(new_password)  # before the write lock
    async with write_transaction():
        rows = await PasswordReset.raw(
            "UPDATE password_reset SET used_at = {} "
            "WHERE token_hash = {} AND used_at IS NULL AND expires_at > {} "
            'RETURNING "user"',
            utcnow(),
            accounts.token_hash(token),
            utcnow(),
        )
        if not rows:
            return None
        user_id = rows[0]["user"]
        await accounts.set_password(user_id, new_password, password_hash=password_hash)
        await accounts.end_other_sessions(user_id, keep_session_id=None)
        # Any other links for this account die with this one.
        await PasswordReset.update({PasswordReset.used_at: utcnow()}).where(
            PasswordReset.user == user_id, PasswordReset.used_at.is_null()
        )
        await audit.record("password.reset", actor_id=user_id, ip=actor.ip)
    return user_id
