"""Staff assign forms: one form from a client's record or from the form's settings page,
and, when a client is created (by staff or by an approved self-registration), every
active form marked "give to every new client" (`assign_to_new_clients`, set on the form's
settings page) or whose file's `assign` list names new clients ("all" or the status).

Only active forms are assigned: a retired one is refused (`Conflict`) and never given to a
new client; what was assigned before stays. A client holds at most one open copy of a
template: assigning it again while it is open changes nothing (`Conflict`). The caller
holds the write transaction for `assign_for_new_client` (it runs inside the client's
creation).
"""

from __future__ import annotations

import json

from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Conflict, NotFound
from portal.forms.assignments import OPEN
from portal.tables import FormAssignment, FormTemplate


async def templates(practice_id: int) -> list[dict]:
    """The practice's active forms (those that may be assigned), by title (id, title,
    version)."""
    return await (
        FormTemplate.select(FormTemplate.id, FormTemplate.title, FormTemplate.version)
        .where((FormTemplate.practice == practice_id) & FormTemplate.active.eq(True))
        .order_by(FormTemplate.title)
    )


async def _open_copy(client_id: int, template_id: int) -> bool:
    return await FormAssignment.exists().where(
        (FormAssignment.client == client_id)
        & (FormAssignment.template == template_id)
        & (FormAssignment.status == OPEN)
    )


async def assign(practice_id: int, client_id: int, template_id: int, actor: Actor) -> int:
    """Give the client an open copy of a form (the caller checked the client is in reach)."""
    async with write_transaction():
        row = (
            await FormTemplate.select(FormTemplate.title, FormTemplate.active)
            .where((FormTemplate.id == template_id) & (FormTemplate.practice == practice_id))
            .first()
        )
        if row is None:
            raise NotFound("There is no such form.")
        if not row["active"]:
            raise Conflict(f"{row['title']} is retired: restore it before assigning it.")
        if await _open_copy(client_id, template_id):
            raise Conflict(f"{row['title']} is already waiting for this client.")
        new = await FormAssignment.insert(
            FormAssignment(client=client_id, template=template_id, assigned_at=utcnow())
        ).returning(FormAssignment.id)
        await audit.record(
            "forms.assigned",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"client:{client_id}",
            detail={"client": client_id, "template": template_id, "title": row["title"]},
        )
    return new[0]["id"]


def names_new_clients(definition: object, status: str) -> bool:
    if isinstance(definition, str):
        definition = json.loads(definition or "{}")
    assign = definition.get("assign", []) if isinstance(definition, dict) else []
    return "all" in assign or f"status:{status}" in assign


async def assign_for_new_client(practice_id: int, client_id: int, status: str) -> list[str]:
    """Inside the creation's transaction: the forms the practice gives every new client of
    this status. Returns their titles."""
    rows = await FormTemplate.select(
        FormTemplate.id, FormTemplate.title, FormTemplate.definition,
        FormTemplate.assign_to_new_clients,
    ).where((FormTemplate.practice == practice_id) & FormTemplate.active.eq(True))  # fmt: skip
    titles = []
    now = utcnow()
    for r in rows:
        if r["assign_to_new_clients"] or names_new_clients(r["definition"], status):
            await FormAssignment.insert(
                FormAssignment(client=client_id, template=r["id"], assigned_at=now)
            )
            titles.append(r["title"])
    return titles
