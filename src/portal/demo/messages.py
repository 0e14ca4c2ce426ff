"""My Messages in the demo: the practice's scheduling and billing desks, and two threads for
the demo client (`client`): one with their provider (`provider`) holding an unread reply
with a PDF attached, and one with billing, already read. Called at the end of demo.seed()."""

from __future__ import annotations

from datetime import datetime, timedelta

from portal.core import pdf, uploads
from portal.core.clock import utcnow
from portal.practice import info as practice_info
from portal.tables import (
    Client,
    Message,
    MessageAttachment,
    MessageThread,
    Practice,
    ThreadRead,
    User,
)

WORKSHEET = """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: letter; margin: 2cm; } body { font-family: Helvetica; font-size: 11pt; }
h1 { font-size: 16pt; } td, th { border: 0.5pt solid #777; padding: 6pt; height: 60pt; vertical-align: top; }
th { height: auto; background: #eee; text-align: left; }
</style></head><body>
<h1>Thought record</h1>
<p>When your mood shifts, write down what happened, what went through your mind, and a more
balanced way to see it. Bring this to your next session.</p>
<table width="100%"><tr><th width="20%">Situation</th><th width="20%">Feelings (0-100)</th>
<th width="20%">Automatic thought</th><th width="20%">Evidence for and against</th>
<th width="20%">Balanced thought</th></tr>
<tr><td></td><td></td><td></td><td></td><td></td></tr>
<tr><td></td><td></td><td></td><td></td><td></td></tr>
<tr><td></td><td></td><td></td><td></td><td></td></tr>
</table>
<p>Harbor Counseling Group</p>
</body></html>"""

THREADS = [
    {
        "staff": "provider",
        "subject": "Another copy of the thought record",
        "days_ago": 5,
        "read_by_client": False,
        "messages": [
            (
                "client",
                "Hi Dr. Ruiz,\n\nI tried the thought record from our last session a few times this "
                "week and it helped on Tuesday, when work was rough. I left my copy at the office, "
                "though. Could you send me another one?\n\nThanks,\nJordan",
            ),
            (
                "staff",
                "Hi Jordan,\n\nI'm glad it helped. A blank copy is attached. If you can, fill in one "
                "or two before our next session and we'll go through them together.\n\nDr. Ruiz",
            ),
        ],
    },
    {
        "staff": "biller",
        "subject": "Question about my statement",
        "days_ago": 12,
        "read_by_client": True,
        "messages": [
            (
                "client",
                "Hello,\n\nMy statement shows a balance for my last session. I thought my insurance "
                "covered it. Could you take a look?\n\nJordan Rivera",
            ),
            (
                "staff",
                "Hi Jordan,\n\nThanks for checking. Your plan applied that visit to your deductible, "
                "so the balance is yours this time. You can see it under My Account and pay it "
                "from Make Payment, or call us at (617) 555-0142 to set up a payment plan.\n\n"
                "Tom, billing",
            ),
        ],
    },
]


DESKS = {"scheduler": "scheduling", "biller": "billing"}


async def _user_id(username: str) -> int | None:
    row = await User.select(User.id).where(User.username == username).first()
    return row["id"] if row else None


async def seed_demo(practice_id: int, client_username: str = "client") -> None:
    scheduler, biller = await _user_id("scheduler"), await _user_id("biller")
    await Practice.update(
        {Practice.designated_scheduler: scheduler, Practice.designated_biller: biller}
    ).where(Practice.id == practice_id)
    practice_info.changed()
    client_user = await _user_id(client_username)
    client = await Client.select(Client.id).where(Client.user == client_user).first()
    if client is None:
        return
    now = utcnow()
    for spec in THREADS:
        staff = await _user_id(spec["staff"])
        if staff is None:
            continue
        started = now - timedelta(days=spec["days_ago"], hours=3)
        at: datetime = started
        thread_id = (
            await MessageThread.insert(
                MessageThread(
                    client=client["id"],
                    staff=staff,
                    # Written to the designated scheduler or biller: their desk's thread.
                    desk=DESKS.get(spec["staff"], ""),
                    assigned_to=staff,
                    subject=spec["subject"],
                    created_at=started,
                    last_message_at=started,
                )
            ).returning(MessageThread.id)
        )[0]["id"]
        for n, (side, body) in enumerate(spec["messages"]):
            at = started + timedelta(hours=20 * n)
            sender = client_user if side == "client" else staff
            message_id = (
                await Message.insert(
                    Message(thread=thread_id, sender=sender, body=body, created_at=at)
                ).returning(Message.id)
            )[0]["id"]
            if spec["staff"] == "provider" and side == "staff":
                checked = uploads.check(await pdf.render(WORKSHEET), "Thought record.pdf")
                file_id = await uploads.store(checked, uploaded_by=staff)
                await MessageAttachment.insert(MessageAttachment(message=message_id, file=file_id))
        await MessageThread.update({MessageThread.last_message_at: at}).where(
            MessageThread.id == thread_id
        )
        await ThreadRead.insert(ThreadRead(thread=thread_id, user=staff, last_read_at=at))
        if spec["read_by_client"]:
            await ThreadRead.insert(ThreadRead(thread=thread_id, user=client_user, last_read_at=at))
