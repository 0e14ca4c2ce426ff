"""Invitations to the portal end to end: staff send one from a client's record, the mail
arrives (a real SMTP server), the client gives their date of birth, chooses a username
and password and is signed in; the dead links, the five tries, resending, the refusals,
the role boundaries and the audit trail."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta

from portal.accounts import invitations
from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.practice import info as practice_info
from portal.practice import terms
from portal.tables import (
    AuditEvent,
    Client,
    ClientEmail,
    ClientProvider,
    Invitation,
    Practice,
    Session,
    User,
)
from portal.tables.accounts import Role
from tests import factories
from tests.conftest import client_for
from tests.http.test_two_factor import enable_two_factor
from tests.unit.test_mail import smtp, worker_for  # noqa: F401 - the real SMTP server fixture
from tests.web import Page, csrf_from, csrf_token, mails, post_form, signed_in

BORN = date(1986, 4, 21)
NEW_PASSWORD = "a calm river at dawn"
GONE = "This invitation link has expired or was already used. Ask the practice for a new one."
LINK = re.compile(r"http://testserver\.local(/invitations/[A-Za-z0-9_\-]+)")


async def practice(**kw) -> int:
    kw.setdefault("two_factor_policy", "nobody")
    return await factories.practice(name="Harbor Counseling", email="desk@harbor.example", **kw)


async def new_client(p: int, *, email: str = "nora@mail.example", born: date | None = BORN) -> int:
    """A client the practice knows, with no portal account yet."""
    values = dict(first_name="Nora", last_name="Lane", date_of_birth=born, created_at=utcnow())
    client_id = (await Client.insert(Client(practice=p, **values)).returning(Client.id))[0]["id"]
    if email:
        await ClientEmail.insert(
            ClientEmail(client=client_id, address=email, is_primary=True, created_at=utcnow())
        )
    return client_id


def box(client_id: int) -> str:
    return f"/staff/clients/{client_id}/invitation"


async def invite(staff, client_id: int, *, htmx: bool = False):
    return await post_form(staff, box(client_id), page=box(client_id), htmx=htmx)


def links(rows: list[dict]) -> list[str]:
    return [LINK.search(m["body"]).group(1) for m in rows]


async def invited(app, sender: str = "owner", role: Role = Role.owner, **kw) -> tuple[int, str]:
    """A practice, a client invited by `sender`: the client's id and the link in the mail."""
    client_id = await new_client(await practice(**kw))
    await factories.staff(sender, role)
    async with signed_in(app, sender) as staff:
        await invite(staff, client_id)
    [link] = links(await mails("invitation"))
    return client_id, link


async def give_birth_date(browser, link: str, typed: str = BORN.isoformat()) -> Page:
    """The date of birth step, posted as its form posts it (the token in a hidden field)."""
    token = link.rsplit("/", 1)[1]
    r = await browser.post(
        "/invitations/date-of-birth",
        data={"token": token, "date_of_birth": typed, "_csrf_token": await csrf_token(browser)},
    )
    return Page(r)


async def choose_account(browser, link: str, username: str = "nora", password=None, again=None):
    """The account step, posted as its form posts it (the token in a hidden field)."""
    password = password or NEW_PASSWORD
    data = {"token": link.rsplit("/", 1)[1], "username": username, "password": password}
    data |= {"password_again": password if again is None else again}
    return await browser.post("/invitations/account", data={**data, "_csrf_token": await csrf_token(browser)})  # fmt: skip


async def actions(action: str) -> list[dict]:
    query = AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return await query.output(load_json=True)


