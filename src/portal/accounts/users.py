"""Creating accounts (the `portal users` command; staff pages later)."""

from __future__ import annotations

from portal.accounts.auth import create_user, normalise_username
from portal.accounts.passwords import password_problem
from portal.core.clock import utcnow
from portal.core.db import write_transaction
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
    async with write_transaction():
        user_id = await create_user(username, email, password, role_value)
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
