"""Who on the staff may see what: the one access policy every staff page and query asks.

A staff member reaches a client's record part by part (`Part`). Owner and manager
reach every part of every client; a provider every part of their own clients (those
with an appointment with them, or assigned to them: `client_provider`); the scheduler
every client's contact details and appointments; the biller every client's contact
details, billing and insurance. Clinical forms are the providers' and the managers'.

Message threads follow their address (`thread_clause`): a thread written to a staff
member is theirs, one written to a desk (scheduling, billing) is every desk member's,
and owner and manager see all of them. So a biller never reads a thread addressed to a
provider, and a provider never reads another provider's.

Outside the policy nothing is "forbidden": it does not exist (`NotFound`, a 404), so a
client id tells a staff member nothing about a client who is not theirs. Every read of a
client's record by staff is audited (`staff.read`: who, which client, which part), as
HIPAA's access logging expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from piccolo.columns.combination import WhereRaw

from portal.core import audit
from portal.core.actor import Actor
from portal.core.errors import NotFound
from portal.tables import Client, Provider
from portal.tables.accounts import STAFF_ROLES, Role


class Part(str, Enum):
    """The parts of a client's record, as the policy grants them."""

    contact = "contact"  # name, date of birth, emails, phones, address, contacts
    demographics = "demographics"  # top demographics and the practice's custom ones
    appointments = "appointments"
    insurance = "insurance"
    forms = "forms"  # assigned, drafts and submitted forms: clinical
    messages = "messages"  # the threads this staff member may read (thread_clause)
    billing = "billing"  # ledger, payments, statements
    security = "security"  # sign-in history, two-factor state, sessions
    manage = "manage"  # deactivate, reactivate, end sessions, reset two-factor, unlock
    invite = "invite"  # invite to the portal, approve a self-registration


EVERYTHING = frozenset(Part)
GRANTS: dict[Role, frozenset[Part]] = {
    Role.owner: EVERYTHING,
    Role.manager: EVERYTHING,
    Role.provider: EVERYTHING - {Part.manage},
    Role.scheduler: frozenset({Part.contact, Part.appointments, Part.messages, Part.invite}),
    Role.biller: frozenset({Part.contact, Part.billing, Part.insurance, Part.messages}),
}
# The desks whose threads a role answers (the client wrote to the practice's designated
# scheduler or biller); owner and manager read every thread anyway.
DESKS: dict[Role, frozenset[str]] = {
    Role.scheduler: frozenset({"scheduling"}),
    Role.biller: frozenset({"billing"}),
}
# Roles that reach every client of the practice; a provider reaches their own.
ALL_CLIENTS = frozenset({Role.owner, Role.manager, Role.scheduler, Role.biller})


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member as the policy sees them."""

    user_id: int
    role: Role
    provider_id: int | None = None  # the provider row of a provider's account

    def may(self, part: Part) -> bool:
        return part in GRANTS.get(self.role, frozenset())

    @property
    def sees_all_clients(self) -> bool:
        return self.role in ALL_CLIENTS

    @property
    def sees_all_threads(self) -> bool:
        return self.role in (Role.owner, Role.manager)

    @property
    def desks(self) -> frozenset[str]:
        return DESKS.get(self.role, frozenset())

    @property
    def parts(self) -> list[Part]:
        """The record parts this member may open, in the record's order."""
        return [p for p in Part if self.may(p)]


async def staff_member(user_id: int, role: Role) -> Staff:
    """The policy's view of a staff account (one query for a provider, none otherwise)."""
    if role not in STAFF_ROLES:
        raise NotFound("Not a staff account.")
    provider_id = None
    if role is Role.provider:
        row = await Provider.select(Provider.id).where(Provider.user == user_id).first()
        provider_id = row["id"] if row else None
    return Staff(user_id=user_id, role=role, provider_id=provider_id)


# A provider's own clients: an appointment with them, or assigned to them. Two parameters.
_OWN = (
    "SELECT client FROM appointment WHERE provider = {}"
    " UNION SELECT client FROM client_provider WHERE provider = {}"
)


def client_clause(staff: Staff, column: str = "id") -> WhereRaw:
    """A WHERE condition on a client id `column` that keeps the clients `staff` may reach."""
    if staff.sees_all_clients:
        return WhereRaw("1 = 1")
    if staff.provider_id is None:  # a provider's account with no provider row: nobody
        return WhereRaw("1 = 0")
    return WhereRaw(
        # `column` is ours (a table's column name), never input; the ids are parameters.
        f"{column} IN ({_OWN})",
        staff.provider_id,
        staff.provider_id,
    )


def thread_clause(staff: Staff, table: str = "thread") -> WhereRaw:
    """A WHERE condition on thread rows that keeps the threads `staff` may read.

    Owner and manager: every thread. Anyone: the threads written to them. The scheduler and
    the biller: their desk's threads. A provider: also threads assigned to them, but only
    of their own clients, so an assignment can never hand a client's thread to someone the
    policy keeps from that client (who may be assigned is `messaging.inbox.assignees`)."""
    if staff.sees_all_threads:
        return WhereRaw("1 = 1")
    desks = sorted(staff.desks)
    if desks:
        marks = ", ".join("{}" for _ in desks)
        return WhereRaw(
            f"({table}.staff = {{}} OR {table}.desk IN ({marks}))", staff.user_id, *desks
        )
    if staff.provider_id is None:
        return WhereRaw(f"{table}.staff = {{}}", staff.user_id)
    pid = staff.provider_id
    return WhereRaw(
        f"({table}.staff = {{}} OR ({table}.assigned_to = {{}} AND {table}.client IN ({_OWN})))",
        staff.user_id,
        staff.user_id,
        pid,
        pid,
    )


async def may_reach(staff: Staff, client_id: int) -> bool:
    return await Client.exists().where((Client.id == client_id) & client_clause(staff))


async def open_record(
    staff: Staff, client_id: int, part: Part, actor: Actor, *, audit_read: bool = True
) -> dict:
    """The client's row, if `staff` may open this part of their record; the read is audited.

    Raises NotFound (404) for a client out of reach and for a part the role may not open,
    so neither tells anything about the client. A route that reads one item of the part
    (a form, a card image) passes `audit_read=False` and calls `audited_read` with the item
    once it has found it, so the log names what was read and never a read that failed."""
    if not staff.may(part):
        raise NotFound("No such client.")
    row = await Client.select().where((Client.id == client_id) & client_clause(staff)).first()
    if row is None:
        raise NotFound("No such client.")
    if audit_read:
        await audited_read(staff, client_id, part, actor)
    return row


async def audited_read(
    staff: Staff, client_id: int, part: Part | str, actor: Actor, *, item: str = ""
) -> None:
    """Log a staff read of a client's record (HIPAA access log): who, which client, which
    part, and the item when one was read ("form:12", "form:12:pdf", "policy:3:front",
    "thread:7", "attachment:9")."""
    detail = {"client": client_id, "part": Part(part).value, "role": staff.role.value}
    if item:
        detail["item"] = item
    await audit.record(
        "staff.read",
        actor_id=staff.user_id,
        ip=actor.ip,
        subject=f"client:{client_id}",
        detail=detail,
    )
