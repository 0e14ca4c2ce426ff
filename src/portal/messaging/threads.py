"""My Messages: reading threads, their messages and attachments, unread counts.

A thread is between one client and the practice: written to one staff member or to a
desk (`portal.messaging.sending` writes them), answered by its assignee or anyone the
staff inbox lets read it; the client sees each reply under its sender's name. Unread = messages from the other side after the reader's
`ThreadRead` mark. Counts are one query however many threads or messages there
are. No unique index guards (thread, user) in `thread_read`, so readers take
MAX(last_read_at): a duplicate mark written by two tabs at once changes nothing.

A thread or attachment outside the reader's reach is `NotFound`; every download
of an attachment is audited, and a stored file whose bytes no longer match
their SHA-256 is a `Conflict` (audited too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.core import audit, uploads
from portal.core.actor import Actor
from portal.core.errors import Conflict, NotFound
from portal.messaging.recipients import staff_names
from portal.tables import Message, MessageAttachment, MessageThread, ThreadRead

NO_SUCH_THREAD = "No such conversation."
NO_SUCH_FILE = "No such file."
# How a client sees a thread written to a desk (portal.messaging.recipients).
DESK_NAMES = {"scheduling": "Scheduling", "billing": "Billing"}
DAMAGED = (
    "This file is damaged and cannot be downloaded. Please tell the practice so they can "
    "send it again."
)

# Unread messages for one reader: from the other side, after the reader's mark.
# The user's threads first (as the client, or as the staff member), then their messages by
# index: an OR across the two joins made SQLite scan every message in the practice.
_UNREAD_FROM = """
FROM message m
JOIN (
    SELECT t.id FROM thread t JOIN client c ON c.id = t.client WHERE c."user" = {}
    UNION SELECT t.id FROM thread t WHERE t.staff = {}
) mine ON mine.id = m.thread
LEFT JOIN (
    SELECT thread, MAX(last_read_at) AS read_at FROM thread_read WHERE "user" = {} GROUP BY thread
) r ON r.thread = m.thread
WHERE m.sender <> {} AND (r.read_at IS NULL OR m.created_at > r.read_at)
"""
UNREAD_TOTAL = "SELECT COUNT(*) AS unread" + _UNREAD_FROM
# The menu's unread badge is UNREAD_TOTAL: one of the counts portal.core.menu runs in one query.
UNREAD_BY_THREAD = (
    "SELECT m.thread AS thread, COUNT(*) AS unread" + _UNREAD_FROM + " GROUP BY m.thread"
)


@dataclass(frozen=True)
class ThreadSummary:
    id: int
    subject: str
    staff_name: str
    last_message_at: datetime
    unread: int


@dataclass(frozen=True)
class Attachment:
    id: int
    name: str
    content_type: str
    size: int

    @property
    def kind(self) -> str:
        return uploads.DOCUMENT_TYPES.get(self.content_type, "File")

    @property
    def size_text(self) -> str:
        if self.size < 1024:
            return f"{self.size} bytes"
        if self.size < 1024 * 1024:
            return f"{self.size / 1024:.0f} KB"
        return f"{self.size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class ShownMessage:
    id: int
    mine: bool
    sender_name: str
    body: str
    created_at: datetime
    new: bool
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class ThreadView:
    id: int
    subject: str
    staff_id: int
    staff_name: str
    staff_active: bool
    messages: list[ShownMessage]

    @property
    def unread(self) -> int:
        return sum(1 for m in self.messages if m.new)


# --- Reading -------------------------------------------------------------------------------------


async def mark_read(thread_id: int, user_id: int, upto: datetime) -> None:
    """Move the reader's mark forward to `upto` (never back)."""
    if await ThreadRead.exists().where(ThreadRead.thread == thread_id, ThreadRead.user == user_id):
        await ThreadRead.update({ThreadRead.last_read_at: upto}).where(
            ThreadRead.thread == thread_id,
            ThreadRead.user == user_id,
            ThreadRead.last_read_at < upto,
        )
    else:
        await ThreadRead.insert(ThreadRead(thread=thread_id, user=user_id, last_read_at=upto))


async def unread_total(user_id: int) -> int:
    """Unread messages across every thread the user takes part in (one query)."""
    rows = await MessageThread.raw(UNREAD_TOTAL, user_id, user_id, user_id, user_id)
    return int(rows[0]["unread"]) if rows else 0


async def threads(client: dict, user_id: int) -> list[ThreadSummary]:
    """The client's threads, latest first, each with its unread count."""
    rows = (
        await MessageThread.select(
            MessageThread.id,
            MessageThread.staff,
            MessageThread.subject,
            MessageThread.last_message_at,
            MessageThread.desk,
        )
        .where(MessageThread.client == client["id"])
        .order_by(MessageThread.last_message_at, ascending=False)
        .order_by(MessageThread.id, ascending=False)
    )
    if not rows:
        return []
    unread = {
        r["thread"]: int(r["unread"])
        for r in await MessageThread.raw(UNREAD_BY_THREAD, user_id, user_id, user_id, user_id)
    }
    names = await staff_names(client["practice"], [r["staff"] for r in rows])
    return [
        ThreadSummary(
            id=r["id"],
            subject=r["subject"],
            staff_name=DESK_NAMES.get(r["desk"]) or names.get(r["staff"], "The practice"),
            last_message_at=r["last_message_at"],
            unread=unread.get(r["id"], 0),
        )
        for r in rows
    ]


