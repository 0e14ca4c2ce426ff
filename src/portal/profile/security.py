"""My Profile's security half: password, two-factor sign-in, recovery codes, sessions.

The rules a signed-in user meets when changing their own sign-in: each change
is confirmed by the current password or a current code, raises `Invalid` with
a message per form field when something is wrong (nothing changes then), is
audited, and tells the account's owner by mail where `accounts` says so. The
username change is `accounts.users.change_username`.

Every password or code asked here goes through `accounts.rechecks.confirm`, which
counts wrong ones and, at its limit, ends the session (`rechecks.SignedOut`).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts import auth as accounts
from portal.accounts import devices, rechecks, twofactor
from portal.accounts.auth import CurrentUser
from portal.accounts.passwords import password_problem
from portal.accounts.signin import two_factor_required
from portal.core import audit
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.core.db import write_transaction
from portal.core.errors import Conflict, Invalid
from portal.practice.info import PracticeInfo

REPLAYED = "That code was already used. Wait for the next one."


def _required(user: CurrentUser, practice: PracticeInfo | None) -> bool:
    return two_factor_required(practice.two_factor_policy if practice else "staff", user.role)


async def change_password(
    user: CurrentUser, current: str, new: str, again: str, actor: Actor
) -> None:
    """A new password: the current one right, the new one good, typed twice, and different."""
    errors: dict[str, str] = {}
    if not (await rechecks.confirm(user, actor, password=current)).password_ok:
        errors["current_password"] = "Your current password is not right."
    if problem := password_problem(new, username=user.username):
        errors["new_password"] = problem
    elif new != again:
        errors["new_password_again"] = "The two new passwords are not the same."
    elif new == current:
        errors["new_password"] = "Choose a password different from your current one."
    if errors:
        raise Invalid(errors=errors)
    await accounts.change_password(user, new, actor)


@dataclass(frozen=True)
class TwoFactorState:
    """What the two-factor page shows: on or off, required, codes left, or the setup QR."""

    enabled: bool
    required: bool
    recovery_left: int
    qr_svg: str = ""
    secret: str = ""
    setup_uri: str = ""  # otpauth://: opens the authenticator app on the phone showing the page


async def two_factor_state(
    user: CurrentUser, practice: PracticeInfo | None, cipher: Cipher
) -> TwoFactorState:
    """While two-factor is off, a pending secret to scan (kept until it is turned on)."""
    enabled = await twofactor.is_enabled(user.id)
    required = _required(user, practice)
    if enabled:
        return TwoFactorState(True, required, await twofactor.recovery_codes_left(user.id))
    issuer = practice.name if practice else "Portal"
    setup = await twofactor.pending_setup(user.id, user.username, issuer, cipher)
    return TwoFactorState(
        False, required, 0, qr_svg=setup.qr_svg, secret=twofactor.format_secret(setup.secret),
        setup_uri=setup.uri,
    )  # fmt: skip


async def turn_on_two_factor(
    user: CurrentUser, code: str, cipher: Cipher, actor: Actor
) -> list[str]:
    """Two-factor on with a code from the pending secret; the new recovery codes."""
    if not code:
        raise Invalid(errors={"code": "Enter the 6-digit code your app shows."})
    codes = await twofactor.turn_on(user, code, cipher, actor)
    if codes is None:
        raise Invalid(
            errors={
                "code": "That code does not match. Check that your phone's time is set "
                "automatically, and try the current code."
            }
        )
    return codes


async def turn_off_two_factor(
    user: CurrentUser, password: str, code: str, cipher: Cipher, actor: Actor
) -> None:
    """Two-factor off with the password and a current code, unless the practice requires it.

    The practice's rule is refused as `Invalid` on the code field (the page shows it there,
    with the 422 of a form to correct), like a wrong password or code.
    """
    if not user.two_factor_on:
        raise Conflict("Two-factor sign-in is already off.")
    if _required(user, actor.practice):
        raise Invalid(
            errors={
                "code": "Your practice requires two-factor sign-in for your account, "
                "so it cannot be turned off."
            }
        )
    errors: dict[str, str] = {}
    confirmed = await rechecks.confirm(user, actor, password=password, code=code, cipher=cipher)
    if not confirmed.password_ok:
        errors["password"] = "Your password is not right."
    result = confirmed.code
    if result is twofactor.Check.replayed:
        errors["code"] = REPLAYED
    elif result is twofactor.Check.wrong:
        errors["code"] = "That code is not right."
    if errors:
        raise Invalid(errors=errors)
    await twofactor.turn_off(user, actor)


async def new_recovery_codes(
    user: CurrentUser, code: str, cipher: Cipher, actor: Actor
) -> list[str]:
    """A fresh set of recovery codes (the old ones stop working), for a current code."""
    if not user.two_factor_on:
        raise Conflict("Two-factor sign-in is off, so there are no recovery codes to replace.")
    result = (await rechecks.confirm(user, actor, code=code, cipher=cipher)).code
    if result is not twofactor.Check.ok:
        message = (
            REPLAYED
            if result is twofactor.Check.replayed
            else "Enter the current 6-digit code from your app."
        )
        raise Invalid(errors={"code": message})
    async with write_transaction():
        codes = await twofactor.replace_recovery_codes(user.id)
        await audit.record(
            "two_factor.recovery_codes_replaced", actor_id=actor.user_id, ip=actor.ip
        )
    return codes


async def sessions(user: CurrentUser) -> list[dict]:
    """The account's active sessions, each with its device and whether it is this one."""
    rows = await accounts.active_sessions(user.id)
    for row in rows:
        row["device"] = devices.summary(row["user_agent"])
        row["current"] = row["id"] == user.session_id
    return rows


async def login_history(user: CurrentUser) -> list[dict]:
    """The account's recent sign-in attempts, each with its device."""
    rows = await accounts.login_history(user.id)
    for row in rows:
        row["device"] = devices.summary(row["user_agent"])
    return rows


async def sign_out_others(user: CurrentUser, actor: Actor) -> int:
    """End every session of the account but this one; how many ended."""
    async with write_transaction():
        ended = await accounts.end_other_sessions(user.id, user.session_id)
        await audit.record(
            "session.others_ended", actor_id=actor.user_id, ip=actor.ip, detail={"count": ended}
        )
    return ended
