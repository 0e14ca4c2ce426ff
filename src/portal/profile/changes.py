"""How a profile change is recorded: an audit event on the client, with old and new values.

Every write in this package runs in `write_transaction(lock_client=client_id)`
(this client's details change one writer at a time) and records its change
here, in the audit table staff review — never in the logs.
"""

from __future__ import annotations

from typing import Any

from portal.core import audit
from portal.core.actor import Actor

NOT_FOUND = "There is no such item in your profile."


async def record(action: str, client_id: int, actor: Actor, **detail: Any) -> None:
    await audit.record(
        action, actor_id=actor.user_id, ip=actor.ip, subject=f"client:{client_id}", detail=detail
    )
