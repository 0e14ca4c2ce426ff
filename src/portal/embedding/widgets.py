"""What each embeddable widget shows of one client, for the staff member behind the request
(`/embed/clients/{client_id}/{widget}`): read through the same domain functions as the
client's dashboard and the staff record, and nothing the member's role may not see
(`sessions.may_open`, checked by the caller).

Actions (confirm, cancel) are offered on the appointments widget when the way in allows
them (an embed session started with actions, or the staff member's own session) and the
member may act on appointments (every staff role but the biller; a provider their own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.billing.ledger import balance
from portal.billing.staff_ledger import DESK_METHODS, WRITERS
from portal.core.errors import NotFound
from portal.dashboard.tasks import TaskContext, tasks_for
from portal.forms.assignments import for_client
from portal.insurance.policy import current_policy
from portal.practice.info import PracticeInfo
from portal.profile.emails import emails
from portal.profile.phones import phones
from portal.scheduling import appointments
from portal.staff.access import Part, Staff, client_clause
from portal.staff.record import recent_threads
from portal.tables import Client, User
from portal.tables.accounts import Role

THREADS_SHOWN = 5


def may_act(staff: Staff) -> bool:
    """Whether the member may confirm or cancel a client's appointments at all."""
    return staff.role is not Role.biller and staff.may(Part.appointments)


def may_take_payments(staff: Staff) -> bool:
    """Desk payments: the ledger's writers, as on Staff › Billing."""
    return staff.role in WRITERS


async def client_row(staff: Staff, client_id: int) -> dict:
    """The client, if the member may reach them (NotFound otherwise)."""
    row = await (
        Client.select()  # the whole row: the tasks read what the dashboard's read
        .where((Client.id == client_id) & client_clause(staff))
        .first()
    )
    if row is None:
        raise NotFound("No such client.")
    row["name"] = " ".join(p for p in (row["preferred_name"] or row["first_name"],
                                       row["last_name"]) if p)  # fmt: skip
    return row


async def load(
    widget: str, staff: Staff, client: dict, practice: PracticeInfo, now: datetime
) -> dict[str, Any]:
    """The context of `widget` for `client` (a row from `client_row`)."""
    cid = client["id"]
    if widget == "balance":
        return {"balance": await balance(cid), "methods": DESK_METHODS}
    if widget == "appointments":
        visits = await appointments.next_visits(cid, now, practice)
        return appointments.dashboard_view(visits)
    if widget == "tasks":
        visits = await appointments.next_visits(cid, now, practice)
        to_do, _ = await for_client(cid)
        two_factor = False
        if client["user"] is not None:
            user = await User.select(User.totp_secret).where(User.id == client["user"]).first()
            two_factor = bool(user and user["totp_secret"])
        ctx = TaskContext(client=client, two_factor_on=two_factor, now=now, practice=practice,
                          balance=await balance(cid), open_forms=to_do, upcoming=visits)  # fmt: skip
        return {"tasks": await tasks_for(ctx)}
    if widget == "insurance":
        return {"policy": await current_policy(cid)}
    if widget == "forms":
        to_do, submitted = await for_client(cid)
        return {"open_forms": to_do, "submitted_forms": submitted[:5]}
    if widget == "messages":
        return {"threads": await recent_threads(staff, client, THREADS_SHOWN)}
    if widget == "contact":
        return {"phones": await phones(cid), "emails": await emails(cid)}
    raise NotFound("No such widget.")