async def test_invitation_end_to_end_through_the_smtp_server(app, smtp, tmp_path):  # noqa: F811
    p = await practice()
    owner = await factories.staff("owner", Role.owner)
    client_id = await new_client(p)
    async with signed_in(app, "owner") as staff:
        before = Page(await staff.get(box(client_id), headers={"HX-Request": "true"}))
        assert before.status_code == 200 and "Not invited" in before.text
        assert "Invite to the portal" in before.text and "<html" not in before.raw
        r = Page(await invite(staff, client_id, htmx=True))
        assert r.status_code == 200, r.text
        assert "The invitation was sent to nora@mail.example." in r.text and "Invited" in r.text
        assert "The link works until" in r.text and "Send a new invitation" in r.text
    assert (await worker_for(smtp, tmp_path).run_once()).sent >= 1
    [received] = [m for m in smtp.messages if m["To"] == "nora@mail.example"]
    assert received["Subject"] == "Your invitation to the Harbor Counseling client portal"
    body = received.get_payload(decode=True).decode()
    assert "within 48 hours" in body
    link = LINK.search(body).group(1)
    [row], token = await Invitation.select(), link.rsplit("/", 1)[1]
    assert row["token_hash"] != token and len(row["token_hash"]) == 64  # only the hash is kept
    assert row["expires_at"] - row["created_at"] == timedelta(hours=48)
    assert row["created_by"] == owner

    async with client_for(app) as browser:
        page = Page(await browser.get(link))
        assert page.status_code == 200 and "Date of birth" in page.text
        assert f'name="token" value="{token}"' in page.raw  # in the form, not in a cookie
        assert not browser.cookies.get("portal_session")
        step = await give_birth_date(browser, link, "04/21/1986")  # typed by hand works too
        assert step.status_code == 200 and "choose how you will sign in" in step.text
        assert "nora@mail.example" in step.text
        # The username and password rules of the portal, the input kept.
        r = Page(await choose_account(browser, link, "Nora", "password"))
        assert r.status_code == 422 and "most common ones" in r.text
        assert 'value="Nora"' in r.raw  # as typed
        r = Page(await choose_account(browser, link, "nora", NEW_PASSWORD, "other"))
        assert r.status_code == 422 and "The two passwords are not the same." in r.text
        r = await choose_account(browser, link, "Nora")
        assert r.status_code == 303 and r.headers["location"] == "/"
        dashboard = Page(await browser.get("/"))
        assert dashboard.status_code == 200 and "nora" in dashboard.text
    user = await User.select().where(User.username == "nora").first()
    assert user["role"] == Role.client and user["email"] == "nora@mail.example"
    assert await Client.exists().where((Client.id == client_id) & (Client.user == user["id"]))
    [used] = await Invitation.select()
    assert used["used_at"] is not None and used["verified_at"] is not None
    # The staff box now says so, and offers no invitation.
    async with signed_in(app, "owner") as staff:
        shown = Page(await staff.get(box(client_id)))
        assert "Has a portal account" in shown.text and "set up their account on" in shown.text
        assert "Invite to the portal" not in shown.text
    assert (await invitations.state(client_id)).kind == invitations.ACCEPTED
    # The audit trail: sent by the owner, the date of birth, the account.
    [sent] = await actions("invitation.sent")
    assert sent["actor"] == owner and sent["subject"] == f"client:{client_id}"
    assert len(await actions("invitation.verified")) == 1
    [accepted] = await actions("invitation.accepted")
    assert accepted["actor"] == user["id"] and accepted["subject"] == f"client:{client_id}"
    reads = await actions("staff.read")
    assert reads and all(r["detail"]["part"] == "invite" for r in reads if r["detail"])


async def test_two_factor_setup_then_terms_follow_as_at_any_sign_in(app):
    p = await practice()
    await factories.staff("owner", Role.owner)
    first, second = await new_client(p), await new_client(p, email="omar@mail.example")
    async with signed_in(app, "owner") as staff:
        await invite(staff, first)
        await invite(staff, second)
    await Practice.update({Practice.two_factor_policy: "everyone"}).where(Practice.id == p)
    practice_info.changed()
    link_one, link_two = links(await mails("invitation"))
    # The policy asks everyone for two-factor: the setup comes first, nothing else opens.
    async with client_for(app) as browser:
        await give_birth_date(browser, link_one)
        r = await choose_account(browser, link_one)
        assert r.status_code == 303 and r.headers["location"] == "/profile/two-factor"
        assert (await browser.get("/")).headers["location"] == "/profile/two-factor"
        await enable_two_factor(browser)
        assert (await browser.get("/")).status_code == 200
    # With terms published too, the steps are those of any sign-in (terms, then two-factor).
    await terms.publish("2026-01", "The portal is not for emergencies.")
    async with client_for(app) as browser:
        await give_birth_date(browser, link_two)
        r = await choose_account(browser, link_two, "omar")
        assert r.status_code == 303 and r.headers["location"] == "/profile/two-factor"
        assert (await browser.get("/profile/two-factor")).headers["location"] == "/terms/accept"
        page = await browser.get("/terms/accept")
        assert "not for emergencies" in page.text
        terms_id = re.search(r'name="terms_id" value="(\d+)"', page.text).group(1)
        data = {"terms_id": terms_id, "agree": "yes", "_csrf_token": csrf_from(page.text)}
        assert (await browser.post("/terms/accept", data=data)).status_code == 303
        await enable_two_factor(browser)
        assert (await browser.get("/")).status_code == 200


