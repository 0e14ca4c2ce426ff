"""My Messages without HTTP: which refusal is which (Invalid, Refused, NotFound), and that a
download is for the thread's participants only, audited, and refused for a damaged file."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Conflict, Invalid, NotFound, Refused
from portal.messaging import sending, threads
from portal.messaging.sending import INACTIVE, Upload
from portal.tables import AuditEvent, Client, MessageAttachment, StoredFile
from portal.tables.people import ClientStatus
from tests import factories

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def acting(user_id: int) -> Actor:
    return Actor(user_id, "", "", "http://portal.example", None)


async def _client(client_id: int) -> dict:
    return await Client.select().where(Client.id == client_id).first()


async def _thread_with_a_file() -> dict:
    """Alice wrote to her provider with a PDF attached; Bob is another client."""
    p = await factories.practice(two_factor_policy="nobody")
    alice = await factories.client(p, "alice")
    bob = await factories.client(p, "bob")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Ruiz")
    svc = await factories.service(p)
    await factories.appointment(
        alice["client_id"], ruiz["provider_id"], svc, utcnow() + timedelta(days=3)
    )
    thread_id = await sending.start_thread(
        await _client(alice["client_id"]), actor=acting(alice["user_id"]), to=ruiz["user_id"],
        subject="Scan", body="Attached", files=[Upload("scan.pdf", PDF)],
    )  # fmt: skip
    attachment = (await MessageAttachment.select(MessageAttachment.id).first())["id"]
    return {"alice": alice, "bob": bob, "ruiz": ruiz["user_id"], "thread": thread_id,
            "attachment": attachment}  # fmt: skip


async def test_a_draft_that_cannot_be_sent_is_invalid_a_closed_file_is_refused():
    env = await _thread_with_a_file()
    alice = await _client(env["alice"]["client_id"])
    with pytest.raises(Invalid) as exc:
        await sending.start_thread(
            alice, actor=acting(env["alice"]["user_id"]), to=None, subject="", body="Hi", files=[]
        )
    assert exc.value.errors == {"to": "Choose who to write to.", "subject": "Enter a subject."}
    await Client.update({Client.status: ClientStatus.inactive}).where(Client.id == alice["id"])
    alice = await _client(alice["id"])
    with pytest.raises(Refused) as exc:
        await sending.start_thread(
            alice, actor=acting(env["alice"]["user_id"]), to=env["ruiz"], subject="s", body="b",
            files=[],
        )  # fmt: skip
    assert exc.value.errors == {"form": INACTIVE}
    with pytest.raises(Refused):
        await sending.reply(
            env["thread"], actor=acting(env["alice"]["user_id"]), body="b", files=[]
        )
    with pytest.raises(NotFound):  # not Bob's thread
        await sending.reply(env["thread"], actor=acting(env["bob"]["user_id"]), body="b", files=[])


async def test_another_clients_thread_is_not_found():
    env = await _thread_with_a_file()
    bob = await _client(env["bob"]["client_id"])
    for read in (threads.thread_view, threads.open_thread):
        with pytest.raises(NotFound) as exc:
            await read(env["thread"], bob, env["bob"]["user_id"])
        assert exc.value.message == "No such conversation."
    alice = await _client(env["alice"]["client_id"])
    view = await threads.open_thread(env["thread"], alice, env["alice"]["user_id"])
    assert view.subject == "Scan" and [m.body for m in view.messages] == ["Attached"]


async def test_a_download_is_for_participants_audited_and_refused_when_damaged():
    env = await _thread_with_a_file()
    with pytest.raises(NotFound) as exc:
        await threads.download(env["attachment"], actor=acting(env["bob"]["user_id"]))
    assert exc.value.message == "No such file."
    for user_id in (env["alice"]["user_id"], env["ruiz"]):  # the client and the staff member
        row = await threads.download(env["attachment"], actor=acting(user_id))
        assert row["data"] == PDF and row["display_name"] == "scan.pdf"
    downloads = AuditEvent.action == "message.attachment_downloaded"
    assert await AuditEvent.count().where(downloads) == 2
    await StoredFile.update({StoredFile.data: PDF.replace(b"Catalog", b"Catalug")}).where(
        StoredFile.id.is_not_null()
    )
    with pytest.raises(Conflict) as exc:
        await threads.download(env["attachment"], actor=acting(env["ruiz"]))
    assert exc.value.message == threads.DAMAGED
    assert await AuditEvent.count().where(AuditEvent.action == "file.integrity_failed") == 1
    assert await AuditEvent.count().where(downloads) == 2


async def test_staff_appear_by_provider_name_then_desk_then_role():
    from portal.messaging.recipients import staff_names
    from portal.tables import Practice
    from tests.http.test_messages import practice_with_people

    env = await practice_with_people()
    ids = [env["ruiz"], env["scheduler"], env["biller"], env["manager"], 999_999]
    assert await staff_names(env["practice"], ids) == {
        env["ruiz"]: "Dr. Elena Ruiz, PsyD",
        env["scheduler"]: "Scheduling",
        env["biller"]: "Billing",
        env["manager"]: "Practice manager",
    }
    await Practice.update({Practice.designated_biller: env["scheduler"]}).where(
        Practice.id == env["practice"]
    )
    names = await staff_names(env["practice"], [env["scheduler"], env["biller"]])
    assert names == {env["scheduler"]: "Scheduling and billing", env["biller"]: "Billing"}
