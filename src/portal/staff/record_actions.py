"""What staff may do to a client's portal account (Part.manage: owner and manager).

- deactivate: the client becomes inactive (`client.status`), their account may not sign
  in (`portal_user.active`, which sign-in and every session lookup check), every
  session of it ends, and every live invitation link is revoked ("deactivated"), so
  none can make an account (after reactivating, staff send a new one);
- reactivate: both back on;
- end every session of the client's account;
- reset two-factor, after staff checked who is asking (how, and a note, are kept in the
  audit event): the secret, a pending setup, the recovery codes and every remembered
  device are cleared, the sessions end, and the client gets a mail (no detail in it);
- unlock a throttled sign-in: the sign-in counts failed attempts for the username in the
  last `throttle_window_minutes` (`accounts.auth.is_throttled`); unlocking removes those
  failures from `login_attempt`, copying each into the audit event, so nothing is lost
  from the audit trail.

A client outside the staff member's reach, or a role without Part.manage, is `NotFound`.
Each action is one write transaction, audited.
"""

from __future__ import annotations

from datetime import timedelta

from portal.accounts.auth import FAILURES
from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Conflict, Invalid, NotFound
from portal.settings import SecuritySettings
from portal.staff.access import Part, Staff, client_clause
from portal.tables import Client, Device, Invitation, LoginAttempt, RecoveryCode, Session, User
from portal.tables.people import ClientStatus

# How staff checked that the person asking for a two-factor reset is the client.
IDENTITY_CHECKS = {
    "phone": "Called the client back at the phone number on file",
    "in_person": "Met the client in person and saw their photo ID",
}
MAX_NOTE = 500
NO_ACCOUNT = "This client has no portal account yet."


async def _client(staff: Staff, client_id: int) -> dict:
    """The client's row, if `staff` may manage their account."""
    if not staff.may(Part.manage):
        raise NotFound("No such client.")
    row = await Client.select().where((Client.id == client_id) & client_clause(staff)).first()
    if row is None:
        raise NotFound("No such client.")
    return row


async def _account(client: dict) -> dict:
    if client["user"] is None:
        raise Conflict(NO_ACCOUNT)
    return await User.select(
        User.id, User.username, User.email, User.active, User.totp_enabled_at,
        User.totp_pending_secret,
    ).where(User.id == client["user"]).first()  # fmt: skip


async def _end_sessions(user_id: int) -> int:
    return len(await Session.delete().where(Session.user == user_id).returning(Session.id))


async def _record(action: str, client_id: int, actor: Actor, **detail) -> None:
    await audit.record(
        action,
        actor_id=actor.user_id,
        ip=actor.ip,
        subject=f"client:{client_id}",
        detail={"client": client_id, **detail},
    )


async def deactivate(staff: Staff, client_id: int, actor: Actor) -> None:
    async with write_transaction(lock_client=client_id):
        client = await _client(staff, client_id)
        if client["status"] == ClientStatus.inactive:
            raise Conflict("This client is inactive already.")
        await Client.update({Client.status: ClientStatus.inactive}).where(Client.id == client_id)
        ended = 0
        if client["user"] is not None:
            await User.update({User.active: False}).where(User.id == client["user"])
            ended = await _end_sessions(client["user"])
        now = utcnow()
        revoked = await Invitation.raw(
            "UPDATE invitation SET revoked_at = {}, revoked_reason = 'deactivated' "
            "WHERE client = {} AND used_at IS NULL AND revoked_at IS NULL AND expires_at > {} "
            "RETURNING id",
            now,
            client_id,
            now,
        )
        await _record(
            "staff.client_deactivated", client_id, actor,
            previous_status=client["status"], sessions_ended=ended,
            invitations_revoked=len(revoked),
        )  # fmt: skip


