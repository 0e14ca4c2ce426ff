"""Staff › Clients over HTTP: the list (search, filters, paging, query count, who sees
whom) and creating a client (validation, duplicate emails, forms for new clients, audit).
The custom demographics: test_staff_demographics.py."""

from __future__ import annotations

import re
from datetime import date, timedelta

from portal.accounts.auth import create_user
from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.tables import (
    AuditEvent,
    Client,
    ClientEmail,
    ClientPhone,
    ClientProvider,
    FormAssignment,
    FormTemplate,
    Invitation,
    LoginAttempt,
)
from portal.tables.accounts import Role
from tests import factories
from tests.conftest import client_for
from tests.web import Page, post_form, sign_in, signed_in

NEW = "/staff/clients/new"


async def plain_client(practice_id: int, first: str, last: str, **kw) -> int:
    """A client with no portal account, as staff create them."""
    values = dict(first_name=first, last_name=last, created_at=utcnow())
    values.update(kw)
    row = await Client.insert(Client(practice=practice_id, **values)).returning(Client.id)
    return row[0]["id"]


async def people() -> dict:
    """A practice with every staff role, two providers and their clients."""
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    chen = await factories.provider(p, "chen", display_name="James Chen")
    for username, role in [("owner", Role.owner), ("marcus", Role.manager),
                           ("priya", Role.scheduler), ("tom", Role.biller)]:  # fmt: skip
        await factories.staff(username, role)
    svc = await factories.service(p)
    alice = await factories.client(p, "alice", date_of_birth=date(1990, 6, 1))
    robert = await plain_client(
        p, "Robert", "Quinn", preferred_name="Bobby", date_of_birth=date(1985, 3, 14)
    )
    carol = await plain_client(p, "Carol", "Ng", date_of_birth=date(1970, 1, 2), status="active")
    soon = utcnow() + timedelta(days=2)
    await factories.appointment(alice["client_id"], ruiz["provider_id"], svc, soon)
    await factories.appointment(robert, chen["provider_id"], svc, soon)
    await ClientProvider.insert(ClientProvider(client=carol, provider=ruiz["provider_id"]))
    now = utcnow()
    await ClientEmail.insert(ClientEmail(client=robert, address="rq.work@mail.example", is_primary=True, created_at=now))  # fmt: skip
    await ClientPhone.insert(ClientPhone(client=robert, kind="mobile", number="+16175550142", created_at=now))  # fmt: skip
    return {"practice": p, "ruiz": ruiz, "chen": chen, "service": svc,
            "alice": alice["client_id"], "alice_user": alice["user_id"],
            "robert": robert, "carol": carol}  # fmt: skip


def shown(html: str) -> set[int]:
    """The clients listed on a list page or fragment."""
    return {int(i) for i in re.findall(r'<a href="/staff/clients/(\d+)">', html)}


async def listed(http, query: str = "") -> set[int]:
    r = await http.get(f"/staff/clients{query}")
    assert r.status_code == 200, r.text
    return shown(r.text)


# --- The list -------------------------------------------------------------------------


async def test_search_by_name_date_of_birth_email_and_phone(http):
    env = await people()
    await sign_in(http, "owner")
    alice, robert, carol = env["alice"], env["robert"], env["carol"]
    assert await listed(http) == {alice, robert, carol}
    for q, expected in [
        ("bobby", {robert}),  # preferred name
        ("QUIN", {robert}),  # partial last name, any case
        ("rob quinn", {robert}),  # every word
        ("alice", {alice}),
        ("1985-03-14", {robert}),
        ("03/14/1985", {robert}),
        ("3/14/1985", {robert}),
        ("1985-03-15", set()),
        ("rq.work@mail", {robert}),  # the client's own email address
        ("ALICE@mail.example", {alice}),  # the account's email
        ("(617) 555-0142", {robert}),
        ("617.555.0142", {robert}),
        ("5550142", {robert}),
        ("555-0199", set()),
        ("nobody", set()),
        ("%", set()),  # LIKE's wildcards are only characters here
        ("_", set()),
    ]:
        r = await http.get("/staff/clients", params={"q": q})
        assert shown(r.text) == expected, q
        assert f'value="{q}"' in Page(r).text or "&" in q, "the search box keeps the query"


