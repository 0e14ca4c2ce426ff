"""The staff inbox's thread: reading it, replying, assigning it, marking it done.

Every function takes the staff member (`portal.staff.access.Staff`) and reaches a thread
only through `thread_clause`: a thread this member may not read is `NotFound`, whatever
the action. Reading marks the thread read for this member and is a staff read of the
client's record (audited, `staff.read`, part messages); a reply goes through the same
checks as a client's (portal.messaging.sending) and sends the client a notice without
content; assigning and marking done or reopening are audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.messaging import sending
from portal.messaging.inbox import DESK_NAMES, assignable, staff_labels
from portal.messaging.sending import Upload
from portal.messaging.threads import (
    NO_SUCH_FILE,
    NO_SUCH_THREAD,
    ShownMessage,
    fetch_attachment,
    mark_read,
    thread_contents,
)
from portal.staff.access import Part, Staff, audited_read, thread_clause
from portal.tables import MessageAttachment, MessageThread
from portal.tables.people import ClientStatus

CHOOSE_ASSIGNEE = "Choose someone from the list: the staff who use the portal and may read this client's messages."


@dataclass(frozen=True)
class StaffThread:
    id: int
    subject: str
    client_id: int
    client_name: str
    client_closed: bool  # the client's file is closed (they read, but cannot answer)
    desk: str  # "Scheduling", "Billing" or ""
    desk_key: str  # "scheduling", "billing" or "" (thread.desk)
    addressed_to: int  # the staff member the client wrote to
    addressed_name: str
    assigned_to: int | None
    assigned_name: str
    done_at: datetime | None
    messages: list[ShownMessage]

    @property
    def unread(self) -> int:
        return sum(1 for m in self.messages if m.new)


async def _thread(staff: Staff, thread_id: int) -> dict:
    """The thread's row if this member may read it; NotFound otherwise."""
    row = (
        await MessageThread.select(
            MessageThread.id,
            MessageThread.subject,
            MessageThread.client,
            MessageThread.client.first_name.as_alias("first_name"),
            MessageThread.client.last_name.as_alias("last_name"),
            MessageThread.client.status.as_alias("client_status"),
            MessageThread.client.user.as_alias("client_user"),
            MessageThread.client.user.email.as_alias("client_email"),
            MessageThread.client.user.active.as_alias("client_active"),
            MessageThread.staff,
            MessageThread.desk,
            MessageThread.assigned_to,
            MessageThread.done_at,
        )
        .where((MessageThread.id == thread_id) & thread_clause(staff))
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_THREAD)
    return row


async def view(staff: Staff, thread_id: int) -> StaffThread:
    """The thread with its messages and attachments, as this member reads it."""
    thread = await _thread(staff, thread_id)
    messages, by_message, read_at = await thread_contents(thread_id, staff.user_id)
    client_user = thread["client_user"]
    client_name = f"{thread['first_name']} {thread['last_name']}".strip()
    senders = {m["sender"] for m in messages if m["sender"] != client_user}
    labels = await staff_labels([thread["staff"], thread["assigned_to"], *senders])

    def sender_name(sender: int) -> str:
        if sender == staff.user_id:
            return "You"
        if sender == client_user:
            return client_name
        return labels.get(sender, "Staff")

    shown = [
        ShownMessage(
            id=m["id"],
            mine=m["sender"] == staff.user_id,
            sender_name=sender_name(m["sender"]),
            body=m["body"],
            created_at=m["created_at"],
            # New for this member: the client's messages after their read mark.
            new=m["sender"] == client_user and (read_at is None or m["created_at"] > read_at),
            attachments=by_message.get(m["id"], []),
        )
        for m in messages
    ]
    return StaffThread(
        id=thread["id"],
        subject=thread["subject"],
        client_id=thread["client"],
        client_name=client_name,
        client_closed=thread["client_status"] == ClientStatus.inactive,
        desk=DESK_NAMES.get(thread["desk"], ""),
        desk_key=thread["desk"],
        addressed_to=thread["staff"],
        addressed_name=labels.get(thread["staff"], ""),
        assigned_to=thread["assigned_to"],
        assigned_name=labels.get(thread["assigned_to"], "") if thread["assigned_to"] else "",
        done_at=thread["done_at"],
        messages=shown,
    )


