"""Two-factor sign-in with TOTP (RFC 6238) and single-use recovery codes.

A code is accepted for the current 30-second step or the one before (a phone
clock a little behind, a slow typist), never for a step at or before the last
one accepted: the step is stored per user and advanced with one conditional
UPDATE, so two requests racing with the same code cannot both win.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import pyotp
import segno

from portal.accounts.auth import CurrentUser, notify_change
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.crypto import Cipher
from portal.core.db import write_transaction
from portal.dashboard.tasks import Task, TaskContext
from portal.tables import RecoveryCode, Session, User

STEP_SECONDS = 30
RECOVERY_CODES = 10


class Check(Enum):
    ok = "ok"
    wrong = "wrong"
    replayed = "replayed"
    recovery_used = "recovery_used"


@dataclass(frozen=True)
class Setup:
    secret: str
    uri: str
    qr_svg: str


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits


def setup_for(secret: str, username: str, issuer: str) -> Setup:
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=4, dark="#000", light="#fff", omitsize=False, title=None)
    return Setup(secret=secret, uri=uri, qr_svg=svg)


def format_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum()).lower()


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The step (current or previous) whose code this is, or None."""
    code = normalise_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = step_at(now)
    for step in (current, current - 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


async def accept_step(user_id: int, step: int) -> bool:
    """Advance the user's last accepted step to `step`; False if it was not ahead (a replay)."""
    rows = await User.raw(
        "UPDATE portal_user SET totp_last_step = {} "
        "WHERE id = {} AND (totp_last_step IS NULL OR totp_last_step < {}) RETURNING id",
        step,
        user_id,
        step,
    )
    return bool(rows)


def _hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    """Ten random codes like `k3fq-8mzt-2xwp` (60 bits each)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODES)
    ]


async def use_recovery_code(user_id: int, code: str) -> bool:
    rows = await RecoveryCode.raw(
        "UPDATE recovery_code SET used_at = {} "
        'WHERE "user" = {} AND code_hash = {} AND used_at IS NULL RETURNING id',
        utcnow(),
        user_id,
        _hash_code(code),
    )
    return bool(rows)


async def check(user_id: int, code: str, cipher: Cipher, *, now: datetime | None = None) -> Check:
    """Verify a sign-in code: a TOTP code, or else a recovery code."""
    now = now or utcnow()
    row = await User.select(User.totp_secret).where(User.id == user_id).first()
    if not row or not row["totp_secret"]:
        return Check.wrong
    step = matching_step(cipher.decrypt(row["totp_secret"]), code, now)
    if step is not None:
        return Check.ok if await accept_step(user_id, step) else Check.replayed
    if len(normalise_code(code)) == 12 and await use_recovery_code(user_id, code):
        return Check.recovery_used
    return Check.wrong


async def pending_setup(user_id: int, username: str, issuer: str, cipher: Cipher) -> Setup:
    """The secret being set up (made and stored, encrypted, on first view)."""
    row = await User.select(User.totp_pending_secret).where(User.id == user_id).first()
    if row and row["totp_pending_secret"]:
        secret = cipher.decrypt(row["totp_pending_secret"])
    else:
        secret = new_secret()
        await User.update({User.totp_pending_secret: cipher.encrypt(secret)}).where(
            User.id == user_id
        )
    return setup_for(secret, username, issuer)


async def turn_on(user: CurrentUser, code: str, cipher: Cipher, actor: Actor) -> list[str] | None:
    """Enable with a valid code; lifts the setup requirement, audits, tells the owner."""
    async with write_transaction():
        codes = await enable(user.id, code, cipher)
        if codes is not None:
            await Session.update({Session.needs_two_factor_setup: False}).where(
                Session.user == user.id
            )
            await audit.record("two_factor.enabled", actor_id=user.id, ip=actor.ip)
            await notify_change(user, actor, "two_factor_changed", enabled=True)
    return codes


async def turn_off(user: CurrentUser, actor: Actor) -> None:
    async with write_transaction():
        await disable(user.id)
        await audit.record("two_factor.disabled", actor_id=user.id, ip=actor.ip)
        await notify_change(user, actor, "two_factor_changed", enabled=False)


async def enable(
    user_id: int, code: str, cipher: Cipher, *, now: datetime | None = None
) -> list[str] | None:
    """Turn two-factor on if `code` matches the pending secret; returns the recovery codes."""
    now = now or utcnow()
    row = await User.select(User.totp_pending_secret).where(User.id == user_id).first()
    if not row or not row["totp_pending_secret"]:
        return None
    secret = cipher.decrypt(row["totp_pending_secret"])
    step = matching_step(secret, code, now)
    if step is None:
        return None
    codes = new_recovery_codes()
    async with write_transaction():
        await User.update(
            {
                User.totp_secret: cipher.encrypt(secret),
                User.totp_pending_secret: "",
                User.totp_enabled_at: now,
                User.totp_last_step: step,
            }
        ).where(User.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        await RecoveryCode.insert(
            *[RecoveryCode(user=user_id, code_hash=_hash_code(c)) for c in codes]
        )
    return codes


async def disable(user_id: int) -> None:
    async with write_transaction():
        await User.update(
            {
                User.totp_secret: "",
                User.totp_pending_secret: "",
                User.totp_enabled_at: None,
                User.totp_last_step: None,
            }
        ).where(User.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)


async def replace_recovery_codes(user_id: int) -> list[str]:
    codes = new_recovery_codes()
    async with write_transaction():
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        await RecoveryCode.insert(
            *[RecoveryCode(user=user_id, code_hash=_hash_code(c)) for c in codes]
        )
    return codes


async def recovery_codes_left(user_id: int) -> int:
    return await RecoveryCode.count().where(
        RecoveryCode.user == user_id, RecoveryCode.used_at.is_null()
    )


async def is_enabled(user_id: int) -> bool:
    row = await User.select(User.totp_enabled_at).where(User.id == user_id).first()
    return bool(row and row["totp_enabled_at"])


async def two_factor_off(ctx: TaskContext) -> list[Task]:
    if ctx.two_factor_on:
        return []
    return [Task(key="two-factor", text="Turn on two-factor sign-in", href="/profile/two-factor")]
