"""The security review's findings on enrolment: a deactivated client's invitation dies (F2);
self-registration's limits hold without an address, per IPv6 /64, practice-wide and per
normalised email (F3); old registration rows are purged (F5d); a message's line breaks count
as the textarea counts them (F5e)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from portal.accounts import invitations, registration
from portal.core.clock import utcnow
from portal.tables import AuditEvent, Client, Invitation, Registration, User
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from tests.conftest import client_for
from tests.http.test_invitations import GONE, box, choose_account, give_birth_date, invited
from tests.http.test_registration import SENT, ask, practice, register
from tests.web import Page, mails, post_form, signed_in


def peer(app, host: str) -> httpx.AsyncClient:
    """A browser whose connection the server sees as coming from `host` (any string)."""
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


async def deactivate(app, client_id: int) -> None:
    async with signed_in(app, "owner") as owner:
        url = f"/staff/clients/{client_id}/deactivate"
        r = await post_form(owner, url, page=f"/staff/clients/{client_id}/security", htmx=True)
        assert r.status_code == 200, r.text


# --- F2: a deactivated client's invitation ---------------------------------------------------


async def test_a_deactivated_client_cannot_use_the_invitation_sent_before(app):
    client_id, link = await invited(app)
    await deactivate(app, client_id)
    [row] = await Invitation.select()
    assert row["revoked_at"] is not None and row["revoked_reason"] == "deactivated"
    async with client_for(app) as nora:
        page = Page(await nora.get(link))
        assert page.status_code == 410 and GONE in page.text
        assert (await give_birth_date(nora, link)).status_code == 410
        r = Page(await choose_account(nora, link))
        assert r.status_code == 410 and GONE in r.text
        assert not nora.cookies.get("portal_session")
    assert await User.count().where(User.role == Role.client) == 0
    state = await invitations.state(client_id)
    assert state.kind == invitations.REVOKED and not state.may_send
    async with signed_in(app, "owner") as staff:
        shown = Page(await staff.get(box(client_id), headers={"HX-Request": "true"}))
        assert "Invitation withdrawn" in shown.text and "deactivated" in shown.text
        assert "Send a new invitation" not in shown.text
        # Sending one to an inactive client is refused too.
        r = await post_form(staff, box(client_id), page=box(client_id), htmx=True)
        assert r.status_code == 409 and "inactive" in r.text
    assert len(await Invitation.select()) == 1
    [event] = await AuditEvent.select().where(AuditEvent.action == "staff.client_deactivated").output(load_json=True)  # fmt: skip
    assert event["detail"]["invitations_revoked"] == 1


async def test_deactivated_after_the_date_of_birth_the_account_step_is_refused(app):
    client_id, link = await invited(app)
    async with client_for(app) as nora:
        assert (await give_birth_date(nora, link)).status_code == 200
        await deactivate(app, client_id)
        r = Page(await choose_account(nora, link))
        assert r.status_code == 410 and GONE in r.text
    assert await User.count().where(User.role == Role.client) == 0


async def test_accept_checks_the_status_again_inside_its_transaction(app, monkeypatch):
    """Deactivated between the link's first check and the write (no revocation seen yet):
    the account step still refuses, and writes nothing."""
    client_id, link = await invited(app)
    hash_password = invitations.hash_password_async

    async def deactivated_meanwhile(password: str) -> str:
        await Client.update({Client.status: ClientStatus.inactive}).where(Client.id == client_id)
        return await hash_password(password)

    async with client_for(app) as nora:
        assert (await give_birth_date(nora, link)).status_code == 200
        monkeypatch.setattr(invitations, "hash_password_async", deactivated_meanwhile)
        r = Page(await choose_account(nora, link))
        assert r.status_code == 410 and GONE in r.text
    assert await User.count().where(User.role == Role.client) == 0
    [row] = await Invitation.select()
    assert row["used_at"] is None
    assert (await Client.select(Client.user).where(Client.id == client_id).first())["user"] is None


async def test_reactivated_the_client_can_be_invited_again(app):
    client_id, _ = await invited(app)
    await deactivate(app, client_id)
    async with signed_in(app, "owner") as owner:
        url = f"/staff/clients/{client_id}/reactivate"
        r = await post_form(owner, url, page=f"/staff/clients/{client_id}/security", htmx=True)
        assert r.status_code == 200
        assert (await invitations.state(client_id)).may_send
        r = await post_form(owner, box(client_id), page=box(client_id), htmx=True)
        assert r.status_code == 200 and "Invited" in r.text


# --- F3: the limits on self-registration -----------------------------------------------------


async def test_requests_without_an_address_share_one_bucket(app):
    await practice(self_registration=True)
    for n in range(registration.MAX_PER_IP):
        async with peer(app, "unix-socket") as anon:
            assert (await ask(anon, email=f"p{n}@mail.example")).status_code == 200
    async with peer(app, "not-an-ip") as anon:
        page = await ask(anon, email="another@mail.example")
    assert page.status_code == 429 and "Too many registrations" in page.text
    assert await Registration.count() == registration.MAX_PER_IP
    # The 429's audit event is kept (it was rolled back with the refusal before).
    [limited] = await AuditEvent.select().where(AuditEvent.action == "registration.limited").output(load_json=True)  # fmt: skip
    assert limited["detail"] == {"by": "ip"} and limited["ip"] == ""


async def test_ipv6_addresses_count_by_their_64(app):
    await practice(self_registration=True)
    for n in range(registration.MAX_PER_IP):
        async with peer(app, f"2001:db8:1:2::{n + 1:x}") as one:
            assert (await ask(one, email=f"p{n}@mail.example")).status_code == 200
    async with peer(app, "2001:db8:1:2:ffff:ffff:ffff:ffff") as same_64:
        assert (await ask(same_64, email="q@mail.example")).status_code == 429
    async with peer(app, "2001:db8:1:3::1") as next_64:
        assert (await ask(next_64, email="r@mail.example")).status_code == 200
    ips = {r["ip"] for r in await Registration.select(Registration.ip)}
    assert ips == {"2001:db8:1:2::/64", "2001:db8:1:3::/64"}  # only the prefix is kept


async def test_a_practice_wide_cap_per_hour(app):
    await practice(self_registration=True)
    now = utcnow()
    await Registration.insert(
        *[
            Registration(
                token_hash=f"{n:064x}",
                first_name="A",
                last_name="B",
                date_of_birth="1990-01-01",
                email=f"p{n}@mail.example",
                ip=f"198.51.100.{n % 250}",
                created_at=now,
                expires_at=now,
            )
            for n in range(registration.MAX_PER_HOUR)
        ]
    )
    async with peer(app, "192.0.2.55") as fresh:
        page = await ask(fresh)
    assert page.status_code == 429 and "Too many registrations" in page.text
    assert not await mails()
    [limited] = await AuditEvent.select().where(AuditEvent.action == "registration.limited").output(load_json=True)  # fmt: skip
    assert limited["detail"] == {"by": "practice"}


async def test_the_email_limit_counts_case_and_plus_tags_as_one_address(app, http):
    await practice(self_registration=True)
    for typed in ("nora@mail.example", "Nora+a@mail.example", "NORA+b@Mail.example"):
        async with peer(app, f"198.51.100.{len(typed)}") as one:
            assert (await ask(one, email=typed)).status_code == 200
    page = await ask(http, email="nora+c@mail.example")
    assert page.status_code == 200 and SENT.format("nora+c@mail.example") in page.text
    sent = await mails("registration_verify")
    # Three mails, each to the address as typed; the fourth request sent nothing.
    assert [m["to_address"] for m in sent] == [
        "nora@mail.example", "Nora+a@mail.example", "NORA+b@mail.example",
    ]  # fmt: skip
    # Another local part, or the same one at another domain, is another address.
    assert (await ask(http, email="nora@other.example")).status_code == 200
    assert len(await mails("registration_verify")) == 4


# --- F5d: old registration rows are purged ---------------------------------------------------


async def test_old_rows_are_purged_when_a_registration_is_made(app, http):
    await practice(self_registration=True)
    assert (await register(http, "nora")).status_code == 303  # used: a client now
    async with peer(app, "198.51.100.9") as other:
        await ask(other, email="never@mail.example")  # never verified
        await ask(other, email="recent@mail.example")  # recent: kept
    old = utcnow() - registration.VALID_FOR - timedelta(days=1, minutes=1)
    await Registration.update({Registration.created_at: old, Registration.expires_at: old}).where(
        Registration.email != "recent@mail.example"
    )
    async with peer(app, "198.51.100.10") as other:
        await ask(other, email="new@mail.example")
    left = sorted(r["email"] for r in await Registration.select(Registration.email))
    assert left == ["new@mail.example", "recent@mail.example"]
    # The client made from the used one stays, with what they gave.
    client = await Client.select().where(Client.self_registered.eq(True)).first()
    assert client["first_name"] == "Nora" and client["registration_message"]


# --- F5e: line breaks in the message ---------------------------------------------------------


async def test_a_message_at_the_limit_with_crlf_line_breaks_is_accepted(http):
    await practice(self_registration=True)
    lines = ["x" * 99] * (registration.MAX_MESSAGE // 100)  # 20 lines, 1,999 characters
    message = "\r\n".join(lines) + "y"  # 2,000 as the textarea counts; 2,019 with CRLF
    assert len(message.replace("\r\n", "\n")) == registration.MAX_MESSAGE
    page = await ask(http, message=message)
    assert page.status_code == 200, page.text
    [row] = await Registration.select(Registration.message)
    assert row["message"] == "\n".join(lines) + "y"
    page = await ask(http, email="other@mail.example", message=message + "z")
    assert page.status_code == 422 and "2000 characters" in page.text