async def open_thread(staff: Staff, thread_id: int, actor: Actor) -> StaffThread:
    """The thread as `view`, marked read for this member; the read of the client's record
    audited."""
    thread = await view(staff, thread_id)
    async with write_transaction():
        if thread.messages:
            await mark_read(thread_id, staff.user_id, thread.messages[-1].created_at)
        await audited_read(
            staff, thread.client_id, Part.messages, actor, item=f"thread:{thread_id}"
        )
    return thread


async def reply(
    staff: Staff, thread_id: int, *, actor: Actor, body: str, files: Sequence[Upload]
) -> int:
    """A staff member's reply (the same checks as a client's); the client gets a notice
    without content. NotFound outside thread_clause; Invalid for a draft that cannot go."""
    thread = await _thread(staff, thread_id)
    body, checked, errors = await sending.check_reply(body, files)
    if errors:
        raise Invalid(errors=errors)
    recipient = {"email": thread["client_email"], "active": thread["client_active"]}
    return await sending.post_reply(
        thread_id, staff.user_id, body, checked, to=thread["client_user"], recipient=recipient,
        to_staff=False, actor=actor, detail={"client": thread["client"]},
    )  # fmt: skip


async def assign(staff: Staff, thread_id: int, *, actor: Actor, to: int | None) -> bool:
    """Assign the thread to an active staff member (audited); whether this member may
    still read it afterwards (a provider handing on a thread they were only assigned)."""
    thread = await _thread(staff, thread_id)
    allowed = await assignable(thread["client"], thread["desk"], thread["staff"])
    if to not in {a.user_id for a in allowed}:
        raise Invalid(errors={"to": CHOOSE_ASSIGNEE})
    if to != thread["assigned_to"]:
        async with write_transaction():
            await MessageThread.update({MessageThread.assigned_to: to}).where(
                MessageThread.id == thread_id
            )
            await audit.record(
                "thread.assigned",
                actor_id=staff.user_id,
                ip=actor.ip,
                subject=f"thread:{thread_id}",
                detail={"client": thread["client"], "from": thread["assigned_to"], "to": to},
            )
    return await MessageThread.exists().where(
        (MessageThread.id == thread_id) & thread_clause(staff)
    )


async def set_done(staff: Staff, thread_id: int, *, actor: Actor, done: bool) -> None:
    """Mark the thread done (out of the open inbox) or reopen it; audited when it changes."""
    thread = await _thread(staff, thread_id)
    if done == (thread["done_at"] is not None):
        return
    async with write_transaction():
        await MessageThread.update({MessageThread.done_at: utcnow() if done else None}).where(
            MessageThread.id == thread_id
        )
        await audit.record(
            "thread.done" if done else "thread.reopened",
            actor_id=staff.user_id,
            ip=actor.ip,
            subject=f"thread:{thread_id}",
            detail={"client": thread["client"]},
        )


async def download(staff: Staff, thread_id: int, attachment_id: int, *, actor: Actor) -> dict:
    """An attachment of a thread this member may read (anything else: NotFound); the
    download is audited, as a read of the client's record too."""
    thread = await _thread(staff, thread_id)
    row = (
        await MessageAttachment.select(MessageAttachment.file)
        .where(
            (MessageAttachment.id == attachment_id)
            & (MessageAttachment.message.thread == thread_id)
        )
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_FILE)
    stored = await fetch_attachment(attachment_id, row["file"], actor=actor)
    await audited_read(
        staff, thread["client"], Part.messages, actor, item=f"attachment:{attachment_id}"
    )
    return stored
