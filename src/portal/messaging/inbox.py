"""The staff inbox: the threads a staff member may read (portal.staff.access.thread_clause)
and how many have a client's message they have not read yet.

The list is newest first, filtered (`SHOWS`: open threads by default; unread, assigned to
me, my desks, done) and paged, in a fixed number of queries whatever the number of
threads. Staff appear to each other by provider name, else by username, with their role
(`staff_labels`); a thread is assigned to those the policy lets read it (`assignable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from piccolo.columns.combination import WhereRaw

from portal.staff.access import Staff, thread_clause
from portal.tables import MessageThread, User
from portal.tables.accounts import Role

PER_PAGE = 25
# The filters, as the inbox offers them: "" is every open thread (done ones are hidden).
SHOWS = {
    "": "Open",
    "unread": "Unread",
    "mine": "Assigned to me",
    "desk": "Desk",
    "done": "Done",
}
DESK_NAMES = {"scheduling": "Scheduling", "billing": "Billing"}
ROLE_LABELS = {
    Role.owner: "owner",
    Role.manager: "manager",
    Role.provider: "provider",
    Role.scheduler: "scheduler",
    Role.biller: "biller",
}

# A thread is unread for a staff member while it holds a message from its client newer
# than what that staff member has read of it (thread_read). Done threads are not counted.
_UNREAD = (
    "EXISTS (SELECT 1 FROM message m JOIN client c ON c.id = thread.client"
    ' WHERE m.thread = thread.id AND m.sender = c."user"'
    " AND NOT EXISTS (SELECT 1 FROM thread_read r"
    ' WHERE r.thread = thread.id AND r."user" = {} AND r.last_read_at >= m.created_at))'
)


def unread_clause(staff: Staff) -> WhereRaw:
    return WhereRaw(_UNREAD, staff.user_id)


async def unread_count(staff: Staff) -> int:
    """Threads this staff member may read with a client's message they have not read."""
    return await MessageThread.count().where(
        thread_clause(staff) & MessageThread.done_at.is_null() & unread_clause(staff)
    )


# --- Who is who among the staff ---------------------------------------------------------------

_LABELS = (
    "SELECT u.id AS id, u.username AS username, u.role AS role, u.active AS active,"
    " p.display_name AS name, p.credentials AS credentials"
    ' FROM portal_user u LEFT JOIN provider p ON p."user" = u.id'
)


def _label(row: dict) -> str:
    name = ", ".join(p for p in (row["name"], row["credentials"]) if p) or row["username"]
    return f"{name} ({ROLE_LABELS.get(Role(row['role']), row['role'])})"


async def staff_labels(user_ids: Sequence[int | None]) -> dict[int, str]:
    """How staff see each other: "Dr. Elena Ruiz, PsyD (provider)", "priya (scheduler)"."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await User.raw(f"{_LABELS} WHERE u.id IN ({marks})", *ids)
    return {r["id"]: _label(r) for r in rows}


@dataclass(frozen=True)
class Assignee:
    user_id: int
    label: str


# Who may be handed a thread: whoever the access policy (staff/access.thread_clause) then
# lets read it. Owner and manager; the staff member it was written to; a provider whose
# client it is; the members of its desk. Never the biller for a provider's thread, never a
# provider for someone else's client.
_ASSIGNEES = _LABELS + (  # noqa: S608 - constants; the ids and desk are parameters
    " WHERE u.active = {} AND ("
    " u.role IN ('owner', 'manager') OR u.id = {}"
    " OR (u.role = 'provider' AND p.id IN (SELECT provider FROM appointment WHERE client = {}"
    " UNION SELECT provider FROM client_provider WHERE client = {}))"
    " OR (u.role = 'scheduler' AND {} = 'scheduling') OR (u.role = 'biller' AND {} = 'billing'))"
)


async def assignable(client_id: int, desk: str, addressed_to: int) -> list[Assignee]:
    """The active staff a thread of this client (written to `addressed_to`, at `desk`) may
    be assigned to, by label."""
    rows = await User.raw(_ASSIGNEES, True, addressed_to, client_id, client_id, desk, desk)
    return sorted((Assignee(r["id"], _label(r)) for r in rows), key=lambda a: a.label.lower())


# --- The list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxThread:
    id: int
    subject: str
    client_id: int
    client_name: str
    last_message_at: datetime
    unread: bool
    desk: str
    assigned_name: str
    done: bool


@dataclass(frozen=True)
class InboxPage:
    threads: list[InboxThread]
    show: str
    page: int
    pages: int
    total: int
    unread: int
    shows: dict[str, str]


def shows_for(staff: Staff) -> dict[str, str]:
    """The filters that mean something for this member (no desk filter without desks)."""
    if staff.desks or staff.sees_all_threads:
        return dict(SHOWS)
    return {k: v for k, v in SHOWS.items() if k != "desk"}


def _filter(staff: Staff, show: str):  # noqa: ANN202 - a Piccolo where clause
    where = thread_clause(staff)
    if show == "done":
        return where & MessageThread.done_at.is_not_null()
    where = where & MessageThread.done_at.is_null()
    if show == "unread":
        return where & unread_clause(staff)
    if show == "mine":
        return where & (
            (MessageThread.assigned_to == staff.user_id)
            | (MessageThread.assigned_to.is_null() & (MessageThread.staff == staff.user_id))
        )
    if show == "desk":
        if staff.desks:
            return where & MessageThread.desk.is_in(sorted(staff.desks))
        return where & (MessageThread.desk != "")
    return where


async def inbox(staff: Staff, *, show: str = "", page: int = 1) -> InboxPage:
    """One page of the threads this member may read, newest first (five queries)."""
    shows = shows_for(staff)
    if show not in shows:
        show = ""
    where = _filter(staff, show)
    total = await MessageThread.count().where(where)
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows = await (
        MessageThread.select(
            MessageThread.id,
            MessageThread.subject,
            MessageThread.client,
            MessageThread.client.first_name.as_alias("first_name"),
            MessageThread.client.last_name.as_alias("last_name"),
            MessageThread.last_message_at,
            MessageThread.desk,
            MessageThread.staff,
            MessageThread.assigned_to,
            MessageThread.done_at,
        )
        .where(where)
        .order_by(MessageThread.last_message_at, ascending=False)
        .order_by(MessageThread.id, ascending=False)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    ids = [r["id"] for r in rows]
    unread_ids: set[int] = set()
    if ids:
        found = await MessageThread.select(MessageThread.id).where(
            MessageThread.id.is_in(ids) & unread_clause(staff)
        )
        unread_ids = {r["id"] for r in found}
    labels = await staff_labels([r["assigned_to"] or r["staff"] for r in rows])
    threads = [
        InboxThread(
            id=r["id"],
            subject=r["subject"],
            client_id=r["client"],
            client_name=f"{r['first_name']} {r['last_name']}".strip(),
            last_message_at=r["last_message_at"],
            unread=r["id"] in unread_ids,
            desk=DESK_NAMES.get(r["desk"], ""),
            assigned_name=labels.get(r["assigned_to"] or r["staff"], ""),
            done=r["done_at"] is not None,
        )
        for r in rows
    ]
    return InboxPage(
        threads=threads,
        show=show,
        page=page,
        pages=pages,
        total=total,
        unread=await unread_count(staff),
        shows=shows,
    )