async def test_an_expired_link_is_dead_and_staff_see_it(app):
    client_id, link = await invited(app, invitation_hours=24)
    [row] = await Invitation.select()
    assert row["expires_at"] - row["created_at"] == timedelta(hours=24)  # the practice's hours
    async with client_for(app) as browser:
        await give_birth_date(browser, link)
        # A day later the link is dead, even after the date of birth.
        await Invitation.update({Invitation.expires_at: utcnow() - timedelta(seconds=1)}).where(
            Invitation.id == row["id"]
        )
        page = Page(await browser.get(link))
        assert page.status_code == 410 and GONE in page.text
        r = Page(await choose_account(browser, link))
        assert r.status_code == 410 and GONE in r.text
        r = Page(await give_birth_date(browser, link))
        assert r.status_code == 410
        # An unknown token gets the very same page.
        unknown = Page(await browser.get("/invitations/" + "x" * 43))
        assert unknown.status_code == 410 and unknown.text == page.text
    assert await User.count().where(User.role == Role.client) == 0
    async with signed_in(app, "owner") as staff:
        shown = Page(await staff.get(box(client_id), headers={"HX-Request": "true"}))
        assert "Invitation expired" in shown.text and "Send a new invitation" in shown.text


async def test_five_wrong_dates_of_birth_kill_the_link_and_tell_who_sent_it(app):
    client_id, link = await invited(app)
    async with client_for(app) as browser:
        for n in range(1, 5):
            r = await give_birth_date(browser, link, "1986-04-22")
            assert r.status_code == 422
            assert "That date of birth doesn't match our records" in r.text
            assert 'value="1986-04-22"' in r.raw  # what was typed stays
            left = 5 - n
            assert f"{left} more {'try' if left == 1 else 'tries'}" in r.text
        # Not a date, or nothing: said so, and not counted.
        r = await give_birth_date(browser, link, "someday")
        assert r.status_code == 422 and "MM/DD/YYYY" in r.text
        assert (await Invitation.select(Invitation.failed_checks).first())["failed_checks"] == 4
        r = await give_birth_date(browser, link, "1990-01-01")
        assert r.status_code == 410 and "five times now" in r.text
        # Dead now, even with the right date.
        r = await give_birth_date(browser, link)
        assert r.status_code == 410 and GONE in r.text
        assert (await browser.get(link)).status_code == 410
    [row] = await Invitation.select()
    assert row["revoked_reason"] == "too_many_tries" and row["failed_checks"] == 5
    [told] = await mails("invitation.locked")
    assert told["to_address"] == "owner@practice.example"
    assert f"http://testserver.local/staff/clients/{client_id}" in told["body"]
    assert "Nora" not in told["body"] and "1986" not in told["body"]
    assert len(await actions("invitation.check_failed")) == 5
    [stopped] = await actions("invitation.too_many_tries")
    assert stopped["subject"] == f"client:{client_id}" and stopped["detail"]["told"] == "sender"
    async with signed_in(app, "owner") as staff:
        shown = Page(await staff.get(box(client_id)))
        assert "too many wrong dates of birth" in shown.text
        # Staff can send a new one, which works.
        await invite(staff, client_id)
    new_link = links(await mails("invitation"))[-1]
    async with client_for(app) as browser:
        assert (await give_birth_date(browser, new_link)).status_code == 200


async def test_with_the_sender_gone_the_practice_is_told(app):
    _, link = await invited(app, "manager", Role.manager)
    await User.update({User.email: ""}).where(User.username == "manager")
    async with client_for(app) as browser:
        for _ in range(5):
            await give_birth_date(browser, link, "2000-01-01")
    [told] = await mails("invitation.locked")
    assert told["to_address"] == "desk@harbor.example"


async def test_resending_kills_the_first_link(app):
    client_id, _ = await invited(app)
    async with signed_in(app, "owner") as staff:
        r = await invite(staff, client_id)  # no JavaScript: post, then redirect, then the page
        assert r.status_code == 303 and r.headers["location"] == f"{box(client_id)}?done=sent"
        page = Page(await staff.get(r.headers["location"]))
        assert "The invitation was sent." in page.text and "Find a client" in page.text
    first, second = links(await mails("invitation"))
    async with client_for(app) as browser:
        old = Page(await browser.get(first))
        assert old.status_code == 410 and GONE in old.text
        assert (await give_birth_date(browser, first)).status_code == 410
        assert (await give_birth_date(browser, second)).status_code == 200
    rows = await Invitation.select().order_by(Invitation.id)
    assert rows[0]["revoked_reason"] == "resent" and rows[1]["revoked_at"] is None
    sent = await actions("invitation.sent")
    assert [e["detail"]["resent"] for e in sent] == [False, True]


async def test_a_used_link_cannot_be_used_again_and_two_posts_make_one_account(app):
    client_id, link = await invited(app)
    async with client_for(app) as one, client_for(app) as two:
        await give_birth_date(one, link)
        assert (await two.get(link)).status_code == 200  # verified: the account step
        results = await asyncio.gather(
            choose_account(one, link, "nora"), choose_account(two, link, "nora2")
        )
    assert sorted(r.status_code for r in results) == [303, 410]
    assert GONE in Page(max(results, key=lambda r: r.status_code)).text  # the single use held
    [user] = await User.select(User.id).where(User.role == Role.client)
    assert await Session.count().where(Session.user == user["id"]) == 1
    async with client_for(app) as late:
        r = Page(await late.get(link))
        assert r.status_code == 410 and GONE in r.text
        assert (await give_birth_date(late, link)).status_code == 410


