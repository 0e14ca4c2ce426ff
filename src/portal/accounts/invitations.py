"""Invitations to the portal: staff send a client a single-use link; the client proves their
date of birth, then chooses a username and password, and is signed in.

    staff send ──► mail with /invitations/{token} (valid `Practice.invitation_hours`)
                        │
    client opens ──► date of birth on file? ── wrong ×5 ──► link dies, staff told
                        │ right (verified_at)
                        ▼
                   username + password ──► account (role client) linked to the client,
                                           invitation used (once), signed in

Only the token's SHA-256 is stored. Sending again revokes the earlier link ("resent").
An invitation never attaches to an account that exists: a client with an account cannot
be invited, and an email address another account has is refused, at sending and again
at accepting. An inactive client cannot be invited: deactivating one revokes their live
links ("deactivated", `staff.record_actions.deactivate`), a link of an inactive client is
dead anyway, and the account step checks the status again in its write transaction.
An unknown, used, revoked or expired link gets one answer (`Gone`), so a token cannot be
probed. Every step checks the token again, in the database.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portal.accounts.auth import create_user, normalise_username, token_hash
from portal.accounts.passwords import hash_password_async, password_problem
from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Conflict, Invalid, NotFound
from portal.insurance.policy import parse_date
from portal.tables import Client, ClientEmail, Invitation, Practice, User
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus

MAX_CHECKS = 5  # wrong dates of birth before the link dies
VERIFIED_FOR = timedelta(minutes=30)  # the account step follows the date of birth within this
DEFAULT_HOURS = 48
GONE = "This invitation link has expired or was already used. Ask the practice for a new one."
LOCKED = "That date of birth doesn't match our records, five times now, so this link no longer works. Ask the practice for a new one."  # fmt: skip
WRONG_BIRTH_DATE = "That date of birth doesn't match our records."
HAS_ACCOUNT = "This client already has a portal account."
INACTIVE = "This client is inactive. Reactivate them before inviting them to the portal."
EMAIL_TAKEN = "{email} is already used by another portal account. Give the client another email address first."  # fmt: skip
NO_EMAIL = "Add the client's email address first: the invitation is sent there."
NO_BIRTH_DATE = "Add the client's date of birth first: the invitation asks for it."
USERNAME_TAKEN = "That username is taken. Choose another."
BAD_DATE = "Enter the date as MM/DD/YYYY, for example 04/21/1986."
EMAIL_USED = "Your email address is already used by another portal account. Ask the practice."


class Gone(NotFound):
    """The link is unknown, used, revoked or expired (one answer for all of them)."""


# --- State, as staff see it ------------------------------------------------------------------

NONE, SENT, EXPIRED, TOO_MANY_TRIES, REVOKED, ACCEPTED, ACCOUNT = (
    "none", "sent", "expired", "too_many_tries", "revoked", "accepted", "account",
)  # fmt: skip
LABELS = {
    NONE: "Not invited", SENT: "Invited", EXPIRED: "Invitation expired",
    TOO_MANY_TRIES: "Invitation stopped: too many wrong dates of birth",
    REVOKED: "Invitation withdrawn: the client was deactivated",
    ACCEPTED: "Has a portal account", ACCOUNT: "Has a portal account",
}  # fmt: skip


@dataclass(frozen=True)
class State:
    """A client's invitation state: `kind` is one of NONE, SENT, EXPIRED, TOO_MANY_TRIES,
    REVOKED (the client was deactivated), ACCEPTED (the account came from an invitation) or
    ACCOUNT (the client has an account made otherwise). The dates are UTC; `sent_by` is the
    username of who sent it; `inactive`: the client is inactive (nothing may be sent)."""

    kind: str
    email: str = ""
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    sent_by: str = ""
    failed_checks: int = 0
    accepted_at: datetime | None = None
    inactive: bool = False

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def has_account(self) -> bool:
        return self.kind in (ACCEPTED, ACCOUNT)

    @property
    def may_send(self) -> bool:
        return not self.has_account and not self.inactive


STATE_SQL = """
SELECT c.id AS client_id, c."user" AS user_id, c.status, i.email, i.created_at, i.expires_at,
       i.failed_checks, i.used_at, i.revoked_at, i.revoked_reason, u.username AS sent_by
