"""How a client is named to themselves (the record comes with the session: accounts.auth)."""

from __future__ import annotations


def display_name(client: dict) -> str:
    return client.get("preferred_name") or client["first_name"]