async def test_a_taken_username_is_refused_and_the_link_stays_good(app):
    _, link = await invited(app)
    await factories.staff("nora", Role.scheduler)  # someone else's account, named nora
    async with client_for(app) as browser:
        await give_birth_date(browser, link)
        r = Page(await choose_account(browser, link, "NORA"))
        assert r.status_code == 422 and "That username is taken. Choose another." in r.text
        r = await choose_account(browser, link, "nora.lane")
        assert r.status_code == 303
    assert await Client.count().where(Client.user.is_not_null()) == 1


async def test_refused_without_email_or_birth_date_or_when_an_account_exists(app):
    p = await practice()
    await factories.staff("owner", Role.owner)
    no_email = await new_client(p, email="")
    no_birth = await new_client(p, email="unborn@mail.example", born=None)
    taken = await new_client(p, email="Alice@Mail.Example")  # alice's, in other letters
    alice = await factories.client(p, "alice")
    async with signed_in(app, "owner") as staff:
        r = Page(await invite(staff, no_email, htmx=True))
        assert r.status_code == 422 and "Add the client's email address first" in r.text
        r = Page(await invite(staff, no_birth, htmx=True))
        assert r.status_code == 422 and "Add the client's date of birth first" in r.text
        r = Page(await invite(staff, taken, htmx=True))
        assert r.status_code == 422 and "already used by another portal account" in r.text
        r = Page(await invite(staff, alice["client_id"], htmx=True))
        assert r.status_code == 409 and "already has a portal account" in r.text
        # Without JavaScript: the page, with the message.
        r = Page(await invite(staff, no_email))
        assert r.status_code == 422 and "Find a client" in r.text
        assert "Add the client's email address first" in r.text
    assert await Invitation.count() == 0 and await mails("invitation") == []
    assert await actions("invitation.sent") == []


async def test_an_email_taken_after_sending_is_refused_at_the_account_step(app):
    client_id, link = await invited(app)
    await factories.staff("nora.staff")
    await User.update({User.email: "NORA@mail.example"}).where(User.username == "nora.staff")
    async with client_for(app) as browser:
        await give_birth_date(browser, link)
        r = Page(await choose_account(browser, link))
        assert r.status_code == 410 and "already used by another portal account" in r.text
    assert await User.count().where(User.role == Role.client) == 0
    assert (await Invitation.select(Invitation.used_at).first())["used_at"] is None


async def test_who_may_invite(app):
    p = await practice()
    await factories.staff("owner", Role.owner)
    await factories.staff("biller", Role.biller)
    await factories.staff("scheduler", Role.scheduler)
    mine = await factories.provider(p, "drmine")
    await factories.provider(p, "drother", display_name="Dr. Other")
    client_id = await new_client(p)
    await ClientProvider.insert(ClientProvider(client=client_id, provider=mine["provider_id"]))
    for who in ("biller", "drother"):
        async with signed_in(app, who) as staff:
            assert (await staff.get(box(client_id))).status_code == 404
            r = await post_form(staff, box(client_id), page="/staff")
            assert r.status_code == 404, who
    assert await Invitation.count() == 0
    async with signed_in(app, "drmine") as provider:
        assert (await provider.get(box(client_id))).status_code == 200
        assert (await invite(provider, client_id, htmx=True)).status_code == 200
    async with signed_in(app, "scheduler") as scheduler:
        assert (await invite(scheduler, client_id, htmx=True)).status_code == 200
    # An unknown client is a 404; a client is no staff member (403).
    async with signed_in(app, "owner") as staff:
        assert (await staff.get(box(client_id + 999))).status_code == 404
    await factories.client(p, "alice")
    async with signed_in(app, "alice") as c:
        assert (await c.get(box(client_id))).status_code == 403
    assert len(await actions("invitation.sent")) == 2


async def test_the_box_costs_few_queries_and_states_come_in_one(app):
    p = await practice()
    await factories.staff("owner", Role.owner)
    ids = [await new_client(p, email=f"c{n}@mail.example") for n in range(3)]
    async with signed_in(app, "owner") as staff:
        await invite(staff, ids[0])
        with count_queries(app.state.engine) as seen:
            r = await staff.get(box(ids[0]), headers={"HX-Request": "true"})
        assert r.status_code == 200
        # The session, the record (and its audited read), the state.
        assert len(seen) <= 5, seen
    with count_queries(app.state.engine) as seen:
        found = await invitations.states(ids + [ids[-1] + 100])
    assert len(seen) == 1
    assert [found[i].kind for i in ids] == ["sent", "none", "none"]
    assert ids[-1] + 100 not in found