FROM client c
LEFT JOIN invitation i ON i.id = (SELECT max(x.id) FROM invitation x WHERE x.client = c.id)
LEFT JOIN portal_user u ON u.id = i.created_by
WHERE c.id IN ({ids})"""


def _state(row: dict, now: datetime) -> State:
    seen = dict(
        email=row["email"] or "", sent_at=row["created_at"], expires_at=row["expires_at"],
        sent_by=row["sent_by"] or "", failed_checks=row["failed_checks"] or 0,
        inactive=row["status"] == ClientStatus.inactive.value,
    )  # fmt: skip
    if row["user_id"] is not None:
        if row["used_at"] is not None:
            return State(ACCEPTED, accepted_at=row["used_at"], **seen)
        return State(ACCOUNT, inactive=seen["inactive"])
    if row["created_at"] is None:
        return State(NONE, inactive=seen["inactive"])
    reason = row["revoked_reason"] if row["revoked_at"] is not None else ""
    if reason in ("too_many_tries", "deactivated"):
        return State(TOO_MANY_TRIES if reason == "too_many_tries" else REVOKED, **seen)
    if row["revoked_at"] is not None or row["used_at"] is not None or row["expires_at"] <= now:
        return State(EXPIRED, **seen)
    return State(SENT, **seen)


async def states(client_ids: list[int]) -> dict[int, State]:
    """The invitation state of each client, in one query (for a page of the clients list).
    A client id that does not exist is left out."""
    ids = [int(i) for i in client_ids]
    if not ids:
        return {}
    rows = await Client.raw(STATE_SQL.format(ids=", ".join("{}" for _ in ids)), *ids)
    now = utcnow()
    return {row["client_id"]: _state(row, now) for row in rows}


async def state(client_id: int) -> State:
    """One client's invitation state (one query)."""
    return (await states([client_id])).get(client_id, State(NONE))


# --- Sending ------------------------------------------------------------------------------------


async def email_taken(address: str) -> bool:
    """Whether a portal account has this email address (case-insensitive, exact)."""
    return bool(await User.raw("SELECT 1 FROM portal_user WHERE lower(email) = lower({})", address))


async def _primary_email(client_id: int) -> str:
    row = (
        await ClientEmail.select(ClientEmail.address)
        .where((ClientEmail.client == client_id) & (ClientEmail.is_primary.eq(True)))
        .first()
    )
    return row["address"].strip() if row else ""


async def _valid_hours() -> int:
    row = await Practice.select(Practice.invitation_hours).order_by(Practice.id).first()
    return row["invitation_hours"] if row and row["invitation_hours"] > 0 else DEFAULT_HOURS


async def send(client: dict, actor: Actor) -> State:
    """Mail the client a new invitation link; an earlier live link dies ("resent").

    `client` is the client's row as the access policy opened it (`access.open_record`
    with `Part.invite`). Raises Conflict when the client has an account or is inactive,
    Invalid when there is no email or date of birth to use, or another account has it."""
    client_id = client["id"]
    if client["user"] is not None:
        raise Conflict(HAS_ACCOUNT)
    if client["status"] == ClientStatus.inactive.value:
        raise Conflict(INACTIVE)
    email = await _primary_email(client_id)
    if not email:
        raise Invalid(errors={"email": NO_EMAIL})
    if client["date_of_birth"] is None:
        raise Invalid(errors={"date_of_birth": NO_BIRTH_DATE})
    if await email_taken(email):
        raise Invalid(errors={"email": EMAIL_TAKEN.format(email=email)})
    hours = await _valid_hours()
    token = secrets.token_urlsafe(32)
    async with write_transaction(lock_client=client_id):
        now = utcnow()
        row = await Client.select(Client.user, Client.status).where(Client.id == client_id).first()
        if row is None:
            raise NotFound("No such client.")
        if row["user"] is not None:
            raise Conflict(HAS_ACCOUNT)
        if row["status"] == ClientStatus.inactive.value:  # deactivated meanwhile
            raise Conflict(INACTIVE)
        revoked = await Invitation.raw(
            "UPDATE invitation SET revoked_at = {}, revoked_reason = 'resent' "
            "WHERE client = {} AND used_at IS NULL AND revoked_at IS NULL RETURNING id",
            now,
            client_id,
        )
        expires = now + timedelta(hours=hours)
        await Invitation.insert(
            Invitation(
                client=client_id, token_hash=token_hash(token), email=email, created_at=now,
                expires_at=expires, created_by=actor.user_id,
            )
        )  # fmt: skip
        zone = actor.practice.time_zone if actor.practice else UTC
        await mail.queue(
            email,
            "invitation",
            practice_name=actor.practice_name,
            link=f"{actor.portal_url}/invitations/{token}",
            hours=hours,
            until=expires.astimezone(zone).strftime("%A %-d %B %Y, %-I:%M %p %Z"),
        )
        await audit.record(
            "invitation.sent",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"client:{client_id}",
            detail={"client": client_id, "resent": bool(revoked), "hours": hours},
        )
    return await state(client_id)


