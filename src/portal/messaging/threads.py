"""My Messages: who a client may write to, threads, unread counts, sending with attachments.

A thread is between one client and one staff member. A client may start a
thread with their providers (the providers they have appointments with) and
with the practice's designated scheduler and biller; either side may reply in
a thread they take part in. A message, its attachments, the thread's new
`last_message_at`, the sender's read mark, the audit event and the recipient's
mail notice are written in one transaction: all of it happens, or none.

Unread = messages from the other side after the reader's `ThreadRead` mark.
Counts are one query however many threads or messages there are. No unique
index guards (thread, user) in `thread_read`, so readers take MAX(last_read_at):
a duplicate mark written by two tabs at once changes nothing.

The mail notice says only that a message arrived: no subject, body, file name
or sender name (a message's content is clinical).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from piccolo.engine.sqlite import TransactionType

from portal.core import audit, mail, uploads
from portal.core.clock import utcnow
from portal.tables import (
    Appointment,
    Message,
    MessageAttachment,
    MessageThread,
    Practice,
    Provider,
    ThreadRead,
    User,
)
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus

MAX_SUBJECT = 200
MAX_BODY = 10_000
MAX_ATTACHMENTS = 5

INACTIVE = (
    "Your file with the practice is closed, so you can read your messages but not send new "
    "ones. To reach the practice, call the office."
)

ROLE_NAMES = {
    Role.owner: "Practice owner",
    Role.manager: "Practice manager",
    Role.provider: "Provider",
    Role.scheduler: "Scheduling",
    Role.biller: "Billing",
}

# Unread messages for one reader: from the other side, after the reader's mark.
_UNREAD_FROM = """
FROM message m
JOIN thread t ON t.id = m.thread
JOIN client c ON c.id = t.client
LEFT JOIN (
    SELECT thread, MAX(last_read_at) AS read_at FROM thread_read WHERE "user" = {} GROUP BY thread
) r ON r.thread = m.thread
WHERE (c."user" = {} OR t.staff = {}) AND m.sender <> {}
  AND (r.read_at IS NULL OR m.created_at > r.read_at)
"""
UNREAD_TOTAL = "SELECT COUNT(*) AS unread" + _UNREAD_FROM
# The menu's unread badge is UNREAD_TOTAL: one of the counts portal.core.menu runs in one query.
UNREAD_BY_THREAD = (
    "SELECT m.thread AS thread, COUNT(*) AS unread" + _UNREAD_FROM + " GROUP BY m.thread"
)


class DraftError(Exception):
    """A message that cannot be sent: `errors` by form field ("form" for the whole form)."""

    def __init__(self, errors: dict[str, str], status: int = 422) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.status = status


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    about: str


@dataclass(frozen=True)
class Upload:
    """An attached file as it arrived: the user's file name (display only) and its bytes."""

    filename: str
    data: bytes


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


# --- Who is who --------------------------------------------------------------------------------


async def _designated(practice_id: int) -> dict:
    row = (
        await Practice.select(
            Practice.designated_scheduler.as_alias("scheduler"),
            Practice.designated_scheduler.active.as_alias("scheduler_active"),
            Practice.designated_biller.as_alias("biller"),
            Practice.designated_biller.active.as_alias("biller_active"),
        )
        .where(Practice.id == practice_id)
        .first()
    )
    return row or {}


def _provider_name(row: dict) -> str:
    return ", ".join(p for p in (row["name"], row["credentials"]) if p)


async def recipients(client: dict) -> list[Recipient]:
    """Whom this client may start a thread with: their providers, then scheduling and billing."""
    providers = await (
        Appointment.select(
            Appointment.provider.user.as_alias("user_id"),
            Appointment.provider.display_name.as_alias("name"),
            Appointment.provider.credentials.as_alias("credentials"),
        )
        .where(
            Appointment.client == client["id"],
            Appointment.provider.practice == client["practice"],
            Appointment.provider.active.eq(True),
            Appointment.provider.user.active.eq(True),
        )
        .distinct()
    )
    found: dict[int, Recipient] = {}
    for row in sorted(providers, key=lambda r: r["name"]):
        if row["user_id"] is not None:
            found[row["user_id"]] = Recipient(row["user_id"], _provider_name(row), "your provider")
    practice = await _designated(client["practice"])
    desks = [
        ("scheduler", "Scheduling", "appointments and rescheduling"),
        ("biller", "Billing", "bills, payments and insurance"),
    ]
    for key, name, about in desks:
        user_id = practice.get(key)
        if user_id is None or not practice.get(f"{key}_active"):
            continue
        if user_id in found:
            seen = found[user_id]
            both = "Scheduling and billing" if seen.name == "Scheduling" else seen.name
            found[user_id] = Recipient(user_id, both, f"{seen.about}; {about}")
        else:
            found[user_id] = Recipient(user_id, name, about)
    return list(found.values())