async def reactivate(staff: Staff, client_id: int, actor: Actor) -> None:
    async with write_transaction(lock_client=client_id):
        client = await _client(staff, client_id)
        if client["status"] != ClientStatus.inactive:
            raise Conflict("This client is not inactive.")
        await Client.update({Client.status: ClientStatus.active}).where(Client.id == client_id)
        if client["user"] is not None:
            await User.update({User.active: True}).where(User.id == client["user"])
        await _record("staff.client_reactivated", client_id, actor)


async def end_sessions(staff: Staff, client_id: int, actor: Actor) -> int:
    """End every session of the client's account; how many there were."""
    async with write_transaction(lock_client=client_id):
        account = await _account(await _client(staff, client_id))
        ended = await _end_sessions(account["id"])
        await _record("staff.client_sessions_ended", client_id, actor, sessions_ended=ended)
    return ended


def check_identity(method: str, note: str, confirmed: bool) -> dict[str, str]:
    """The identity check a two-factor reset needs: errors by form field name."""
    errors: dict[str, str] = {}
    if method not in IDENTITY_CHECKS:
        errors["identity_check"] = "Choose how you checked that you are speaking to the client."
    if len(note) > MAX_NOTE:
        errors["identity_note"] = f"Keep the note under {MAX_NOTE} characters."
    if not confirmed:
        errors["identity_confirmed"] = "Tick the box once you have checked the client's identity."
    return errors


async def reset_two_factor(
    staff: Staff, client_id: int, method: str, note: str, confirmed: bool, actor: Actor
) -> None:
    """Turn two-factor off for the client after an identity check, and tell them by mail."""
    async with write_transaction(lock_client=client_id):
        account = await _account(await _client(staff, client_id))
        if errors := check_identity(method, note, confirmed):
            raise Invalid(errors=errors)
        if not account["totp_enabled_at"] and not account["totp_pending_secret"]:
            raise Conflict("Two-factor sign-in is not on for this client: nothing to reset.")
        uid = account["id"]
        await User.update(
            {
                User.totp_secret: "",
                User.totp_pending_secret: "",
                User.totp_enabled_at: None,
                User.totp_last_step: None,
            }
        ).where(User.id == uid)
        await RecoveryCode.delete().where(RecoveryCode.user == uid)
        await Device.update({Device.remembered_until: None}).where(Device.user == uid)
        ended = await _end_sessions(uid)
        if account["email"]:
            await mail.queue(
                account["email"],
                "two_factor_reset",
                practice_name=actor.practice_name,
                portal_url=actor.portal_url,
            )
        await _record(
            "staff.two_factor_reset", client_id, actor,
            identity_check=method, identity_check_text=IDENTITY_CHECKS[method], note=note,
            sessions_ended=ended, mailed=bool(account["email"]),
        )  # fmt: skip


async def unlock(staff: Staff, client_id: int, security: SecuritySettings, actor: Actor) -> int:
    """Clear the failed sign-ins that hold the client's account locked; how many there were."""
    since = utcnow() - timedelta(minutes=security.throttle_window_minutes)
    async with write_transaction(lock_client=client_id):
        account = await _account(await _client(staff, client_id))
        cleared = await (
            LoginAttempt.delete()
            .where(
                (LoginAttempt.username == account["username"])
                & (LoginAttempt.at >= since)
                & LoginAttempt.outcome.is_in([o.value for o in FAILURES])
            )
            .returning(LoginAttempt.at, LoginAttempt.ip, LoginAttempt.outcome)
        )
        if not cleared:
            raise Conflict(
                "Sign-in is not locked: no failed attempts in the last "
                f"{security.throttle_window_minutes} minutes."
            )
        await _record(
            "staff.sign_in_unlocked", client_id, actor,
            cleared=[
                {"at": r["at"].isoformat(), "ip": r["ip"], "outcome": r["outcome"]}
                for r in sorted(cleared, key=lambda r: r["at"])
            ],
        )  # fmt: skip
    return len(cleared)
