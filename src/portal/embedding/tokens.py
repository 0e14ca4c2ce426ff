"""Staff API tokens: made and revoked by an owner or manager, for a staff member whose
rights they never exceed (the member's role and reach are read at every use), shown once
and stored as their SHA-256, scoped, with an expiry; every use is audited.

A token looks like `pt_` and 43 URL-safe characters; the list shows its first 7.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.accounts.auth import token_hash
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid, NotFound, Refused
from portal.staff.access import Staff, staff_member
from portal.tables import ApiToken, User
from portal.tables.accounts import STAFF_ROLES, Role

SCOPES = {"read": "Read widgets from a server", "embed": "Start embed sessions for iframes"}
MANAGERS = frozenset({Role.owner, Role.manager})
MAX_DAYS = 366
DEFAULT_DAYS = 90
PREFIX = "pt_"


@dataclass(frozen=True)
class TokenUse:
    """A token that may be used now: its id and the staff member behind it."""

    token_id: int
    staff: Staff
    scopes: frozenset[str]


def _may_manage(actor: Actor) -> None:
    if actor.role not in {r.value for r in MANAGERS}:
        raise Refused("API tokens are made and revoked by the owner or a manager.")


async def create(typed: dict, *, actor: Actor) -> tuple[int, str]:
    """A new token from the form (`name`, `user`, `scopes`, `days`): its id and the token
    itself, which is never shown again. Invalid by field for bad input."""
    _may_manage(actor)
    errors: dict[str, str] = {}
    name = typed.get("name", "").strip()
    if not name:
        errors["name"] = "Name the token after the system that uses it, like “EHR billing screen”."
    elif len(name) > 100:
        errors["name"] = "Keep the name to 100 characters."
    scopes = sorted({s for s in typed.get("scopes", []) if s in SCOPES})
    if not scopes or len(scopes) != len(set(typed.get("scopes", []))):
        errors["scopes"] = (
            "Choose what the token may do: read widgets, start embed sessions, or both."
        )
    days_text = typed.get("days", "").strip() or str(DEFAULT_DAYS)
    days = int(days_text) if days_text.isascii() and days_text.isdigit() else 0
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = f"Enter how many days it lasts, from 1 to {MAX_DAYS}."
    member = None
    user_text = typed.get("user", "")
    if user_text.isascii() and user_text.isdigit():
        member = await User.select(User.id, User.role, User.active).where(
            User.id == int(user_text)
        ).first()  # fmt: skip
    if member is None or member["role"] not in STAFF_ROLES or not member["active"]:
        errors["user"] = "Choose the staff member the token acts for."
    if errors:
        raise Invalid(errors=errors)
    token = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = await ApiToken.insert(
        ApiToken(
            user=member["id"], name=name, token_hash=token_hash(token), prefix=token[:7],
            scopes=",".join(scopes), created_by=actor.user_id, created_at=now,
            expires_at=now + timedelta(days=days),
        )
    ).returning(ApiToken.id)  # fmt: skip
    token_id = row[0]["id"]
    await audit.record(
        "api_token.created", actor_id=actor.user_id, ip=actor.ip, subject=f"api_token:{token_id}",
        detail={"old": None, "new": {"name": name, "user": member["id"], "scopes": scopes,
                                     "days": days}},
    )  # fmt: skip
    return token_id, token


async def revoke(token_id: int, *, actor: Actor) -> None:
    """Revoke at once: the next request with it is refused."""
    _may_manage(actor)
    done = await (
        ApiToken.update({ApiToken.revoked_at: utcnow()})
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_null())
        .returning(ApiToken.id)
    )
    if not done:
        if not await ApiToken.exists().where(ApiToken.id == token_id):
            raise NotFound("No such token.")
        return
    await audit.record(
        "api_token.revoked", actor_id=actor.user_id, ip=actor.ip, subject=f"api_token:{token_id}",
        detail={"old": {"revoked": False}, "new": {"revoked": True}},
    )  # fmt: skip


async def members() -> list[dict]:
    """The active staff a token may act for, by username (one query)."""
    return await (
        User.select(User.id, User.username, User.role)
        .where(User.active == True, User.role.is_in([r.value for r in STAFF_ROLES]))  # noqa: E712
        .order_by(User.username)
    )


async def listing(now: datetime) -> list[dict]:
    """Every token, newest first, with whom it acts for and its `status` (one query)."""
    rows = await ApiToken.select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.prefix,
        ApiToken.scopes,
        ApiToken.created_at,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        ApiToken.user.username.as_alias("username"),
        ApiToken.user.role.as_alias("role"),
    ).order_by(ApiToken.id, ascending=False)  # fmt: skip
    return [{**row, "status": status(row, now)} for row in rows]


def status(row: dict, now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if row["expires_at"] <= now else "active"


async def use(authorization: str, scope: str, *, what: str, ip: str) -> TokenUse:
    """The token of an `Authorization: Bearer pt_…` header, if it may be used for `scope`
    now; the use is audited (`what`: the route). Refused (401 for the handler) otherwise,
    with the same message whatever was wrong."""
    kind, _, token = authorization.partition(" ")
    refused = Refused("This API token is not valid: it is unknown, revoked or expired, or "
                      "not allowed to do this.")  # fmt: skip
    if kind.lower() != "bearer" or not token.startswith(PREFIX) or len(token) > 100:
        raise refused
    now = utcnow()
    row = await (
        ApiToken.select(
            ApiToken.id,
            ApiToken.scopes,
            ApiToken.user,
            ApiToken.user.role.as_alias("role"),
            ApiToken.user.active.as_alias("active"),
        )  # fmt: skip
        .where(
            ApiToken.token_hash == token_hash(token.strip()),
            ApiToken.revoked_at.is_null(),
            ApiToken.expires_at > now,
        )
        .first()
    )
    scopes = frozenset((row or {}).get("scopes", "").split(","))
    if row is None or not row["active"] or row["role"] not in STAFF_ROLES or scope not in scopes:
        raise refused
    await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    await audit.record(
        "api_token.used", actor_id=row["user"], ip=ip, subject=f"api_token:{row['id']}",
        detail={"scope": scope, "what": what[:200]},
    )  # fmt: skip
    return TokenUse(row["id"], await staff_member(row["user"], Role(row["role"])), scopes)