# --- The client's steps -------------------------------------------------------------------------

LIVE_SQL = """
SELECT i.id, i.client, i.email, i.created_by, i.failed_checks, i.verified_at,
       c.date_of_birth, c.first_name, c.preferred_name
FROM invitation i JOIN client c ON c.id = i.client
WHERE i.token_hash = {} AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > {}
  AND c."user" IS NULL AND c.status <> 'inactive'"""
# The account step's claim, in its write transaction: the client is checked again there.
USE_SQL = """
UPDATE invitation SET used_at = {} WHERE id = {} AND used_at IS NULL AND revoked_at IS NULL
  AND expires_at > {} AND EXISTS (SELECT 1 FROM client c WHERE c.id = invitation.client
  AND c."user" IS NULL AND c.status <> 'inactive') RETURNING id"""


@dataclass(frozen=True)
class Opened:
    """A live invitation, as its link's pages need it."""

    id: int
    client_id: int
    email: str
    first_name: str
    verified: bool  # the date of birth was given within VERIFIED_FOR: the account step


async def _live(token: str) -> dict:
    if not token or len(token) > 100:
        raise Gone(GONE)
    rows = await Invitation.raw(LIVE_SQL, token_hash(token), utcnow())
    if not rows:
        raise Gone(GONE)
    return rows[0]


def _opened(row: dict) -> Opened:
    verified = row["verified_at"] is not None and utcnow() - row["verified_at"] < VERIFIED_FOR
    return Opened(
        id=row["id"], client_id=row["client"], email=row["email"],
        first_name=row["preferred_name"] or row["first_name"], verified=verified,
    )  # fmt: skip


async def opened(token: str) -> Opened:
    """The live invitation of this link; Gone otherwise."""
    return _opened(await _live(token))


async def check_birth_date(token: str, typed: str, actor: Actor) -> Opened:
    """The date of birth step. Right: the invitation is verified (the account step next).
    Wrong: Invalid, one more failed check; the fifth kills the link (Gone) and staff are told.
    Empty or not a date: Invalid, not counted."""
    row = await _live(token)
    if not typed.strip():
        raise Invalid(errors={"date_of_birth": "Enter your date of birth."})
    born = parse_date(typed)
    if born is None:
        raise Invalid(errors={"date_of_birth": BAD_DATE})
    subject = f"client:{row['client']}"
    if row["date_of_birth"] is not None and born == row["date_of_birth"]:
        async with write_transaction():
            done = await Invitation.raw(
                "UPDATE invitation SET verified_at = {} WHERE id = {} AND used_at IS NULL "
                "AND revoked_at IS NULL RETURNING id",
                utcnow(),
                row["id"],
            )
            if not done:
                raise Gone(GONE)
            await audit.record("invitation.verified", actor_id=None, ip=actor.ip, subject=subject)
        return _opened({**row, "verified_at": utcnow()})
    async with write_transaction():
        counted = await Invitation.raw(
            "UPDATE invitation SET failed_checks = failed_checks + 1 WHERE id = {} "
            "AND used_at IS NULL AND revoked_at IS NULL AND failed_checks < {} "
            "RETURNING failed_checks",
            row["id"],
            MAX_CHECKS,
        )
        if not counted:
            raise Gone(GONE)
        failed = counted[0]["failed_checks"]
        detail = {"client": row["client"], "failed_checks": failed}
        await audit.record(
            "invitation.check_failed", actor_id=None, ip=actor.ip, subject=subject, detail=detail
        )
        if failed >= MAX_CHECKS:
            await _stop(row, actor)
    if failed >= MAX_CHECKS:
        raise Gone(LOCKED)
    left = MAX_CHECKS - failed
    tries = f"{left} more {'try' if left == 1 else 'tries'} before this link stops working."
    raise Invalid(errors={"date_of_birth": f"{WRONG_BIRTH_DATE} {tries}"})


