"""Re-checks inside a session: the current password or a two-factor code asked again.

Changing the username or the password, turning two-factor off and making new
recovery codes each ask for the current password, a current code or both. A
signed-in browser is not proof of who sits at it (an unlocked computer, a stolen
session cookie), so those answers are guessing targets like the sign-in form,
and every one goes through `confirm()` here.

A wrong answer is counted like a failed sign-in: an audit event
(`account.recheck_failed`) for the account. At `MAX_FAILURES` within `WINDOW`,
counted from when this session began if that is later, the session ends and
`SignedOut` is raised: the handler sends the browser to the sign-in page with
a message. Nothing more is checked in that session once the limit is reached,
so a right answer after the wrong ones is refused too. A new session (a real
sign-in, with the password and any code) starts counting afresh.

These failures do not count towards the sign-in's own lock, so a session that
guesses cannot lock the owner's sign-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from portal.accounts import twofactor
from portal.accounts.auth import CurrentUser, check_password
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.crypto import Cipher
from portal.core.errors import Refused
from portal.tables import AuditEvent, Session

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
FAILED = "account.recheck_failed"
ENDED = "session.ended_after_rechecks"
# The sign-in page's notice after `SignedOut` (handlers pass this key, never the text).
NOTICE = (
    "You were signed out because the current password or a code was entered wrongly "
    "too many times. Sign in again to continue."
)


class SignedOut(Refused):
    """Too many wrong re-checks: this session has ended. The handler sends the browser to
    sign in (uncaught, it is a Refused like any other, and the session is gone anyway)."""

    def __init__(self) -> None:
        super().__init__(NOTICE)


@dataclass(frozen=True)
class Confirmed:
    """What was asked and how it went: `password_ok` is None when no password was asked,
    `code` is None when no code was asked."""

    password_ok: bool | None = None
    code: twofactor.Check | None = None

    @property
    def wrong(self) -> bool:
        return self.password_ok is False or self.code in (
            twofactor.Check.wrong,
            twofactor.Check.replayed,
        )


async def failures(user: CurrentUser) -> int:
    """Wrong re-checks of this account within the window, since this session began."""
    since = utcnow() - WINDOW
    session = await Session.select(Session.created_at).where(Session.id == user.session_id).first()
    if session and session["created_at"] > since:
        since = session["created_at"]
    return await AuditEvent.count().where(
        AuditEvent.actor == user.id, AuditEvent.action == FAILED, AuditEvent.at >= since
    )


async def _sign_out(user: CurrentUser, actor: Actor) -> None:
    await Session.delete().where(Session.id == user.session_id)
    await audit.record(ENDED, actor_id=user.id, ip=actor.ip)


async def confirm(
    user: CurrentUser,
    actor: Actor,
    *,
    password: str | None = None,
    code: str | None = None,
    cipher: Cipher | None = None,
) -> Confirmed:
    """Check the current password (when `password` is given) and a two-factor code (when
    `code` is given; an empty one is wrong), and count a wrong answer.

    Raises SignedOut, with the session ended, when the limit is reached: before checking
    anything if it already was, or with this wrong answer.
    """
    if await failures(user) >= MAX_FAILURES:
        await _sign_out(user, actor)
        raise SignedOut
    password_ok = None if password is None else await check_password(user.id, password)
    result = None
    if code is not None:
        assert cipher is not None, "a code needs the cipher of the two-factor secret"
        result = await twofactor.check(user.id, code, cipher) if code else twofactor.Check.wrong
    confirmed = Confirmed(password_ok, result)
    if confirmed.wrong:
        await audit.record(
            FAILED,
            actor_id=user.id,
            ip=actor.ip,
            detail={
                "password": "wrong" if password_ok is False else "",
                "code": result.value if result is not None else "",
            },
        )
    # Counted again after the check: answers racing in parallel all see the limit.
    if await failures(user) >= MAX_FAILURES:
        await _sign_out(user, actor)
        raise SignedOut
    return confirmed
