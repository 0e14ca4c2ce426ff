"""The sign-in sequence after a correct password: device, second factor, session, mail.

password ok ──► two-factor on and device not remembered? ──► pending session ──► code step
     │                                                                            │
     └────────────────────────────► finish: device seen or new (mail) ◄───────────┘
                                    session (setup first if policy demands it)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from portal.accounts import auth as accounts
from portal.accounts import devices, twofactor
from portal.core import audit, mail
from portal.core.clock import utcnow
from portal.core.crypto import Cipher
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.practice import terms
from portal.settings import SecuritySettings
from portal.tables import Session, User
from portal.tables.accounts import STAFF_ROLES, LoginOutcome, Role

PENDING_FOR = timedelta(minutes=10)
MAX_CODE_FAILURES = 5
MAX_PASSWORD = 1024  # longer is no password of ours: refused without hashing
FAILED = "That username and password do not match an active account."
LOCKED = "Too many unsuccessful attempts. Wait {minutes} minutes, then try again."


@dataclass(frozen=True)
class Context:
    """What the sequence needs to know of the request and the practice."""

    ip: str
    user_agent: str
    device_token: str
    practice_name: str
    two_factor_policy: str
    portal_url: str
    time_zone: object  # ZoneInfo


@dataclass(frozen=True)
class Step:
    """What the handler does next: a session cookie, maybe a device cookie, and where to go."""

    session_token: str
    device_token: str | None = None
    two_factor: bool = False  # the code step comes next
    needs_setup: bool = False  # policy requires two-factor and there is none


async def check_password(
    username: str,
    password: str,
    *,
    ip: str,
    user_agent: str,
    security: SecuritySettings,
    device_token: str = "",
) -> dict:
    """The sign-in's first step: the user for a correct username and password.

    Raises Invalid with what the sign-in page says: a missing field, a wrong pair
    (one message for every cause, so nobody learns which accounts exist), or a
    lock-out after too many failures. A browser with the account's device cookie
    (`device_token`) is not held by the account's lock, only by the IP's.
    """
    errors = {}
    if not username:
        errors["username"] = "Enter your username."
    if not password:
        errors["password"] = "Enter your password."
    if len(password) > MAX_PASSWORD:
        errors = {"form": FAILED}
    if errors:
        raise Invalid(errors=errors)
    throttle = accounts.Throttle(
        security.max_failures_per_account,
        security.max_failures_per_ip,
        timedelta(minutes=security.throttle_window_minutes),
    )
    result = await accounts.authenticate(
        username, password, ip=ip, user_agent=user_agent, throttle=throttle,
        device_token=device_token,
    )  # fmt: skip
    if result.ok:
        return result.user
    if result.outcome is LoginOutcome.locked:
        raise Invalid(LOCKED.format(minutes=security.throttle_window_minutes))
    raise Invalid(FAILED)


def two_factor_required(policy: str, role: Role) -> bool:
    return policy == "everyone" or (policy == "staff" and role in STAFF_ROLES)


async def after_password(user: dict, ctx: Context) -> Step:
    device = await devices.recognise(ctx.device_token, user["id"])
    if user["totp_enabled_at"] and not devices.is_remembered(device):
        await accounts.record_attempt(
            user["id"], user["username"], LoginOutcome.code_requested,
            ip=ctx.ip, user_agent=ctx.user_agent,
        )  # fmt: skip
        token = await accounts.start_session(
            user["id"], ip=ctx.ip, user_agent=ctx.user_agent, pending_two_factor=True
        )
        return Step(session_token=token, two_factor=True)
    return await _finish(user, device, ctx, remember=False)


async def _finish(user: dict, device: dict | None, ctx: Context, *, remember: bool) -> Step:
    needs_setup = not user["totp_enabled_at"] and two_factor_required(
        ctx.two_factor_policy, Role(user["role"])
    )
    async with write_transaction():
        await accounts.record_attempt(
            user["id"], user["username"], LoginOutcome.success,
            ip=ctx.ip, user_agent=ctx.user_agent,
        )  # fmt: skip
        new_device_token = None
        if device is None:
            new_device_token, device_id = await devices.register(user["id"], ctx.user_agent)
            if remember:
                await devices.seen(device_id, remember=True)
            if user["email"]:
                await mail.queue(
                    user["email"],
                    "new_device",
                    practice_name=ctx.practice_name,
                    username=user["username"],
                    device=devices.summary(ctx.user_agent),
                    when=utcnow().astimezone(ctx.time_zone).strftime("%A %-d %B %Y, %-I:%M %p %Z"),
                    portal_url=ctx.portal_url,
                )
            await audit.record(
                "device.new",
                actor_id=user["id"],
                ip=ctx.ip,
                detail={"device": devices.summary(ctx.user_agent)},
            )
        else:
            await devices.seen(device["id"], remember=remember)
        token = await accounts.start_session(
            user["id"],
            ip=ctx.ip,
            user_agent=ctx.user_agent,
            needs_two_factor_setup=needs_setup,
            needs_terms_acceptance=user["role"] == Role.client
            and await terms.needs_acceptance(user["id"]),
        )
    return Step(session_token=token, device_token=new_device_token, needs_setup=needs_setup)


@dataclass(frozen=True)
class CodeResult:
    step: Step | None = None
    user: dict | None = None
    error: str | None = None
    expired: bool = False


async def pending_user(session_token: str) -> dict | None:
    """The user whose password was accepted in this (pending) session, if still fresh."""
    row = (
        await Session.select(Session.id, Session.created_at, Session.user.id.as_alias("user_id"))
        .where(
            Session.token_hash == accounts.token_hash(session_token),
            Session.pending_two_factor.eq(True),
        )
        .first()
    )
    if row is None or utcnow() - row["created_at"] > PENDING_FOR:
        return None
    return await User.select().where(User.id == row["user_id"]).first()


async def after_code(
    session_token: str, code: str, remember: bool, ctx: Context, cipher: Cipher, window: timedelta
) -> CodeResult:
    user = await pending_user(session_token)
    if user is None:
        await accounts.end_session(session_token)
        return CodeResult(expired=True)
    record = dict(ip=ctx.ip, user_agent=ctx.user_agent)
    # Only wrong codes count here: whoever reached this step knew the password, and wrong
    # passwords tried from elsewhere must not stop the owner at their code.
    failed = await accounts.count_failures(user["username"], window, accounts.CODE_FAILURES)
    if failed >= MAX_CODE_FAILURES:
        await accounts.record_attempt(user["id"], user["username"], LoginOutcome.locked, **record)
        await accounts.end_session(session_token)
        return CodeResult(expired=True, error="Too many wrong codes. Wait, then sign in again.")
    result = await twofactor.check(user["id"], code, cipher)
    if result is twofactor.Check.replayed:
        await accounts.record_attempt(
            user["id"], user["username"], LoginOutcome.replayed_code, **record
        )
        await audit.record("two_factor.replayed_code", actor_id=user["id"], ip=ctx.ip)
        return CodeResult(
            error="That code was already used. Wait for your app to show the next one."
        )
    if result is twofactor.Check.wrong:
        await accounts.record_attempt(
            user["id"], user["username"], LoginOutcome.wrong_code, **record
        )
        return CodeResult(
            error="That code is not right. Check the time on your phone, then try the current code."
        )
    if result is twofactor.Check.recovery_used:
        await audit.record("two_factor.recovery_code_used", actor_id=user["id"], ip=ctx.ip)
    await accounts.end_session(session_token)
    device = await devices.recognise(ctx.device_token, user["id"])
    return CodeResult(step=await _finish(user, device, ctx, remember=remember), user=user)