def _answering(thread: dict) -> tuple[int, bool]:
    """Who answers the thread for the practice (the assignee while active, else the staff
    member it was written to) and whether anyone there still takes messages."""
    if thread["assignee"] is not None and thread["assignee_active"]:
        return thread["assignee"], True
    return thread["staff"], bool(thread["staff_active"])


async def thread_contents(
    thread_id: int, reader_id: int
) -> tuple[list[dict], dict[int, list[Attachment]], datetime | None]:
    """A thread's messages (oldest first), their attachments by message id, and the reader's
    read mark (None before their first read): what the client's and the staff inbox's views
    of a thread are made of, in three queries."""
    messages = (
        await Message.select(Message.id, Message.sender, Message.body, Message.created_at)
        .where(Message.thread == thread_id)
        .order_by(Message.created_at)
        .order_by(Message.id)
    )
    files = (
        await MessageAttachment.select(
            MessageAttachment.id,
            MessageAttachment.message,
            MessageAttachment.file.display_name.as_alias("name"),
            MessageAttachment.file.content_type.as_alias("content_type"),
            MessageAttachment.file.size.as_alias("size"),
        )
        .where(MessageAttachment.message.thread == thread_id)
        .order_by(MessageAttachment.id)
    )
    by_message: dict[int, list[Attachment]] = {}
    for f in files:
        by_message.setdefault(f["message"], []).append(
            Attachment(f["id"], f["name"], f["content_type"], f["size"])
        )
    marks = await ThreadRead.select(ThreadRead.last_read_at).where(
        ThreadRead.thread == thread_id, ThreadRead.user == reader_id
    )
    read_at = max((m["last_read_at"] for m in marks), default=None)
    return messages, by_message, read_at


async def thread_view(thread_id: int, client: dict, user_id: int) -> ThreadView:
    """One of this client's threads with its messages and attachments; NotFound if not theirs.

    Each staff message is labelled with its sender as the practice shows them to clients
    (portal.messaging.recipients.staff_names), so the client sees who replied."""
    thread = (
        await MessageThread.select(
            MessageThread.id,
            MessageThread.subject,
            MessageThread.staff,
            MessageThread.staff.active.as_alias("staff_active"),
            MessageThread.assigned_to.as_alias("assignee"),
            MessageThread.assigned_to.active.as_alias("assignee_active"),
            MessageThread.desk,
        )
        .where(MessageThread.id == thread_id, MessageThread.client == client["id"])
        .first()
    )
    if thread is None:
        raise NotFound(NO_SUCH_THREAD)
    messages, by_message, read_at = await thread_contents(thread_id, user_id)
    answering, active = _answering(thread)
    senders = {m["sender"] for m in messages if m["sender"] != user_id}
    names = await staff_names(client["practice"], [answering, *senders])
    staff_name = DESK_NAMES.get(thread["desk"]) or names.get(answering, "The practice")
    shown = [
        ShownMessage(
            id=m["id"],
            mine=m["sender"] == user_id,
            sender_name="You" if m["sender"] == user_id else names.get(m["sender"], "The practice"),
            body=m["body"],
            created_at=m["created_at"],
            new=m["sender"] != user_id and (read_at is None or m["created_at"] > read_at),
            attachments=by_message.get(m["id"], []),
        )
        for m in messages
    ]
    return ThreadView(
        id=thread["id"],
        subject=thread["subject"],
        staff_id=answering,
        staff_name=staff_name,
        staff_active=active,
        messages=shown,
    )


async def open_thread(thread_id: int, client: dict, user_id: int) -> ThreadView:
    """The thread as `thread_view`, then marked read up to its latest message."""
    view = await thread_view(thread_id, client, user_id)
    if view.unread:
        await mark_read(thread_id, user_id, view.messages[-1].created_at)
    return view


async def download(attachment_id: int, *, actor: Actor) -> dict:
    """A message attachment's stored file, for a participant of its thread only (anyone
    else: NotFound), its bytes checked against their SHA-256 (damaged: Conflict).

    Both the download and a failed check are audited.
    """
    row = (
        await MessageAttachment.select(
            MessageAttachment.file,
            MessageAttachment.message.thread.staff.as_alias("staff"),
            MessageAttachment.message.thread.client.user.as_alias("client_user"),
        )
        .where(MessageAttachment.id == attachment_id)
        .first()
    )
    if row is None or actor.user_id not in (row["staff"], row["client_user"]):
        raise NotFound(NO_SUCH_FILE)
    return await fetch_attachment(attachment_id, row["file"], actor=actor)


async def fetch_attachment(attachment_id: int, file_id: int, *, actor: Actor) -> dict:
    """The attachment's stored file, its bytes checked (damaged: Conflict), the download
    audited; for a reader the caller has already let in (client or staff inbox)."""
    try:
        stored = await uploads.fetch(file_id)
    except uploads.IntegrityError as exc:
        await audit.record(
            "file.integrity_failed",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"message_attachment:{attachment_id}",
        )
        raise Conflict(DAMAGED) from exc
    if stored is None:
        raise NotFound(NO_SUCH_FILE)
    await audit.record(
        "message.attachment_downloaded",
        actor_id=actor.user_id,
        ip=actor.ip,
        subject=f"file:{stored['id']}",
    )
    return stored
