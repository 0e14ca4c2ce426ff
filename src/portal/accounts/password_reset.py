"""Password reset by a single-use emailed link, valid for 30 minutes.

Asking gives the same answer whether or not an account matches. Using the link
sets a new password and ends every session and remembered device; it does not
sign the user in, so two-factor is still asked at the next sign-in.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from portal.accounts import auth as accounts
from portal.accounts.passwords import password_problem
from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.tables import PasswordReset, User

VALID_FOR = timedelta(minutes=30)
BY_EMAIL = "SELECT id, email, username FROM portal_user WHERE active AND lower(email) = lower({})"


async def request(identifier: str, actor: Actor) -> None:
    """Mail a reset link to the account with this username or email, if there is one."""
    identifier = identifier.strip()
    if not identifier:
        return
    if "@" in identifier:
        # An exact, case-insensitive match: never LIKE, whose % and _ would match others.
        users = await User.raw(BY_EMAIL, identifier)
    else:
        users = await User.select(User.id, User.email, User.username).where(
            User.active.eq(True), User.username == accounts.normalise_username(identifier)
        )
    for user in users:
        if not user["email"]:
            continue
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with write_transaction():
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
        await accounts.set_password(user_id, new_password)
        await accounts.end_other_sessions(user_id, keep_session_id=None)
        # Any other links for this account die with this one.
        await PasswordReset.update({PasswordReset.used_at: utcnow()}).where(
            PasswordReset.user == user_id, PasswordReset.used_at.is_null()
        )
        await audit.record("password.reset", actor_id=user_id, ip=actor.ip)
    return user_id
