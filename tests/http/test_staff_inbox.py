"""The staff inbox over HTTP: which threads each role reads, reading, replying with
attachments, assigning, marking done, the notices both ways, and every way a staff member
could reach a thread that is not theirs (a 404)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.messaging import sending
from portal.practice.info import current_practice
from portal.tables import (
    AuditEvent,
    Client,
    Message,
    MessageAttachment,
    MessageThread,
    Practice,
    User,
)
from portal.tables.accounts import Role
from tests import factories
from tests.web import mails, post_form, signed_in

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run"
NO_FILE = [("attachments", ("", b"", "application/octet-stream"))]
PORTAL = "http://testserver.local"
SECRET = "my sleep got worse after the new dose"


async def scene() -> dict:
    """Alice sees Dr. Ruiz, Bob sees James Chen; Priya is the designated scheduler (Sam
    another scheduler), Tom the designated biller; a manager and an owner. Four threads:
    Alice to Dr. Ruiz, Bob to James Chen, Alice to scheduling, Bob to billing."""
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    alice = await factories.client(p, "alice", first_name="Alice", last_name="Adams")
    bob = await factories.client(p, "bob", first_name="Bob", last_name="Brown")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz", credentials="PsyD")
    chen = await factories.provider(p, "chen", display_name="James Chen", credentials="LCSW")
    svc = await factories.service(p)
    soon = utcnow() + timedelta(days=3)
    await factories.appointment(alice["client_id"], ruiz["provider_id"], svc, soon)
    await factories.appointment(bob["client_id"], chen["provider_id"], svc, soon)
    env = {"practice": p, "alice": alice, "bob": bob}
    env |= {"ruiz": ruiz["user_id"], "chen": chen["user_id"]}
    for name, role in (("priya", Role.scheduler), ("sam", Role.scheduler), ("tom", Role.biller),
                       ("marcus", Role.manager), ("olga", Role.owner)):  # fmt: skip
        env[name] = await factories.staff(name, role)
    await Practice.update(
        {Practice.designated_scheduler: env["priya"], Practice.designated_biller: env["tom"]}
    ).where(Practice.id == p)
    env["t_ruiz"] = await client_writes(env, "alice", env["ruiz"], "About my sleep", SECRET)
    env["t_chen"] = await client_writes(env, "bob", env["chen"], "Bob to Chen", "Hello James")
    env["t_sched"] = await client_writes(env, "alice", env["priya"], "Reschedule", "Move me")
    env["t_bill"] = await client_writes(env, "bob", env["tom"], "My bill", "A question")
    return env


async def acting(user_id: int) -> Actor:
    return Actor(user_id, "", "", PORTAL, await current_practice())


async def client_writes(env: dict, who: str, to: int, subject: str, body: str, files=()) -> int:
    client = await Client.select().where(Client.id == env[who]["client_id"]).first()
    return await sending.start_thread(
        client, actor=await acting(env[who]["user_id"]), to=to, subject=subject, body=body,
        files=list(files),
    )  # fmt: skip


def listed(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'<a href="/staff/inbox/(\d+)">', page)}


async def post(http, path: str, data: dict, page: str = "/staff/inbox", **kw):
    """A form post (for staff the CSRF token from the inbox, which reads no thread)."""
    return await post_form(http, path, data, page=page, **kw)


def pdf(name: str, data: bytes = PDF) -> tuple:
    return ("attachments", (name, data, "application/pdf"))


async def reply(http, thread_id: int, body: str, files=(), *, headers=None):
    files = list(files) or NO_FILE
    return await post(http, f"/staff/inbox/{thread_id}/reply", {"body": body}, files=files,
                      headers=headers)  # fmt: skip


def detail_of(event: dict) -> dict:
    d = event["detail"]
    return d if isinstance(d, dict) else json.loads(d)


async def events(action: str) -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)


async def test_each_role_lists_only_the_threads_it_may_read(app):
    env = await scene()
    expected = {
        "ruiz": {env["t_ruiz"]},
        "chen": {env["t_chen"]},
        "priya": {env["t_sched"]},
        "sam": {env["t_sched"]},  # the scheduling desk, not only its designated member
        "tom": {env["t_bill"]},
        "marcus": {env["t_ruiz"], env["t_chen"], env["t_sched"], env["t_bill"]},
        "olga": {env["t_ruiz"], env["t_chen"], env["t_sched"], env["t_bill"]},
    }
    for who, threads in expected.items():
        async with signed_in(app, who) as http:
            r = await http.get("/staff/inbox")
            assert r.status_code == 200 and listed(r.text) == threads, who
    # A client is not let in.
    async with signed_in(app, "alice") as http:
        assert (await http.get("/staff/inbox")).status_code == 403


async def test_a_thread_out_of_reach_is_404_on_every_route(app):
    env = await scene()
    scan = [sending.Upload("a.pdf", PDF)]
    file_thread = await client_writes(env, "alice", env["ruiz"], "Scan", "Attached", scan)
    attachment = (await MessageAttachment.select(MessageAttachment.id).first())["id"]
    before = await Message.count()
    # A biller never reads a provider's thread; a provider never another provider's.
    for who, thread in (("tom", file_thread), ("chen", file_thread), ("priya", env["t_bill"])):
        async with signed_in(app, who) as http:
            assert (await http.get(f"/staff/inbox/{thread}")).status_code == 404, who
            r = await http.get(f"/staff/inbox/{thread}/attachments/{attachment}")
            assert r.status_code == 404 and PDF not in r.content, who
            r = await post(http, f"/staff/inbox/{thread}/reply", {"body": "Hi"}, files=NO_FILE)
            assert r.status_code == 404, who
            r = await post(http, f"/staff/inbox/{thread}/assign", {"to": str(env[who])})
            assert r.status_code == 404, who
            r = await post(http, f"/staff/inbox/{thread}/done", {"state": "done"})
            assert r.status_code == 404, who
            assert (await http.get("/staff/inbox/99999999")).status_code == 404
    # Nothing changed, nobody's read was logged for a 404.
    assert await Message.count() == before
    assert await events("thread.assigned") == [] and await events("thread.done") == []
    assert await events("staff.read") == []
    row = await MessageThread.select().where(MessageThread.id == file_thread).first()
    assert row["assigned_to"] == env["ruiz"] and row["done_at"] is None
    # An attachment id of another thread, through a thread that is readable: 404 too.
    async with signed_in(app, "ruiz") as http:
        r = await http.get(f"/staff/inbox/{env['t_ruiz']}/attachments/{attachment}")
        assert r.status_code == 404
        r = await http.get(f"/staff/inbox/{file_thread}/attachments/{attachment}")
        assert r.status_code == 200 and r.content == PDF


async def test_desks_assignees_and_the_notice_to_staff(app):
    env = await scene()
    rows = await MessageThread.select()
    assert {r["id"]: (r["desk"], r["assigned_to"]) for r in rows} == {
        env["t_ruiz"]: ("", env["ruiz"]), env["t_chen"]: ("", env["chen"]),
        env["t_sched"]: ("scheduling", env["priya"]), env["t_bill"]: ("billing", env["tom"]),
    }  # fmt: skip
    # A thread from before desks (no desk, nobody assigned) still reaches its staff member.
    await MessageThread.update({MessageThread.desk: "", MessageThread.assigned_to: None}).where(
        MessageThread.id == env["t_bill"]
    )
    async with signed_in(app, "tom") as http:
        page = (await http.get("/staff/inbox")).text
        assert listed(page) == {env["t_bill"]} and "tom (biller)" in page
        assert (await http.get(f"/staff/inbox/{env['t_bill']}")).status_code == 200
    # The notices: a link to the inbox's thread, nothing of the message.
    notices = {m["to_address"]: m for m in await mails("new_message")}
    mail = notices["ruiz@practice.example"]
    assert f"{PORTAL}/staff/inbox/{env['t_ruiz']}\n" in mail["body"]
    for secret in (SECRET, "sleep", "About my", "Alice", "alice"):
        assert secret not in mail["body"] and secret not in mail["subject"]
    assert f"{PORTAL}/staff/inbox/{env['t_sched']}" in notices["priya@practice.example"]["body"]
    # The link works for the provider (it was a 403 "This page is for clients" before).
    async with signed_in(app, "ruiz") as http:
        link = re.search(rf"{PORTAL}(/\S+)", mail["body"])[1]
        r = await http.get(link)
        assert r.status_code == 200 and SECRET in r.text


async def test_a_client_reply_notifies_the_assignee_and_reopens_a_done_thread(app):
    env = await scene()
    thread = env["t_sched"]
    async with signed_in(app, "marcus") as http:
        r = await post(http, f"/staff/inbox/{thread}/assign", {"to": str(env["sam"])})
        assert r.status_code == 303
        r = await post(http, f"/staff/inbox/{thread}/done", {"state": "done"})
        assert r.status_code == 303
    before = len(await mails("new_message"))
    async with signed_in(app, "alice") as http:
        r = await post(http, f"/messages/{thread}/reply", {"body": "Any news?"},
                       page=f"/messages/{thread}", files=NO_FILE)  # fmt: skip
        assert r.status_code == 303
    [notice] = (await mails("new_message"))[before:]
    assert notice["to_address"] == "sam@practice.example"
    assert f"{PORTAL}/staff/inbox/{thread}" in notice["body"] and "news" not in notice["body"]
    row = await MessageThread.select(MessageThread.done_at).where(MessageThread.id == thread)
    assert row[0]["done_at"] is None


async def test_reading_marks_read_lowers_the_counts_and_is_audited(app):
    env = await scene()
    await client_writes(env, "alice", env["ruiz"], "Second question", "One more")
    async with signed_in(app, "ruiz") as http:
        page = (await http.get("/staff/inbox")).text
        assert "2 unread conversations" in page
        assert '<span class="badge">2<span class="visually-hidden"> unread</span>' in page
        assert page.count('<span class="tag">Unread</span>') == 2
        unread = (await http.get("/staff/inbox?show=unread")).text
        assert listed(unread) == listed(page)
        url, new = f"/staff/inbox/{env['t_ruiz']}", '<span class="tag">New</span>'
        r = await http.get(url)
        assert r.status_code == 200 and SECRET in r.text and "Alice Adams" in r.text
        # New to him until now; the page itself already counts it read.
        assert new in r.text and '<span class="badge">1<span' in r.text
        assert new not in (await http.get(url)).text
        page = (await http.get("/staff/inbox")).text
        assert "1 unread conversation<" in page
        unread = (await http.get("/staff/inbox?show=unread")).text
        assert listed(unread) == listed(page) - {env["t_ruiz"]}
    # Dr. Ruiz's read marks nothing read for the manager, who reads every thread.
    async with signed_in(app, "marcus") as http:
        assert "5 unread conversations" in (await http.get("/staff/inbox")).text
    # Each read is a staff read of Alice's record, part messages.
    reads = await events("staff.read")
    assert len(reads) == 2
    for event in reads:
        assert event["actor"] == env["ruiz"]
        assert event["subject"] == f"client:{env['alice']['client_id']}"
        assert detail_of(event)["part"] == "messages"


async def test_reply_validation_keeps_the_typed_text(app):
    env = await scene()
    thread = env["t_ruiz"]
    async with signed_in(app, "ruiz") as http:
        r = await reply(http, thread, "x" * 10_001)
        assert r.status_code == 422 and "<html" in r.text
        assert "Keep the message to 10,000 characters (10,001 now)" in r.text
        assert ("x" * 10_001 + "</textarea>") in r.text
        assert 'aria-invalid="true"' in r.text and 'id="reply-body-error"' in r.text
        r = await reply(http, thread, "  \r\n ")
        assert r.status_code == 422 and "Write your message." in r.text
        typed = "Please see the attached, Alice"
        r = await reply(http, thread, typed, [pdf("scan.pdf", EXE)])
        assert r.status_code == 422 and "“scan.pdf” is not a PDF" in r.text
        assert f"{typed}</textarea>" in r.text and 'id="reply-attachments-error"' in r.text
        r = await reply(http, thread, typed, [pdf(f"p{i}.pdf") for i in range(6)])
        assert r.status_code == 422 and "Attach at most 5 files" in r.text
        # With htmx: the thread fragment, not a page.
        r = await reply(http, thread, "", headers={"HX-Request": "true"})
        assert r.status_code == 422 and r.text.lstrip().startswith('<div id="inbox-thread">')
    assert await Message.count() == 4
    assert len(await mails("new_message")) == 4  # only the clients' first messages


async def test_reply_with_an_attachment_tells_the_client_who_replied(app):
    env = await scene()
    thread = env["t_ruiz"]
    before = len(await mails("new_message"))
    async with signed_in(app, "ruiz") as http:
        r = await reply(http, thread, "We can talk on Thursday.", [pdf("Sleep plan.pdf")])
        assert r.status_code == 303
        assert r.headers["location"] == f"/staff/inbox/{thread}?done=sent#reply"
        page = (await http.get(r.headers["location"])).text
        assert "Your reply was sent." in page and "We can talk on Thursday." in page
        link = re.search(rf'href="(/staff/inbox/{thread}/attachments/\d+)"', page)[1]
        got = await http.get(link)
        assert got.status_code == 200 and got.content == PDF
        # With htmx the thread is swapped in place.
        r = await reply(http, thread, "And one more.", headers={"HX-Request": "true"})
        assert r.status_code == 200 and r.text.lstrip().startswith('<div id="inbox-thread">')
        assert "And one more." in r.text and "Your reply was sent." in r.text
    # The manager answers in the same thread.
    async with signed_in(app, "marcus") as http:
        assert (await reply(http, thread, "The practice manager here.")).status_code == 303
    # The client: a notice per reply, without content, linked to her thread.
    notices = (await mails("new_message"))[before:]
    assert [m["to_address"] for m in notices] == ["alice@mail.example"] * 3
    for m in notices:
        assert f"{PORTAL}/messages/{thread}\n" in m["body"]
        for secret in ("Thursday", "one more", "Sleep plan", "Ruiz", "manager here"):
            assert secret not in m["body"] and secret not in m["subject"]
    [sent] = [e for e in await events("message.sent") if e["actor"] == env["ruiz"]][:1]
    assert detail_of(sent)["to"] == env["alice"]["user_id"] and len(detail_of(sent)["files"]) == 1
    # Alice sees each reply under its sender's name, and can download the file.
    async with signed_in(app, "alice") as http:
        page = (await http.get(f"/messages/{thread}")).text
        assert page.count("Dr. Elena Ruiz, PsyD, <time") == 2
        assert "Practice manager, <time" in page and "You, <time" in page
        link = re.search(r'href="(/messages/attachments/\d+)"', page)[1]
        assert (await http.get(link)).content == PDF
        assert "Reschedule" in (await http.get("/messages")).text
        assert "With Scheduling" in (await http.get("/messages")).text


async def test_assign_is_validated_and_audited(app):
    env = await scene()
    thread = env["t_sched"]
    await User.update({User.active: False}).where(User.id == env["chen"])
    async with signed_in(app, "priya") as http:
        page = (await http.get(f"/staff/inbox/{thread}")).text
        assert f'<option value="{env["sam"]}">sam (scheduler)</option>' in page
        assert f'<option value="{env["priya"]}" selected>' in page
        assert "James Chen" not in page  # not active: not offered
        for bad in (str(env["alice"]["user_id"]), str(env["chen"]), "999999", "nonsense", ""):
            r = await post(http, f"/staff/inbox/{thread}/assign", {"to": bad})
            assert r.status_code == 422, bad
            assert "Choose someone from the list" in r.text
            assert 'aria-describedby="assign-to-error"' in r.text
        assert await events("thread.assigned") == []
        # With htmx: the handling card comes back.
        r = await post(http, f"/staff/inbox/{thread}/assign", {"to": str(env["ruiz"])}, htmx=True)
        assert r.status_code == 200
        assert r.text.lstrip().startswith('<section class="card" id="handling"')
        assert "Assigned to Dr. Elena Ruiz, PsyD (provider)" in r.text
    [event] = await events("thread.assigned")
    assert event["actor"] == env["priya"] and event["subject"] == f"thread:{thread}"
    assert detail_of(event) == {
        "client": env["alice"]["client_id"], "from": env["priya"], "to": env["ruiz"]
    }  # fmt: skip
    # Dr. Ruiz reads it now. The biller may not be handed it (a scheduling thread is not
    # billing's, and an assignment never widens the access policy); handed on to Sam, of the
    # scheduling desk, it leaves Dr. Ruiz's inbox (it was never written to him).
    await User.update({User.active: True}).where(User.id == env["chen"])
    async with signed_in(app, "ruiz") as http:
        assert env["t_sched"] in listed((await http.get("/staff/inbox?show=mine")).text)
        page = (await http.get(f"/staff/inbox/{thread}")).text
        assert f'<option value="{env["tom"]}"' not in page
        r = await post(http, f"/staff/inbox/{thread}/assign", {"to": str(env["tom"])})
        assert r.status_code == 422 and "Choose someone from the list" in r.text
        r = await post(http, f"/staff/inbox/{thread}/assign", {"to": str(env["sam"])})
        assert r.status_code == 303 and r.headers["location"] == "/staff/inbox?done=assigned"
        assert "assigned to someone else" in (await http.get(r.headers["location"])).text
        assert (await http.get(f"/staff/inbox/{thread}")).status_code == 404
    async with signed_in(app, "tom") as http:
        assert (await http.get(f"/staff/inbox/{thread}")).status_code == 404
    async with signed_in(app, "sam") as http:
        assert thread in listed((await http.get("/staff/inbox")).text)


async def test_done_hides_the_thread_reopen_brings_it_back_both_audited(app):
    env = await scene()
    thread = env["t_ruiz"]
    async with signed_in(app, "ruiz") as http:
        r = await post(http, f"/staff/inbox/{thread}/done", {"state": "done"})
        assert (
            r.status_code == 303 and r.headers["location"] == f"/staff/inbox/{thread}?done=closed"
        )
        page = (await http.get(r.headers["location"])).text
        assert "Marked done" in page and ">Reopen</button>" in page
        assert listed((await http.get("/staff/inbox")).text) == set()
        assert listed((await http.get("/staff/inbox?show=done")).text) == {thread}
        # Done threads are not counted unread.
        assert "No unread conversations." in (await http.get("/staff/inbox")).text
        r = await post(http, f"/staff/inbox/{thread}/done", {"state": "open"}, htmx=True)
        assert r.status_code == 200 and ">Mark done</button>" in r.text
        assert r.text.lstrip().startswith('<section class="card" id="handling"')
        assert listed((await http.get("/staff/inbox")).text) == {thread}
    [closed] = await events("thread.done")
    [reopened] = await events("thread.reopened")
    for e in (closed, reopened):
        assert e["actor"] == env["ruiz"] and e["subject"] == f"thread:{thread}"
        assert detail_of(e) == {"client": env["alice"]["client_id"]}


async def test_filters_paging_and_a_query_count_independent_of_the_threads(app):
    env = await scene()
    async with signed_in(app, "marcus") as http:
        queries = []
        for n in (0, 30):
            for i in range(n):
                await client_writes(env, "alice", env["priya"], f"Question {i:02}", "Hello")
            with count_queries(app.state.engine) as seen:
                page = (await http.get("/staff/inbox")).text
            queries.append(len(seen))
        # The session, the count, the page, its unread marks, the assignees' names, the
        # unread count (the menu's badge too): the same for 4 threads or 34.
        assert queries[0] == queries[1] <= 6, queries
        with count_queries(app.state.engine) as seen:
            assert (await http.get(f"/staff/inbox/{env['t_bill']}")).status_code == 200
        assert len(seen) <= 12, seen
        assert "Page 1 of 2" in page and len(listed(page)) == 25
        # Newest first: the last question heads the list.
        assert page.index("Question 29") < page.index("Question 28")
        second = (await http.get("/staff/inbox?page=2")).text
        assert len(listed(second)) == 34 - 25 and "Page 2 of 2" in second
        assert listed(page).isdisjoint(listed(second))
        assert "Page 2 of 2" in (await http.get("/staff/inbox?page=99")).text
        assert (await http.get("/staff/inbox?page=nonsense")).status_code == 200
        # The desk filter: the 32 threads written to scheduling or billing, none to a person.
        desk = (await http.get("/staff/inbox?show=desk&page=2")).text
        assert 'Desk conversations <span class="hint">(32)</span>' in desk
        assert env["t_ruiz"] not in listed(desk) and env["t_bill"] in listed(desk)
        assert 'href="/staff/inbox?show=desk" hx-get="/staff/inbox?show=desk"' in desk
        # With htmx a filter link swaps the list only.
        r = await http.get("/staff/inbox?show=unread", headers={"HX-Request": "true"})
        assert r.text.lstrip().startswith('<section class="card" id="inbox-list"')
    async with signed_in(app, "ruiz") as http:
        page = (await http.get("/staff/inbox")).text
        assert "?show=desk" not in page  # a provider has no desk
        assert listed((await http.get("/staff/inbox?show=mine")).text) == {env["t_ruiz"]}
