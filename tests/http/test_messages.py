"""My Messages over HTTP: who a client may write to, sending with attachments, reading,
unread counts and the menu badge, and everything a client must not reach."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.core.errors import Invalid, NotFound
from portal.core.uploads import MAX_BYTES
from portal.handlers.errors import status_of
from portal.messaging import sending, threads
from portal.messaging.sending import Upload
from portal.practice.info import current_practice
from portal.tables import (
    AuditEvent,
    Client,
    Message,
    MessageAttachment,
    MessageThread,
    Practice,
    StoredFile,
    User,
)
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from tests import factories
from tests.conftest import client_for
from tests.web import csrf_from, mails, post_form, sign_in, signed_in

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 30
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run"
SUBJECT = "Rescheduling next week"
BODY = "Hi Dr. Ruiz,\r\nCould we move Thursday to the afternoon?\r\nThanks, Alice"


async def practice_with_people() -> dict:
    """Alice sees Dr. Ruiz; Bob sees James Chen. The practice has a scheduler and a biller,
    and a manager nobody may write to from the portal."""
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    alice = await factories.client(p, "alice")
    bob = await factories.client(p, "bob")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz", credentials="PsyD")
    chen = await factories.provider(p, "chen", display_name="James Chen", credentials="LCSW")
    svc = await factories.service(p)
    soon = utcnow() + timedelta(days=3)
    await factories.appointment(alice["client_id"], ruiz["provider_id"], svc, soon)
    await factories.appointment(bob["client_id"], chen["provider_id"], svc, soon)
    scheduler = await factories.staff("priya", Role.scheduler)
    biller = await factories.staff("tom", Role.biller)
    manager = await factories.staff("marcus", Role.manager)
    await Practice.update(
        {Practice.designated_scheduler: scheduler, Practice.designated_biller: biller}
    ).where(Practice.id == p)
    return {
        "practice": p,
        "alice": alice,
        "bob": bob,
        "ruiz": ruiz["user_id"],
        "chen": chen["user_id"],
        "scheduler": scheduler,
        "biller": biller,
        "manager": manager,
    }


# A browser sends an empty file part for a file input left empty.
NO_FILE = [("attachments", ("", b"", "application/octet-stream"))]


async def send_new(http, data: dict, files=(), *, headers=None, page="/messages/new"):
    return await post_form(
        http, "/messages", data, page=page, files=list(files) or NO_FILE, headers=headers
    )


async def send_reply(http, thread_id: int, body: str, files=(), *, headers=None):
    return await post_form(
        http,
        f"/messages/{thread_id}/reply",
        {"body": body},
        page=f"/messages/{thread_id}",
        files=list(files) or NO_FILE,
        headers=headers,
    )


def pdf(name: str = "letter.pdf", data: bytes = PDF):
    return ("attachments", (name, data, "application/pdf"))


def thread_id_from(response) -> int:
    match = re.fullmatch(r"/messages/(\d+)\?done=sent", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


async def acting(user_id: int, portal_url: str = "http://testserver.local") -> Actor:
    return Actor(user_id, "", "", portal_url, await current_practice())


async def staff_reply(env: dict, thread_id: int, body: str, staff: int | None = None) -> int:
    actor = await acting(staff or env["ruiz"])
    return await sending.reply(thread_id, actor=actor, body=body, files=[])


def detail_of(event: dict) -> dict:
    import json

    d = event["detail"]
    return d if isinstance(d, dict) else json.loads(d)


# --- Who may be written to -------------------------------------------------------------------


async def test_compose_offers_the_clients_providers_and_the_practice_desks(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    page = (await http.get("/messages/new")).text
    options = dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page))
    assert options == {
        str(env["ruiz"]): "Dr. Elena Ruiz, PsyD (your provider)",
        str(env["scheduler"]): "Scheduling (appointments and rescheduling)",
        str(env["biller"]): "Billing (bills, payments and insurance)",
    }
    # Bob's provider, the manager: not offered, and refused when posted anyway.
    for other in (env["chen"], env["manager"], 999999):
        r = await send_new(http, {"to": str(other), "subject": SUBJECT, "body": BODY})
        assert r.status_code == 422 and "Choose who to write to." in r.text
    assert await MessageThread.count() == 0


async def test_an_inactive_provider_or_desk_is_not_offered(http):
    env = await practice_with_people()
    await User.update({User.active: False}).where(User.id.is_in([env["ruiz"], env["biller"]]))
    await sign_in(http, "alice")
    page = (await http.get("/messages/new")).text
    assert "Dr. Elena Ruiz" not in page and "Billing" not in page
    assert f'value="{env["scheduler"]}"' in page


async def test_compose_preselects_an_allowed_recipient_only(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    page = (await http.get(f"/messages/new?to={env['biller']}")).text
    assert f'<option value="{env["biller"]}" selected>' in page
    page = (await http.get(f"/messages/new?to={env['chen']}")).text
    assert " selected>" not in page and "James Chen" not in page
    assert (await http.get("/messages/new?to=nonsense")).status_code == 200


async def test_no_one_to_write_to_yet(http):
    p = await factories.practice(two_factor_policy="nobody", phone="(617) 555-0142")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    page = (await http.get("/messages/new")).text
    assert "There is no one to write to yet" in page and "(617) 555-0142" in page
    assert 'action="/messages"' not in page


# --- Sending ------------------------------------------------------------------------------------


async def test_send_a_message_with_attachments(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    r = await send_new(
        http,
        {"to": str(env["ruiz"]), "subject": SUBJECT, "body": BODY},
        [pdf("../../etc/Sleep diary.pdf"), ("attachments", ("photo.png", PNG, "image/png"))],
    )
    assert r.status_code == 303
    thread_id = thread_id_from(r)
    page = await http.get(r.headers["location"])
    assert page.status_code == 200
    assert "Your message was sent." in page.text
    assert SUBJECT in page.text and "Could we move Thursday to the afternoon?" in page.text
    assert "Sleep diary.pdf" in page.text and "photo.png" in page.text
    assert "etc/" not in page.text
    # Stored: CRLF normalised, the thread addressed to Dr. Ruiz, both files with checksums.
    thread = await MessageThread.select().where(MessageThread.id == thread_id).first()
    assert thread["staff"] == env["ruiz"] and thread["client"] == env["alice"]["client_id"]
    [message] = await Message.select().where(Message.thread == thread_id)
    assert message["body"] == BODY.replace("\r\n", "\n")
    assert await MessageAttachment.count() == 2
    names = {f["display_name"] for f in await StoredFile.select(StoredFile.display_name)}
    assert names == {"Sleep diary.pdf", "photo.png"}
    # The provider is told by mail, with none of the message in it.
    [mail] = await mails("new_message")
    assert mail["to_address"] == "ruiz@practice.example"
    for secret in (SUBJECT, "Thursday", "Sleep diary", "Alice", "alice"):
        assert secret not in mail["subject"] and secret not in mail["body"]
    assert "http://testserver.local/staff" in mail["body"]
    # Audited, without the text.
    [event] = await AuditEvent.select().where(AuditEvent.action == "message.sent")
    assert event["actor"] == env["alice"]["user_id"] and event["subject"] == f"thread:{thread_id}"
    detail = detail_of(event)
    assert (
        detail["to"] == env["ruiz"] and detail["new_thread"] is True and len(detail["files"]) == 2
    )
    assert "Thursday" not in str(detail) and SUBJECT not in str(detail)


async def test_compose_validation_keeps_what_was_typed(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    to = str(env["ruiz"])
    r = await send_new(http, {"to": to, "subject": "  ", "body": "Typed with care"})
    assert r.status_code == 422
    assert "Enter a subject." in r.text and "Typed with care</textarea>" in r.text
    assert 'aria-invalid="true" aria-describedby="subject-error"' in r.text
    assert f'<option value="{to}" selected>' in r.text
    r = await send_new(http, {"to": to, "subject": "Hello", "body": " \r\n "})
    assert r.status_code == 422 and "Write your message." in r.text
    r = await send_new(http, {"to": to, "subject": "S" * 201, "body": "x"})
    assert r.status_code == 422 and "Keep the subject to 200 characters" in r.text
    r = await send_new(http, {"to": to, "subject": "Long", "body": "x" * 10_001})
    assert r.status_code == 422 and "Keep the message to 10,000 characters (10,001 now)" in r.text
    assert await MessageThread.count() == 0 and await mails("new_message") == []
    # Exactly 10,000 characters, line breaks counted once as the textarea counts them.
    body = ("a" * 98 + "\r\n") * 100
    assert len(body.replace("\r\n", "\n")) == 9_900
    body = body + "b" * 100
    r = await send_new(http, {"to": to, "subject": "Long", "body": body})
    assert r.status_code == 303


async def test_a_renamed_exe_is_refused_and_the_message_kept(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    r = await send_new(
        http,
        {"to": str(env["ruiz"]), "subject": SUBJECT, "body": "Please see the attached scan"},
        [pdf("scan.pdf", EXE), pdf("fine.pdf")],
    )
    assert r.status_code == 422
    assert "“scan.pdf” is not a PDF, DOC, DOCX, TXT, JPG, PNG, GIF, BMP file" in r.text
    assert "judged by its content, not its name" in r.text
    assert "Your message was not sent." in r.text
    assert f'value="{SUBJECT}"' in r.text and "Please see the attached scan</textarea>" in r.text
    assert 'id="compose-attachments-error"' in r.text
    # Nothing half-written: no thread, no message, not even the good file.
    assert await MessageThread.count() == 0 and await StoredFile.count() == 0
    assert await mails("new_message") == []


async def test_ten_megabytes_exactly_is_accepted_one_byte_more_is_refused(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    exactly = PDF + b"\n" * (MAX_BYTES - len(PDF))
    data = {"to": str(env["ruiz"]), "subject": "Big scan", "body": "Attached"}
    r = await send_new(http, data, [pdf("big.pdf", exactly + b"\n")])
    assert r.status_code == 422 and "“big.pdf” is larger than 10 MB" in r.text
    assert await StoredFile.count() == 0
    r = await send_new(http, data, [pdf("big.pdf", exactly)])
    assert r.status_code == 303
    [stored] = await StoredFile.select(StoredFile.size)
    assert stored["size"] == 10 * 1024 * 1024


async def test_at_most_five_attachments(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    data = {"to": str(env["ruiz"]), "subject": "Many", "body": "Six files"}
    r = await send_new(http, data, [pdf(f"p{i}.pdf") for i in range(6)])
    assert r.status_code == 422 and "Attach at most 5 files" in r.text
    r = await send_new(http, data, [pdf(f"p{i}.pdf") for i in range(5)])
    assert r.status_code == 303 and await MessageAttachment.count() == 5


async def test_with_javascript_the_same_handlers_answer_with_fragments(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    hx = {"HX-Request": "true"}
    data = {"to": str(env["ruiz"]), "subject": SUBJECT, "body": BODY}
    r = await send_new(http, {**data, "subject": ""}, headers=hx)
    assert r.status_code == 422 and "<html" not in r.text
    assert r.text.lstrip().startswith('<section class="card" id="compose"')
    r = await send_new(http, data, [pdf()], headers=hx)
    assert r.status_code == 200 and r.text == ""
    thread_id = int(re.fullmatch(r"/messages/(\d+)\?done=sent", r.headers["hx-redirect"])[1])
    r = await send_reply(http, thread_id, "", headers=hx)
    assert r.status_code == 422 and r.text.lstrip().startswith('<div id="thread">')
    assert "Write your message." in r.text
    r = await send_reply(http, thread_id, "One more thing", [pdf("notes.pdf")], headers=hx)
    assert r.status_code == 200 and "<html" not in r.text
    assert r.text.lstrip().startswith('<div id="thread">')
    assert (
        "Your message was sent." in r.text and "One more thing" in r.text and "notes.pdf" in r.text
    )


async def test_reply_without_javascript(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    r = await send_new(http, {"to": str(env["biller"]), "subject": "My bill", "body": "A question"})
    thread_id = thread_id_from(r)
    r = await send_reply(http, thread_id, "x" * 10_001)
    assert r.status_code == 422 and "Your reply was not sent." in r.text
    assert "<html" in r.text and ("x" * 10_001 + "</textarea>") in r.text
    r = await send_reply(http, thread_id, "And another", [pdf("receipt.pdf")])
    assert r.status_code == 303
    assert r.headers["location"] == f"/messages/{thread_id}?done=sent#reply"
    page = (await http.get(r.headers["location"])).text
    assert "And another" in page and "receipt.pdf" in page
    assert await Message.count() == 2
    assert [m["to_address"] for m in await mails("new_message")] == ["tom@practice.example"] * 2


async def test_reply_to_someone_who_left_says_so(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    thread_id = thread_id_from(
        await send_new(http, {"to": str(env["ruiz"]), "subject": "Hi", "body": "Hello"})
    )
    await User.update({User.active: False}).where(User.id == env["ruiz"])
    page = (await http.get(f"/messages/{thread_id}")).text
    assert "no longer takes messages through the portal" in page
    assert f'action="/messages/{thread_id}/reply"' not in page
    r = await send_reply(http, thread_id, "Still there?")
    assert r.status_code == 422 and "no longer takes messages" in r.text
    assert await Message.count() == 1


# --- Reading and unread counts ------------------------------------------------------------------


async def test_unread_counts_in_the_list_and_the_menu_badge(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    first = thread_id_from(
        await send_new(http, {"to": str(env["ruiz"]), "subject": "First", "body": "Hello"})
    )
    second = thread_id_from(
        await send_new(http, {"to": str(env["biller"]), "subject": "Second", "body": "Hi"})
    )
    # Her own messages are not unread to her.
    page = (await http.get("/messages")).text
    assert "unread" not in page and 'class="badge"' not in page
    # Staff answer: two in the first thread, one in the second.
    await staff_reply(env, first, "Of course.")
    await staff_reply(env, first, "Does 3 pm work?")
    await staff_reply(env, second, "Checking your statement.", staff=env["biller"])
    page = (await http.get("/messages")).text
    assert re.search(r">First</a>\s*<span class=\"count\">2 unread</span>", page)
    assert re.search(r">Second</a>\s*<span class=\"count\">1 unread</span>", page)
    # The badge is on every client page, not only here.
    for path in ("/messages", "/", "/profile"):
        text = (await http.get(path)).text
        assert '<span class="badge">3<span class="visually-hidden"> unread</span></span>' in text, (
            path
        )
    # Opening a thread marks it read; its own page already shows the new badge.
    page = (await http.get(f"/messages/{first}")).text
    assert page.count('<span class="tag">New</span>') == 2
    assert '<span class="badge">1<span' in page
    assert '<span class="tag">New</span>' not in (await http.get(f"/messages/{first}")).text
    page = (await http.get("/messages")).text
    assert "2 unread" not in page and "1 unread" in page
    # The client is told by mail, without the content, linked to the thread.
    notices = [m for m in await mails("new_message") if m["to_address"] == "alice@mail.example"]
    assert len(notices) == 3
    assert "Does 3 pm" not in notices[1]["body"] and "First" not in notices[1]["body"]
    assert f"http://testserver.local/messages/{first}" in notices[1]["body"]
    # The newest conversation comes first.
    page = (await http.get("/messages")).text
    assert page.index(">Second</a>") < page.index(">First</a>")
    await staff_reply(env, first, "Anything else?")
    page = (await http.get("/messages")).text
    assert page.index(">First</a>") < page.index(">Second</a>")


async def test_domain_unread_counts_for_both_sides(http):
    env = await practice_with_people()
    alice = await Client.select().where(Client.id == env["alice"]["client_id"]).first()
    thread_id = await sending.start_thread(
        alice, actor=await acting(env["alice"]["user_id"], "http://x"), to=env["ruiz"],
        subject="Hello", body="Hi", files=[],
    )  # fmt: skip
    assert await threads.unread_total(env["ruiz"]) == 1
    assert await threads.unread_total(env["alice"]["user_id"]) == 0
    await staff_reply(env, thread_id, "Hello Alice")
    assert await threads.unread_total(env["ruiz"]) == 0  # replying reads the thread
    assert await threads.unread_total(env["alice"]["user_id"]) == 1
    # A duplicate read mark (two tabs at once) changes nothing.
    from portal.tables import ThreadRead

    now = utcnow()
    for _ in range(2):
        await ThreadRead.insert(
            ThreadRead(thread=thread_id, user=env["alice"]["user_id"], last_read_at=now)
        )
    assert await threads.unread_total(env["alice"]["user_id"]) == 0
    # Someone outside the thread cannot reply to it.
    with pytest.raises(NotFound):
        await staff_reply(env, thread_id, "Intruding", staff=env["manager"])


async def test_the_badge_costs_one_query_on_pages_and_none_on_fragments(http, app):
    env = await practice_with_people()
    await sign_in(http, "alice")
    thread_id = thread_id_from(
        await send_new(http, {"to": str(env["ruiz"]), "subject": "Hi", "body": "Hello"})
    )
    for n in range(3):
        await staff_reply(env, thread_id, f"Reply {n}")
    with count_queries(app.state.engine) as seen:
        assert (await http.get("/profile")).status_code == 200
    assert sum("thread_read" in q for q in seen) == 1
    for widget in ("/dashboard/widgets/appointments", "/dashboard/widgets/tasks"):
        with count_queries(app.state.engine) as seen:
            assert (await http.get(widget)).status_code == 200
        assert not any("thread_read" in q for q in seen), widget


# --- Downloads ------------------------------------------------------------------------------------


async def test_download_is_an_attachment_under_a_safe_name(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    thread_id = thread_id_from(
        await send_new(
            http,
            {"to": str(env["ruiz"]), "subject": "Scan", "body": "Attached"},
            [pdf('..\\..\\x/"Intake form".exe')],
        )
    )
    page = (await http.get(f"/messages/{thread_id}")).text
    [href] = re.findall(r'href="(/messages/attachments/\d+)"', page)
    r = await http.get(href)
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"].startswith("application/pdf")
    assert r.headers["content-disposition"].startswith('attachment; filename="Intake form.pdf"')
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]
    assert await AuditEvent.count().where(AuditEvent.action == "message.attachment_downloaded") == 1


async def test_a_tampered_file_is_not_served(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    thread_id = thread_id_from(
        await send_new(
            http, {"to": str(env["ruiz"]), "subject": "Scan", "body": "Attached"}, [pdf()]
        )
    )
    page = (await http.get(f"/messages/{thread_id}")).text
    [href] = re.findall(r'href="(/messages/attachments/\d+)"', page)
    await StoredFile.update({StoredFile.data: PDF.replace(b"Catalog", b"Catalug")}).where(
        StoredFile.id.is_not_null()
    )
    r = await http.get(href)
    assert r.status_code == 409
    assert "This file is damaged and cannot be downloaded" in r.text
    assert "Catalug" not in r.text and "content-disposition" not in r.headers
    assert await AuditEvent.count().where(AuditEvent.action == "file.integrity_failed") == 1


# --- Who may see what -----------------------------------------------------------------------------


async def test_another_clients_thread_and_attachment_are_not_found(http, app):
    env = await practice_with_people()
    await sign_in(http, "alice")
    thread_id = thread_id_from(
        await send_new(
            http, {"to": str(env["ruiz"]), "subject": "Private", "body": "Mine"}, [pdf()]
        )
    )
    page = (await http.get(f"/messages/{thread_id}")).text
    [href] = re.findall(r'href="(/messages/attachments/\d+)"', page)
    async with signed_in(app, "bob") as bob:
        assert (await bob.get(f"/messages/{thread_id}")).status_code == 404
        assert (await bob.get("/messages/999999")).status_code == 404
        assert (await bob.get(href)).status_code == 404
        r = await post_form(
            bob, f"/messages/{thread_id}/reply", {"body": "Hijack"}, page="/messages"
        )
        assert r.status_code == 404
        assert "Private" not in (await bob.get("/messages")).text
    assert await Message.count() == 1
    # Staff: the thread's provider may download; another staff member may not.
    async with signed_in(app, "ruiz") as ruiz:
        r = await ruiz.get(href)
        assert r.status_code == 200 and r.content == PDF
    async with signed_in(app, "marcus") as marcus:
        assert (await marcus.get(href)).status_code == 404
        # The client pages are for clients.
        assert (await marcus.get("/messages")).status_code == 403
    # Signed out: to the sign-in page.
    async with client_for(app) as stranger:
        r = await stranger.get(href)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_forms_need_the_csrf_token(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    r = await http.post(
        "/messages", data={"to": str(env["ruiz"]), "subject": "Hi", "body": "Hello"}
    )
    assert r.status_code == 403
    assert await MessageThread.count() == 0


async def test_an_inactive_client_reads_but_cannot_send(http):
    env = await practice_with_people()
    await sign_in(http, "alice")
    thread_id = thread_id_from(
        await send_new(http, {"to": str(env["ruiz"]), "subject": "Before", "body": "Hello"})
    )
    await staff_reply(env, thread_id, "Take care.")
    await Client.update({Client.status: ClientStatus.inactive}).where(
        Client.id == env["alice"]["client_id"]
    )
    listing = (await http.get("/messages")).text
    assert "Before" in listing and "New message" not in listing
    assert "can read your messages but not send new ones" in listing
    page = (await http.get(f"/messages/{thread_id}")).text
    assert "Take care." in page and f'action="/messages/{thread_id}/reply"' not in page
    compose = (await http.get("/messages/new")).text
    assert 'action="/messages"' not in compose and "(617) 555-0142" in compose
    token = csrf_from(listing)
    r = await http.post(
        "/messages",
        data={"to": str(env["ruiz"]), "subject": "After", "body": "x", "_csrf_token": token},
    )
    assert r.status_code == 403 and "not send new ones" in r.text
    r = await http.post(f"/messages/{thread_id}/reply", data={"body": "x", "_csrf_token": token})
    assert r.status_code == 403
    assert await Message.count() == 2 and await MessageThread.count() == 1
    # Staff may still write to them.
    await staff_reply(env, thread_id, "Your file is closed; call us any time.")
    assert await Message.count() == 3


# --- The domain without HTTP -------------------------------------------------------------------


def test_check_draft_counts_line_breaks_once():
    body = sending.clean_body("a\r\n" * 5000)
    assert len(body) == 9_999
    errors, _ = sending.check_draft(subject="s", body=body, files=[])
    assert errors == {}
    errors, checked = sending.check_draft(
        subject=None, body="ok", files=[Upload("a.pdf", PDF), Upload("b.pdf", EXE)]
    )
    assert list(errors) == ["attachments"] and "“b.pdf”" in errors["attachments"]
    assert [c.display_name for c in checked] == ["a.pdf"]


def test_draft_error_carries_field_errors():
    exc = Invalid(errors={"body": "Write your message."})
    assert status_of(exc) == 422 and exc.errors["body"] == "Write your message."