async def staff_names(practice_id: int, user_ids: Sequence[int]) -> dict[int, str]:
    """How a client sees each staff member: provider name, else the desk, else the role."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    names: dict[int, str] = {}
    for row in await Provider.select(
        Provider.user.as_alias("user_id"),
        Provider.display_name.as_alias("name"),
        Provider.credentials,
    ).where(Provider.user.is_in(ids)):
        names[row["user_id"]] = _provider_name(row)
    practice = await _designated(practice_id)
    desks = {"scheduler": "Scheduling", "biller": "Billing"}
    for key, name in desks.items():
        user_id = practice.get(key)
        if user_id in ids and user_id not in names:
            names[user_id] = (
                "Scheduling and billing"
                if practice.get("scheduler") == practice.get("biller")
                else name
            )
    missing = [i for i in ids if i not in names]
    if missing:
        for row in await User.select(User.id, User.role).where(User.id.is_in(missing)):
            names[row["id"]] = ROLE_NAMES.get(Role(row["role"]), "The practice")
    return names


def may_send(client: dict) -> bool:
    return client["status"] != ClientStatus.inactive


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


def _transaction():
    db = MessageThread._meta.db
    if db.engine_type == "sqlite":
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


async def _write(
    thread_id: int, sender_id: int, body: str, files: Sequence[uploads.Checked], now: datetime
) -> tuple[int, list[int]]:
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


async def _notify(
    recipient: dict, *, to_staff: bool, thread_id: int, practice_name: str, portal_url: str
) -> None:
    if not recipient.get("email") or not recipient.get("active", True):
        return
    link = f"{portal_url}/staff" if to_staff else f"{portal_url}/messages/{thread_id}"
    await mail.queue(
        recipient["email"],
        "new_message",
        to_staff=to_staff,
        practice_name=practice_name,
        link=link,
    )


async def start_thread(
    client: dict,
    *,
    sender_id: int,
    to: int | None,
    subject: str,
    body: str,
    files: Sequence[Upload],
    ip: str,
    practice_name: str,
    portal_url: str,
) -> int:
    """A client's new thread to one of `recipients(client)`; returns the thread's id."""
    if not may_send(client):
        raise DraftError({"form": INACTIVE}, status=403)
    subject, body = clean_subject(subject), clean_body(body)
    errors, checked = check_draft(subject=subject, body=body, files=files)
    allowed = {r.user_id for r in await recipients(client)}
    if to not in allowed:
        errors = {"to": "Choose who to write to.", **errors}
    if errors:
        raise DraftError(errors)
    now = utcnow()
    async with _transaction():
        thread_id = (
            await MessageThread.insert(
                MessageThread(
                    client=client["id"],
                    staff=to,
                    subject=subject,
                    created_at=now,
                    last_message_at=now,
                )
            ).returning(MessageThread.id)
        )[0]["id"]
        message_id, file_ids = await _write(thread_id, sender_id, body, checked, now)
        await audit.record(
            "message.sent",
            actor_id=sender_id,
            ip=ip,
            subject=f"thread:{thread_id}",
            detail={"message": message_id, "to": to, "new_thread": True, "files": file_ids},
        )
        staff = await User.select(User.email, User.active).where(User.id == to).first()
        await _notify(
            staff,
            to_staff=True,
            thread_id=thread_id,
            practice_name=practice_name,
            portal_url=portal_url,
        )
    return thread_id


async def reply(
    thread_id: int,
    *,
    sender_id: int,
    body: str,
    files: Sequence[Upload],
    ip: str,
    practice_name: str,
    portal_url: str,
) -> int:
    """A reply by either participant (the client or the thread's staff member).

    Raises LookupError when the sender takes no part in the thread (the caller answers 404).
    """
    thread = (
        await MessageThread.select(
            MessageThread.id,
            MessageThread.staff,
            MessageThread.staff.email.as_alias("staff_email"),
            MessageThread.staff.active.as_alias("staff_active"),
            MessageThread.client.status.as_alias("client_status"),
            MessageThread.client.user.as_alias("client_user"),
            MessageThread.client.user.email.as_alias("client_email"),
            MessageThread.client.user.active.as_alias("client_active"),
        )
        .where(MessageThread.id == thread_id)
        .first()
    )
    if thread is None or sender_id not in (thread["staff"], thread["client_user"]):
        raise LookupError(thread_id)
    from_client = sender_id == thread["client_user"]
    if from_client and thread["client_status"] == ClientStatus.inactive:
        raise DraftError({"form": INACTIVE}, status=403)
    body = clean_body(body)
    errors, checked = check_draft(subject=None, body=body, files=files)
    if from_client and not thread["staff_active"]:
        errors = {
            "form": "This person no longer takes messages through the portal. "
            "Start a new message to someone else at the practice.",
            **errors,
        }
    if errors:
        raise DraftError(errors)
    if from_client:
        to, recipient = thread["staff"], {"email": thread["staff_email"], "active": True}
    else:
        to = thread["client_user"]
        recipient = {"email": thread["client_email"], "active": thread["client_active"]}
    now = utcnow()
    async with _transaction():
        message_id, file_ids = await _write(thread_id, sender_id, body, checked, now)
        await audit.record(
            "message.sent",
            actor_id=sender_id,
            ip=ip,
            subject=f"thread:{thread_id}",
            detail={"message": message_id, "to": to, "new_thread": False, "files": file_ids},
        )
        await _notify(
            recipient,
            to_staff=from_client,
            thread_id=thread_id,
            practice_name=practice_name,
            portal_url=portal_url,
        )
    return message_id


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
            staff_name=names.get(r["staff"], "The practice"),
            last_message_at=r["last_message_at"],
            unread=unread.get(r["id"], 0),
        )
        for r in rows
    ]


async def thread_view(thread_id: int, client: dict, user_id: int) -> ThreadView | None:
    """One of this client's threads with its messages and attachments; None if not theirs."""
    thread = (
        await MessageThread.select(
            MessageThread.id,
            MessageThread.subject,
            MessageThread.staff,
            MessageThread.staff.active.as_alias("staff_active"),
        )
        .where(MessageThread.id == thread_id, MessageThread.client == client["id"])
        .first()
    )
    if thread is None:
        return None
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
        ThreadRead.thread == thread_id, ThreadRead.user == user_id
    )
    read_at = max((m["last_read_at"] for m in marks), default=None)
    staff_name = (await staff_names(client["practice"], [thread["staff"]]))[thread["staff"]]
    shown = [
        ShownMessage(
            id=m["id"],
            mine=m["sender"] == user_id,
            sender_name="You" if m["sender"] == user_id else staff_name,
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
        staff_id=thread["staff"],
        staff_name=staff_name,
        staff_active=bool(thread["staff_active"]),
        messages=shown,
    )


async def open_thread(thread_id: int, client: dict, user_id: int) -> ThreadView | None:
    """The thread as `thread_view`, then marked read up to its latest message."""
    view = await thread_view(thread_id, client, user_id)
    if view is not None and view.unread:
        await mark_read(thread_id, user_id, view.messages[-1].created_at)
    return view


async def attachment_file(attachment_id: int, user_id: int) -> dict | None:
    """A message attachment's stored file (bytes checked against their SHA-256), for a
    participant of its thread only; None otherwise. Raises uploads.IntegrityError."""
    row = (
        await MessageAttachment.select(
            MessageAttachment.file,
            MessageAttachment.message.thread.staff.as_alias("staff"),
            MessageAttachment.message.thread.client.user.as_alias("client_user"),
        )
        .where(MessageAttachment.id == attachment_id)
        .first()
    )
    if row is None or user_id not in (row["staff"], row["client_user"]):
        return None
    return await uploads.fetch(row["file"])
