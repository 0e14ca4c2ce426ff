"""Which client record belongs to a signed-in user."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotFoundException, PermissionDeniedException

from portal.tables import Client


async def client_for_user(user_id: int) -> dict | None:
    return await Client.select().where(Client.user == user_id).first()


def display_name(client: dict) -> str:
    return client.get("preferred_name") or client["first_name"]


async def provide_client(request: Request) -> dict:
    """The signed-in client's record (a dependency for client pages)."""
    if request.user.is_staff:
        raise PermissionDeniedException("This page is for clients.")
    client = await client_for_user(request.user.id)
    if client is None:
        raise NotFoundException("No client record is linked to this account.")
    return client