async def test_filters_by_status_provider_and_waiting_for_approval(http):
    env = await people()
    p = env["practice"]
    waiting = await plain_client(p, "Wendy", "Wait", self_registered=True)
    approved = await plain_client(p, "Abe", "Ok", self_registered=True, approved_at=utcnow())
    await sign_in(http, "marcus")
    assert await listed(http, "?status=active") == {env["carol"]}
    assert await listed(http, "?status=new") == {env["alice"], env["robert"], waiting, approved}
    assert await listed(http, "?status=waiting") == {waiting}
    assert await listed(http, "?status=inactive") == set()
    ruiz = env["ruiz"]["provider_id"]
    # By appointment (Alice) and by assignment (Carol).
    assert await listed(http, f"?provider={ruiz}") == {env["alice"], env["carol"]}
    assert await listed(http, f"?provider={ruiz}&status=active") == {env["carol"]}
    assert await listed(http, f"?provider={env['chen']['provider_id']}&q=quinn") == {env["robert"]}
    # Nonsense filters are ignored, not errors.
    assert len(await listed(http, "?status=bogus&provider=abc&page=-3")) == 5
    page = Page(await http.get("/staff/clients?status=waiting"))
    assert "Waiting for approval" in page.text and "Not invited" in page.text


async def test_the_filters_answer_only_the_results_to_htmx(http):
    env = await people()
    await sign_in(http, "owner")
    r = await http.get("/staff/clients?status=active", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="client-results"' in r.text
    assert "<html" not in r.text and 'name="status"' not in r.text
    assert shown(r.text) == {env["carol"]}
    page = (await http.get("/staff/clients")).text
    assert 'hx-get="/staff/clients"' in page and 'hx-target="#client-results"' in page
    assert 'hx-push-url="true"' in page and 'method="get"' in page


async def test_paging_25_a_page_by_last_name_with_previous_and_next(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.staff("owner", Role.owner)
    ids = {}
    for n in range(60):
        ids[n] = await plain_client(p, "Pat", f"Name{n:02d}")
    await sign_in(http, "owner")
    first = Page(await http.get("/staff/clients"))
    assert shown(first.raw) == {ids[n] for n in range(25)}
    assert "Clients 1–25 of 60" in first.text and 'rel="next"' in first.raw
    assert 'rel="prev"' not in first.raw
    second = Page(await http.get("/staff/clients?page=2"))
    assert shown(second.raw) == {ids[n] for n in range(25, 50)}
    assert 'href="/staff/clients?page=3"' in second.raw and 'href="/staff/clients"' in second.raw
    third = Page(await http.get("/staff/clients?page=3"))
    assert shown(third.raw) == {ids[n] for n in range(50, 60)}
    assert "Clients 51–60 of 60" in third.text and 'rel="next"' not in third.raw
    assert shown((await http.get("/staff/clients?page=9")).text) == set()
    # The filters travel with the pages.
    r = await http.get("/staff/clients?q=pat&status=new&page=2")
    assert 'href="/staff/clients?q=pat&amp;status=new&amp;page=3"' in r.text


async def many_clients(p: int, providers: list[int], svc: int, start: int, n: int) -> None:
    """Clients start..n-1, each with an appointment and an assigned provider; a third with
    an account (half of those signed in), a third invited."""
    now = utcnow()
    rows = await Client.insert(
        *[
            Client(practice=p, first_name="Many", last_name=f"C{i:04d}", created_at=now)
            for i in range(start, n)
        ]  # fmt: skip
    ).returning(Client.id)
    for i, cid in enumerate([r["id"] for r in rows], start=start):
        pid = providers[i % len(providers)]
        await factories.appointment(cid, pid, svc, now + timedelta(days=1, hours=i), minutes=30)
        await ClientProvider.insert(ClientProvider(client=cid, provider=providers[0]))
        if i % 3 == 0:
            uid = await create_user(f"many{i}", f"m{i}@mail.example", "", Role.client,
                                    password_hash="not-a-hash")  # fmt: skip
            await Client.update({Client.user: uid}).where(Client.id == cid)
            if i % 2 == 0:
                await LoginAttempt.insert(LoginAttempt(user=uid, username=f"many{i}", ip="",
                                                       outcome="success", at=now))  # fmt: skip
        elif i % 3 == 1:
            await Invitation.insert(Invitation(client=cid, token_hash=f"t{i}", email="i@x.example",
                                               created_at=now, expires_at=now + timedelta(days=2)))  # fmt: skip


async def test_the_list_reads_the_same_few_queries_for_30_or_300_clients(http, app):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.staff("owner", Role.owner)
    a = await factories.provider(p, "prova", display_name="Provider A")
    b = await factories.provider(p, "provb", display_name="Provider B")
    svc = await factories.service(p)
    await sign_in(http, "owner")
    urls = ["/staff/clients", "/staff/clients?page=2", "/staff/clients?q=many",
            f"/staff/clients?provider={a['provider_id']}&status=new"]  # fmt: skip
    counts = {}
    done = 0
    for n in (30, 300):
        await many_clients(p, [a["provider_id"], b["provider_id"]], svc, done, n)
        done = n
        counts[n] = {}
        for url in urls:
            await http.get(url)  # warm
            with count_queries(app.state.engine) as seen:
                r = await http.get(url)
            assert r.status_code == 200
            assert len(shown(r.text)) == (5 if n == 30 and "page=2" in url else 25), url
            counts[n][url] = len(seen)
        page = Page(await http.get("/staff/clients"))
        states = re.findall(r"<td>(Not invited|Invited|Not yet signed in|Active)</td>", page.raw)
        assert set(states) == {"Not invited", "Invited", "Not yet signed in", "Active"}
        assert "Provider A" in page.text and "Provider B" in page.text
    assert counts[30] == counts[300], counts
    assert max(counts[300].values()) <= 9, counts


async def test_a_provider_sees_only_their_own_clients(http, app):
    env = await people()
    await sign_in(http, "ruiz")
    assert await listed(http) == {env["alice"], env["carol"]}
    for q in ("quinn", "1985-03-14", "rq.work@mail.example", "617-555-0142", "bobby"):
        assert await listed(http, f"?q={q}") == set(), q
    assert await listed(http, f"?provider={env['chen']['provider_id']}") == set()
    async with signed_in(app, "chen") as chen:
        assert await listed(chen) == {env["robert"]}
    async with signed_in(app, "tom") as biller:  # the biller reaches every client
        assert await listed(biller) == {env["alice"], env["robert"], env["carol"]}
    async with signed_in(app, "alice") as client:
        assert (await client.get("/staff/clients")).status_code == 403
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/staff/clients")).status_code == 303


# --- Creating a client ----------------------------------------------------------------

GOOD = {
    "first_name": "Dana",
    "last_name": "Reyes",
    "preferred_name": "Dee",
    "date_of_birth": "04/05/1992",
    "email": "Dana.Reyes@Mail.Example",
    "phone_mobile": "(617) 555-0177",
    "phone_home": "",
    "phone_work": "+44 20 7946 0958",
    "address_line1": "12 Elm Street",
    "address_line2": "Apt 3",
    "city": "Boston",
    "region": "MA",
    "postal_code": "02110",
    "status": "active",
    "gender": "Female",
    "marital_status": "Single",
    "employment": "Student",
}


async def forms_for_new_clients(p: int) -> dict:
    ids = {}
    for slug, assign in [("intake", ["all"]), ("consent", ["status:active"]),
                         ("new-only", ["status:new"]), ("later", [])]:  # fmt: skip
        definition = {"assign": assign, "fields": []}
        row = await FormTemplate.insert(
            FormTemplate(
                practice=p,
                slug=slug,
                title=slug.title(),
                updated_at=utcnow(),
                definition=definition,
            )  # fmt: skip
        ).returning(FormTemplate.id)
        ids[slug] = row[0]["id"]
    return ids


async def test_creating_a_client_with_everything(http):
    env = await people()
    forms = await forms_for_new_clients(env["practice"])
    await sign_in(http, "marcus")  # the scheduler may too, without demographics (below)
    page = Page(await http.get(NEW))
    assert page.status_code == 200 and "Dr. Elena Ruiz" in page.text
    data = {**GOOD, "providers": [str(env["ruiz"]["provider_id"]), str(env["chen"]["provider_id"])]}
    r = await post_form(http, "/staff/clients", data, page=NEW)
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    assert r.headers["location"] == f"/staff/clients/{cid}"
    row = await Client.select().where(Client.id == cid).first()
    assert row["user"] is None and row["created_at"] is not None
    assert (row["first_name"], row["last_name"], row["preferred_name"]) == ("Dana", "Reyes", "Dee")
    assert row["date_of_birth"] == date(1992, 4, 5) and row["status"] == "active"
    kept = [row[k] for k in ("address_line1", "city", "postal_code", "gender", "employment")]
    assert kept == ["12 Elm Street", "Boston", "02110", "Female", "Student"]
    emails = await ClientEmail.select().where(ClientEmail.client == cid)
    assert [(e["address"], e["is_primary"]) for e in emails] == [("Dana.Reyes@mail.example", True)]
    phones = await ClientPhone.select().where(ClientPhone.client == cid).order_by(ClientPhone.kind)
    assert [(x["kind"], x["number"]) for x in phones] == [
        ("mobile", "+16175550177"),
        ("work", "+442079460958"),
    ]
    linked = await ClientProvider.select(ClientProvider.provider).where(
        ClientProvider.client == cid
    )
    assert {x["provider"] for x in linked} == {
        env["ruiz"]["provider_id"],
        env["chen"]["provider_id"],
    }
    assigned = await FormAssignment.select(FormAssignment.template).where(
        FormAssignment.client == cid
    )
    assert {a["template"] for a in assigned} == {forms["intake"], forms["consent"]}
    event = await AuditEvent.select().where(AuditEvent.action == "staff.client_created").first()
    assert event["subject"] == f"client:{cid}" and event["ip"] == "203.0.113.7"
    assert await listed(http, "?q=reyes") == {cid}


async def test_a_provider_s_new_client_is_theirs_and_the_biller_may_not_create(http, app):
    env = await people()
    await sign_in(http, "ruiz")
    r = await post_form(http, "/staff/clients", {**GOOD, "email": "", "status": "new"}, page=NEW)
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    linked = await ClientProvider.select(ClientProvider.provider).where(
        ClientProvider.client == cid
    )
    assert [x["provider"] for x in linked] == [env["ruiz"]["provider_id"]]
    assert cid in await listed(http)
    async with signed_in(app, "tom") as biller:
        assert (await biller.get(NEW)).status_code == 404
        page = (await biller.get("/staff/clients")).text
        assert 'href="/staff/clients/new"' not in page
        before = await Client.count()
        r = await post_form(biller, "/staff/clients", {**GOOD, "email": ""}, page="/staff/clients")
        assert r.status_code == 404 and await Client.count() == before


async def test_creating_refuses_bad_input_keeps_every_value_and_writes_nothing(http):
    env = await people()
    await forms_for_new_clients(env["practice"])
    await sign_in(http, "owner")
    before = (await Client.count(), await AuditEvent.count(), await FormAssignment.count())
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    cases = [
        ({"first_name": ""}, "first_name", "Enter the client's first name."),
        ({"last_name": " "}, "last_name", "Enter the client's last name."),
        ({"date_of_birth": ""}, "date_of_birth", "Enter the client's date of birth."),
        ({"date_of_birth": "02/30/1990"}, "date_of_birth", "Enter a real date"),
        ({"date_of_birth": tomorrow}, "date_of_birth", "must be in the past"),
        ({"email": "dana@"}, "email", "Enter an email address like"),
        ({"phone_mobile": "12"}, "phone_mobile", "phone number"),
        ({"status": "vip"}, "status", "Choose new, active or inactive."),
        ({"gender": "Robot"}, "gender", "Choose one of the listed options"),
        ({"providers": ["999999"]}, "providers", "Choose from the practice's providers"),
    ]
    for change, field, message in cases:
        data = {**GOOD, **change}
        r = await post_form(http, "/staff/clients", data, page=NEW)
        page = Page(r)
        assert r.status_code == 422, field
        assert message in page.text, field
        assert f'<a href="#c-{field}">' in page.raw, field  # the summary links to the field
        assert f'id="c-{field}-error"' in page.raw, field
        assert 'aria-invalid="true"' in page.raw or field == "providers"
        for name in ("first_name", "city", "preferred_name"):  # what was typed stays
            assert f'value="{data[name]}"' in page.raw or not data[name].strip(), (field, name)
        assert 'value="02110"' in page.raw and "selected>Student<" in page.raw.replace(
            " selected>", "selected>"
        )
    # Several at once: each by its field.
    r = await post_form(http, "/staff/clients", {**GOOD, "first_name": "", "email": "x"}, page=NEW)
    page = Page(r)
    assert r.status_code == 422 and "Please check 2 things" in page.text
    assert 'value="x"' in page.raw and 'value="Reyes"' in page.raw
    assert (await Client.count(), await AuditEvent.count(), await FormAssignment.count()) == before


async def test_an_email_another_account_or_client_uses_is_refused(http):
    env = await people()
    await sign_in(http, "owner")
    before = await Client.count()
    for email in ("ALICE@mail.example", "rq.work@MAIL.example", "owner@practice.example"):
        r = await post_form(http, "/staff/clients", {**GOOD, "email": email}, page=NEW)
        page = Page(r)
        assert r.status_code == 422, email
        assert "already used by another account or client" in page.text
        assert f'value="{email}"' in page.raw
    assert await Client.count() == before
    # A client's other (not primary) address does not block it.
    now = utcnow()
    await ClientEmail.insert(
        ClientEmail(client=env["carol"], address="old@mail.example", created_at=now)
    )
    r = await post_form(http, "/staff/clients", {**GOOD, "email": "old@mail.example"}, page=NEW)
    assert r.status_code == 303