async def _stop(row: dict, actor: Actor) -> None:
    """The fifth wrong date of birth: the link dies, and whoever sent it is told."""
    await Invitation.update(
        {Invitation.revoked_at: utcnow(), Invitation.revoked_reason: "too_many_tries"}
    ).where(Invitation.id == row["id"])
    to, told = "", "nobody"
    if row["created_by"] is not None:
        sender = await User.select(User.email).where(User.id == row["created_by"]).first()
        to, told = (sender["email"], "sender") if sender and sender["email"] else ("", told)
    if not to and actor.practice and actor.practice.email:
        to, told = actor.practice.email, "practice"
    if to:
        await mail.queue(
            to,
            "invitation.locked",
            practice_name=actor.practice_name,
            link=f"{actor.portal_url}/staff/clients/{row['client']}",
            tries=MAX_CHECKS,
        )
    await audit.record(
        "invitation.too_many_tries", actor_id=None, ip=actor.ip,
        subject=f"client:{row['client']}", detail={"client": row["client"], "told": told},
    )  # fmt: skip


async def accept(token: str, username: str, password: str, again: str, actor: Actor) -> dict:
    """The account step: a new client account linked to the invited client, the invitation
    used (once, whatever the number of posts), and the new user's row for signing in.

    Raises Gone for a dead link or one whose date of birth was not given (recently),
    Invalid (per field: `username`, `password`, `password_again`) and writes nothing."""
    invitation = _opened(await _live(token))
    if not invitation.verified:
        raise Gone(GONE)
    username = normalise_username(username)
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Choose a username."
    elif len(username) > 150 or not all(ch.isalnum() or ch in "._-@" for ch in username):
        errors["username"] = "Use up to 150 letters, digits and . _ - @ only."
    problem = password_problem(password, username=username) if password else "Choose a password."
    if problem:
        errors["password"] = problem
    elif password != again:
        errors["password_again"] = "The two passwords are not the same."
    if not errors and await User.exists().where(User.username == username):
        errors["username"] = USERNAME_TAKEN
    if errors:
        raise Invalid(errors=errors)
    password_hash = await hash_password_async(password)  # before the write lock
    async with write_transaction(lock_client=invitation.client_id):
        now = utcnow()
        used = await Invitation.raw(USE_SQL, now, invitation.id, now)
        if not used:  # used, revoked, expired, or the client deactivated meanwhile
            raise Gone(GONE)
        if await User.exists().where(User.username == username):
            raise Invalid(errors={"username": USERNAME_TAKEN})
        if await email_taken(invitation.email):  # never attach to an account that exists
            raise Conflict(EMAIL_USED)
        user_id = await create_user(
            username, invitation.email, "", Role.client, password_hash=password_hash
        )
        linked = await Client.raw(
            'UPDATE client SET "user" = {} WHERE id = {} AND "user" IS NULL '
            "AND status <> 'inactive' RETURNING id",
            user_id,
            invitation.client_id,
        )
        if not linked:  # an account was linked meanwhile: undo all of it
            raise Gone(GONE)
        await audit.record(
            "invitation.accepted", actor_id=user_id, ip=actor.ip,
            subject=f"client:{invitation.client_id}",
            detail={"client": invitation.client_id, "username": username},
        )  # fmt: skip
    return await User.select().where(User.id == user_id).first()
