"""My Messages: threads between a client and one staff member, with attachments."""

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.accounts import User
from portal.tables.files import StoredFile
from portal.tables.people import Client


class MessageThread(Table, tablename="thread"):
    # (Not "message_thread": SQLite would clash with the index message(thread).)
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False, index=True)
    # The staff member on the other side (a provider, the scheduler or the biller).
    staff = ForeignKey(User, on_delete=OnDelete.restrict, null=False, index=True)
    subject = Varchar(length=200)
    created_at = Timestamptz()
    last_message_at = Timestamptz(index=True)
    # "scheduling" or "billing" when the client wrote to that desk (the practice's designated
    # scheduler or biller): every member of the desk sees it in their inbox.
    desk = Varchar(length=20, default="")
    # The staff member who answers it (starts as `staff`; reassigned from the inbox).
    assigned_to = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    done_at = Timestamptz(null=True, default=None)


class Message(Table):
    thread = ForeignKey(MessageThread, on_delete=OnDelete.restrict, null=False, index=True)
    sender = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    body = Text()
    created_at = Timestamptz()


class MessageAttachment(Table):
    message = ForeignKey(Message, on_delete=OnDelete.restrict, null=False, index=True)
    file = ForeignKey(StoredFile, on_delete=OnDelete.restrict, null=False)


class ThreadRead(Table):
    """How far a participant has read a thread (unread = messages after this)."""

    thread = ForeignKey(MessageThread, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    last_read_at = Timestamptz()
