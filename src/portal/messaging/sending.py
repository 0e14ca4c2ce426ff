"""My Messages: checking a draft, starting a thread, replying, the recipient's mail notice.

A client starts a thread with one of `recipients.recipients(client)`; either side
may reply in a thread they take part in. A message, its attachments, the
thread's new `last_message_at`, the sender's read mark, the audit event and the
recipient's mail notice are written in one transaction: all of it happens, or none.

A draft that cannot be sent raises `Invalid` (errors by form field, "form" for
the whole form); a client whose file is closed is `Refused`; a thread the sender
takes no part in is `NotFound`.

The mail notice says only that a message arrived: no subject, body, file name
or sender name (a message's content is clinical). Its link lands on the thread: the
staff inbox's (/staff/inbox/{id}) for staff, My Messages' (/messages/{id}) for the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from portal.core import audit, mail, uploads
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound, Refused
from portal.messaging.recipients import may_send, recipients
from portal.messaging.threads import NO_SUCH_THREAD, mark_read
from portal.tables import Message, MessageAttachment, MessageThread, User
from portal.tables.people import ClientStatus

MAX_SUBJECT = 200
MAX_BODY = 10_000
MAX_ATTACHMENTS = 5

INACTIVE = (
    "Your file with the practice is closed, so you can read your messages but not send new "
    "ones. To reach the practice, call the office."
)


@dataclass(frozen=True)
class Upload:
    """An attached file as it arrived: the user's file name (display only) and its bytes."""

    filename: str
    data: bytes


# --- Checking a draft --------------------------------------------------------------------------


def clean_subject(value: str) -> str:
    return " ".join(value.split())


def clean_body(value: str) -> str:
    # Browsers send line breaks as CRLF; a textarea's maxlength counts them as one.
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def check_draft(
    *, subject: str | None, body: str, files: Sequence[Upload]
) -> tuple[dict[str, str], list[uploads.Checked]]:
    """Field errors and the accepted files. `subject` None: a reply (it has none)."""
    errors: dict[str, str] = {}
    if subject is not None:
        if not subject:
            errors["subject"] = "Enter a subject."
        elif len(subject) > MAX_SUBJECT:
            errors["subject"] = (
                f"Keep the subject to {MAX_SUBJECT} characters ({len(subject)} now)."
            )
    if not body:
        errors["body"] = "Write your message."
    elif len(body) > MAX_BODY:
        errors["body"] = f"Keep the message to {MAX_BODY:,} characters ({len(body):,} now)."
    checked: list[uploads.Checked] = []
    problems: list[str] = []
    if len(files) > MAX_ATTACHMENTS:
        problems.append(f"Attach at most {MAX_ATTACHMENTS} files to one message.")
    else:
        for f in files:
            try:
                checked.append(uploads.check(f.data, f.filename or "file"))
            except uploads.UploadError as exc:
                problems.append(str(exc))
    if problems:
        errors["attachments"] = " ".join(problems)
    return errors, checked


# --- Sending -------------------------------------------------------------------------------------


async def check_reply(
    body: str, files: Sequence[Upload]
) -> tuple[str, list[uploads.Checked], dict]:
    """A reply's cleaned body, its accepted files and the field errors (client or staff)."""
    body = clean_body(body)
    errors, checked = await uploads.off_the_loop(check_draft, subject=None, body=body, files=files)
    return body, checked, errors


async def write_message(
    thread_id: int, sender_id: int, body: str, files: Sequence[uploads.Checked], now: datetime
) -> tuple[int, list[int]]:
    """The message and its files, the thread's last_message_at, the sender's read mark."""
    message_id = (
        await Message.insert(
            Message(thread=thread_id, sender=sender_id, body=body, created_at=now)
        ).returning(Message.id)
    )[0]["id"]
    file_ids = []
    for f in files:
        file_id = await uploads.store(f, uploaded_by=sender_id)
        await MessageAttachment.insert(MessageAttachment(message=message_id, file=file_id))
        file_ids.append(file_id)
    await MessageThread.update({MessageThread.last_message_at: now}).where(
        MessageThread.id == thread_id
    )
    await mark_read(thread_id, sender_id, now)
    return message_id, file_ids


def thread_link(portal_url: str, thread_id: int, *, to_staff: bool) -> str:
    """Where a notice lands: the staff inbox's thread, or the client's My Messages thread."""
    if to_staff:
        return f"{portal_url}/staff/inbox/{thread_id}"
    return f"{portal_url}/messages/{thread_id}"


async def notify(recipient: dict, *, to_staff: bool, thread_id: int, actor: Actor) -> None:
    """The other side's mail notice: that a message arrived and a link to the thread, nothing
    of the message (no subject, body, file name or sender)."""
    if not recipient.get("email") or not recipient.get("active", True):
        return
    await mail.queue(
        recipient["email"],
        "new_message",
        to_staff=to_staff,
        practice_name=actor.practice_name,
        link=thread_link(actor.portal_url, thread_id, to_staff=to_staff),
    )


