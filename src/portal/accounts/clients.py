"""Which client record belongs to a signed-in user."""

from __future__ import annotations

from portal.tables import Client


async def client_for_user(user_id: int) -> dict | None:
    return await Client.select().where(Client.user == user_id).first()


def display_name(client: dict) -> str:
    return client.get("preferred_name") or client["first_name"]
