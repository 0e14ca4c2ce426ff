"""Creating accounts (the `portal users` command; staff pages later), and a user changing
their own username (My Profile)."""

from __future__ import annotations

from portal.accounts import rechecks
from portal.accounts.auth import CurrentUser, create_user, normalise_username, username_taken
from portal.accounts.passwords import hash_password_async, password_problem
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.tables import Client, Practice, Provider, User
from portal.tables.accounts import Role


class UserInputError(ValueError):
    pass


async def create_account(
    username: str, email: str, password: str, role: str, first_name: str = "", last_name: str = ""
) -> int:
    username = normalise_username(username)
    if not username or len(username) > 150:
        raise UserInputError("A username has 1 to 150 characters.")
    if "@" not in email:
        raise UserInputError("Give a valid email address.")
    if problem := password_problem(password, username=username):
        raise UserInputError(problem)
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise UserInputError(f"Unknown role {role!r}.") from exc
    if await User.exists().where(User.username == username):
        raise UserInputError(f"The username {username!r} is taken.")
    practice = await Practice.select(Practice.id).order_by(Practice.id).first()
    if role_value in (Role.client, Role.provider) and practice is None:
        raise UserInputError("Create the practice first (for a demo: portal demo).")
    if role_value is Role.client and not (first_name and last_name):
        raise UserInputError("A client needs --first-name and --last-name.")
    password_hash = await hash_password_async(password)  # before the write lock
    async with write_transaction():
        user_id = await create_user(
            username, email, password, role_value, password_hash=password_hash
        )
        if role_value is Role.client:
            await Client.insert(
                Client(
                    practice=practice["id"],
                    user=user_id,
                    first_name=first_name,
                    last_name=last_name,
                    created_at=utcnow(),
                )
            )
        elif role_value is Role.provider:
            name = f"{first_name} {last_name}".strip() or username
            await Provider.insert(
                Provider(practice=practice["id"], user=user_id, display_name=name)
            )
    return user_id


async def change_username(
    user: CurrentUser, new_username: str, current_password: str, actor: Actor
) -> str:
    """The signed-in user's new username (normalised), once their password confirms it.

    Raises Invalid with a message per field (`username`, `current_password`) and changes
    nothing: an empty name, other characters than letters, digits and . _ - @, the same
    name, a wrong password, or (only once the password is right, so that a session
    cannot probe which names exist) one another account has. A wrong password counts
    towards `rechecks`' limit, which ends the session (`rechecks.SignedOut`). Audited
    with the old and new name.
    """
    new = normalise_username(new_username)
    errors: dict[str, str] = {}
    if not new:
        errors["username"] = "Enter a username."
    elif not all(ch.isalnum() or ch in "._-@" for ch in new):
        errors["username"] = "Use letters, digits and . _ - @ only."
    elif new == user.username:
        errors["username"] = "That is already your username."
    confirmed = await rechecks.confirm(user, actor, password=current_password)
    if not confirmed.password_ok:
        errors["current_password"] = "Your current password is not right."
    elif not errors and await username_taken(new, except_user=user.id):
        errors["username"] = "That username is taken. Choose another."
    if errors:
        raise Invalid(errors=errors)
    async with write_transaction():
        await User.update({User.username: new}).where(User.id == user.id)
        await audit.record(
            "account.username_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            detail={"old": user.username, "new": new},
        )
    return new