async def start_thread(
    client: dict,
    *,
    actor: Actor,
    to: int | None,
    subject: str,
    body: str,
    files: Sequence[Upload],
) -> int:
    """The client's (`actor`) new thread to one of `recipients(client)`; the thread's id.

    Written to the designated scheduler or biller, the thread belongs to that desk
    (`desk`); it starts assigned to the recipient. Refused while the client's file is
    closed; Invalid for a draft that cannot be sent.
    """
    if not may_send(client):
        raise Refused(errors={"form": INACTIVE})
    subject, body = clean_subject(subject), clean_body(body)
    errors, checked = await uploads.off_the_loop(
        check_draft, subject=subject, body=body, files=files
    )
    allowed = {r.user_id: r for r in await recipients(client)}
    if to not in allowed:
        errors = {"to": "Choose who to write to.", **errors}
    if errors:
        raise Invalid(errors=errors)
    now = utcnow()
    async with write_transaction():
        thread_id = (
            await MessageThread.insert(
                MessageThread(
                    client=client["id"],
                    staff=to,
                    subject=subject,
                    created_at=now,
                    last_message_at=now,
                    desk=allowed[to].desk,
                    assigned_to=to,
                )
            ).returning(MessageThread.id)
        )[0]["id"]
        message_id, file_ids = await write_message(thread_id, actor.user_id, body, checked, now)
        await audit.record(
            "message.sent",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"thread:{thread_id}",
            detail={"message": message_id, "to": to, "new_thread": True, "files": file_ids},
        )
        staff = await User.select(User.email, User.active).where(User.id == to).first()
        await notify(staff, to_staff=True, thread_id=thread_id, actor=actor)
    return thread_id


def responder(thread: dict) -> dict | None:
    """Who answers a thread for the practice: its assignee while active, else the staff
    member it was written to while active; None when neither takes messages any more.

    `thread` carries staff, staff_email, staff_active, assignee, assignee_email,
    assignee_active (as `reply` selects them)."""
    if thread["assignee"] is not None and thread["assignee_active"]:
        return {"id": thread["assignee"], "email": thread["assignee_email"], "active": True}
    if thread["staff_active"]:
        return {"id": thread["staff"], "email": thread["staff_email"], "active": True}
    return None


async def reply(thread_id: int, *, actor: Actor, body: str, files: Sequence[Upload]) -> int:
    """A reply by either participant (the client or the thread's staff member); its id.

    A client's reply notifies the thread's responder (the assignee, else the staff member
    it was written to) and brings a thread marked done back into the inbox. Staff reply
    from the inbox (portal.messaging.staff_replies), as the access policy lets them.

    NotFound when the sender takes no part in the thread (someone else's is no thread);
    Refused for a client whose file is closed; Invalid for a draft that cannot be sent.
    """
    sender_id = actor.user_id
    thread = (
        await MessageThread.select(
            MessageThread.id,
            MessageThread.staff,
            MessageThread.staff.email.as_alias("staff_email"),
            MessageThread.staff.active.as_alias("staff_active"),
            MessageThread.assigned_to.as_alias("assignee"),
            MessageThread.assigned_to.email.as_alias("assignee_email"),
            MessageThread.assigned_to.active.as_alias("assignee_active"),
            MessageThread.client.status.as_alias("client_status"),
            MessageThread.client.user.as_alias("client_user"),
            MessageThread.client.user.email.as_alias("client_email"),
            MessageThread.client.user.active.as_alias("client_active"),
        )
        .where(MessageThread.id == thread_id)
        .first()
    )
    if thread is None or sender_id not in (thread["staff"], thread["client_user"]):
        raise NotFound(NO_SUCH_THREAD)
    from_client = sender_id == thread["client_user"]
    if from_client and thread["client_status"] == ClientStatus.inactive:
        raise Refused(errors={"form": INACTIVE})
    body, checked, errors = await check_reply(body, files)
    answering = responder(thread)
    if from_client and answering is None:
        errors = {
            "form": "This person no longer takes messages through the portal. "
            "Start a new message to someone else at the practice.",
            **errors,
        }
    if errors:
        raise Invalid(errors=errors)
    if from_client:
        to, recipient = answering["id"], answering
    else:
        to = thread["client_user"]
        recipient = {"email": thread["client_email"], "active": thread["client_active"]}
    return await post_reply(
        thread_id, sender_id, body, checked, to=to, recipient=recipient, to_staff=from_client,
        actor=actor,
    )  # fmt: skip


async def post_reply(
    thread_id: int, sender_id: int, body: str, files: Sequence[uploads.Checked], *, to: int,
    recipient: dict, to_staff: bool, actor: Actor, detail: dict | None = None,
) -> int:  # fmt: skip
    """A checked reply in one transaction, by the client (`reply`) or staff
    (portal.messaging.staff_replies): the message (`write_message`), the `message.sent`
    audit event (`detail` adds to it), the recipient's notice; its id. A client's reply
    (`to_staff`) brings a thread marked done back into the inbox: a new question."""
    now = utcnow()
    async with write_transaction():
        message_id, file_ids = await write_message(thread_id, sender_id, body, files, now)
        if to_staff:
            await MessageThread.update({MessageThread.done_at: None}).where(
                MessageThread.id == thread_id
            )
        await audit.record(
            "message.sent",
            actor_id=sender_id,
            ip=actor.ip,
            subject=f"thread:{thread_id}",
            detail={
                "message": message_id,
                "to": to,
                **(detail or {}),
                "new_thread": False,
                "files": file_ids,
            },
        )
        await notify(recipient, to_staff=to_staff, thread_id=thread_id, actor=actor)
    return message_id
