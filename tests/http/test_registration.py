"""Self-registration over HTTP: the setting, the request (same answer for any address, the
limits, bad input), the emailed link (GET writes nothing, single use, expiry), the account
step, booking while waiting for approval, and staff approving or declining."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
import pytest

from portal.accounts import registration
from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.practice.info import PracticeInfo
from portal.scheduling import availability
from portal.scheduling.online_limit import approval_reason
from portal.tables import (
    Appointment,
    AuditEvent,
    Client,
    ClientEmail,
    ClientPhone,
    ClientProvider,
    FormAssignment,
    FormTemplate,
    OutboxMail,
    Practice,
    Registration,
    Session,
    User,
)
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from tests import factories
from tests.conftest import client_for
from tests.web import Page, csrf_token, mails, post_form, signed_in

SENT = "Check your email: we sent a link to {}."
PASSWORD = "a brand new client passphrase"
WAITING = "The practice will confirm your registration before you can book online."


async def practice(**kw) -> dict:
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142", **kw
    )
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    chen = await factories.provider(p, "chen", display_name="James Chen")
    return {"practice": p, "ruiz": ruiz, "chen": chen}


def person(**kw) -> dict:
    values = {
        "first_name": "Nora",
        "last_name": "Quinn",
        "date_of_birth": "1991-04-23",
        "email": "nora@mail.example",
        "mobile": "(617) 555-0199",
        "provider": "any",
        "message": "Evenings suit me best.",
    }
    values.update(kw)
    return values


async def ask(http: httpx.AsyncClient, **kw) -> Page:
    return Page(await post_form(http, "/register", person(**kw), page="/register"))


async def link_in_last_mail() -> str:
    body = (await mails("registration_verify"))[-1]["body"]
    return re.search(r"http://testserver\.local(/register/verify/\S+)", body).group(1)


async def register(http: httpx.AsyncClient, username: str = "nora", **kw) -> httpx.Response:
    """The whole way: the form, the mail's link, Continue, the account."""
    assert (await ask(http, **kw)).status_code == 200
    link = await link_in_last_mail()
    r = await post_form(http, link, page=link)
    assert r.status_code == 200 and "Choose your username and password" in r.text
    data = {"username": username, "password": PASSWORD, "password_again": PASSWORD}
    return await post_form(http, f"{link}/account", data, page=link)


async def test_off_by_default_everything_is_404_and_sign_in_offers_no_registration(http):
    await practice()
    assert (await http.get("/register")).status_code == 404
    token = await csrf_token(http, "/login")
    r = await http.post("/register", data={**person(), "_csrf_token": token})
    assert r.status_code == 404
    assert (await http.get("/register/verify/anything")).status_code == 404
    assert "/register" not in (await http.get("/login")).text
    assert await Registration.count() == 0 and not await mails()


async def test_register_follow_the_link_continue_choose_an_account_and_be_signed_in(http):
    env = await practice(self_registration=True)
    await FormTemplate.insert(
        FormTemplate(practice=env["practice"], slug="intake", title="Intake questionnaire",
                     definition=json.dumps({"assign": ["all"], "fields": []}), updated_at=utcnow())
    )  # fmt: skip
    page = Page(await http.get("/register"))
    assert page.status_code == 200 and "Any provider" in page.text
    assert "Dr. Elena Ruiz" in page.text and "James Chen" in page.text
    answer = await ask(http, provider=str(env["ruiz"]["provider_id"]))
    assert answer.status_code == 200 and SENT.format("nora@mail.example") in answer.text
    [sent] = await mails("registration_verify")
    assert sent["to_address"] == "nora@mail.example"
    link = await link_in_last_mail()
    token = link.rsplit("/", 1)[1]
    row = await Registration.select().first()
    assert token not in json.dumps(row, default=str)  # only the SHA-256 is kept
    assert "Evenings" not in sent["body"] and "Ruiz" not in sent["body"]

    # A GET (a mail scanner) writes nothing.
    users = await User.count()
    page = Page(await http.get(link))
    assert page.status_code == 200 and "Continue" in page.text
    assert await User.count() == users and await Client.count() == 0
    assert (await Registration.select().first())["verified_at"] is None

    r = await post_form(http, link, page=link)
    assert "nora@mail.example is confirmed" in Page(r).text
    assert (await Registration.select().first())["verified_at"] is not None
    data = {"username": "Nora.Q", "password": PASSWORD, "password_again": PASSWORD}
    r = await post_form(http, f"{link}/account", data, page=link)
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = await http.get("/")
    assert home.status_code == 200 and "nora.q" in home.text

    client = await Client.select().first()
    assert client["status"] == ClientStatus.new and client["self_registered"]
    assert (
        client["approved_at"] is None and client["registration_message"] == "Evenings suit me best."
    )
    assert client["date_of_birth"].isoformat() == "1991-04-23"
    user = await User.select().where(User.id == client["user"]).first()
    assert user["username"] == "nora.q" and user["role"] == Role.client
    assert user["email"] == "nora@mail.example"
    assert await ClientEmail.select(ClientEmail.address, ClientEmail.is_primary) == [
        {"address": "nora@mail.example", "is_primary": True}
    ]
    assert await ClientPhone.select(ClientPhone.kind, ClientPhone.number) == [
        {"kind": "mobile", "number": "+16175550199"}
    ]
    assert await ClientProvider.select(ClientProvider.provider) == [
        {"provider": env["ruiz"]["provider_id"]}
    ]
    assert await FormAssignment.count().where(FormAssignment.client == client["id"]) == 1
    assert (await Registration.select().first())["client"] == client["id"]
    actions = [a["action"] for a in await AuditEvent.select(AuditEvent.action)]
    for action in ("registration.requested", "registration.verified", "registration.completed"):
        assert action in actions
    # This browser registered: it is the account's known device, so no "new sign-in" mail.
    assert not await mails("new_device")


async def test_an_address_with_an_account_gets_the_same_answer_and_a_note_not_a_link(http):
    env = await practice(self_registration=True)
    await factories.client(env["practice"], "alice")  # alice@mail.example
    new = await ask(http, email="someone.new@mail.example")
    known = await ask(http, email="Alice@mail.example")
    assert known.status_code == new.status_code == 200
    strip = lambda p, e: re.sub(r'name="_csrf_token" value="[^"]+"', "", p.text.replace(e, "X"))  # noqa: E731
    assert strip(known, "Alice@mail.example") == strip(new, "someone.new@mail.example")
    [note] = await mails("registration_exists")
    assert note["to_address"] == "alice@mail.example"
    assert "sign in" in note["body"] and "/password-reset" in note["body"]
    assert "/register/verify/" not in note["body"]
    assert [m["to_address"] for m in await mails("registration_verify")] == [
        "someone.new@mail.example"
    ]
    assert await Client.count() == 1 and await User.count() == 3  # alice and the providers
    # Its row exists (the limits count it) but is dead: no link could ever work.
    dead = await Registration.select().where(Registration.email == "Alice@mail.example").first()
    assert dead["expires_at"] <= dead["created_at"]


async def test_bad_input_is_422_with_every_message_and_the_rest_kept(http):
    env = await practice(self_registration=True)
    other = await factories.practice(name="Elsewhere")
    stranger = await factories.provider(other, "stranger", display_name="Dr. Stranger")
    future = (utcnow().date() + timedelta(days=3)).isoformat()
    page = await ask(
        http, first_name="", email="not-an-address", mobile="12", date_of_birth=future,
        provider=str(stranger["provider_id"]), message="x" * 2001, last_name="Quinn-Ávila",
    )  # fmt: skip
    assert page.status_code == 422
    for message in ("Enter your first name.", "Enter an email address like",
                    "A date of birth cannot be in the future.", "Choose a provider from the list",
                    "Keep the message to 2000 characters", "phone number"):  # fmt: skip
        assert message in page.text, message
    assert 'value="Quinn-Ávila"' in page.text and 'value="not-an-address"' in page.text
    assert 'aria-describedby="reg-email-error"' in page.raw
    assert 'aria-invalid="true"' in page.raw
    assert await Registration.count() == 0 and not await mails()
    # A provider of this practice is kept selected after another field's error.
    page = await ask(http, email="", provider=str(env["chen"]["provider_id"]))
    assert page.status_code == 422
    assert re.search(rf'<option value="{env["chen"]["provider_id"]}" selected>', page.raw)


async def test_three_requests_a_day_per_address_then_the_same_answer_and_no_mail(app, http):
    await practice(self_registration=True)
    for _ in range(3):
        assert (await ask(http)).status_code == 200
    # From another network too: the address's limit holds.
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as other:
        page = await ask(other, email="NORA@mail.example")
    assert page.status_code == 200 and SENT.format("NORA@mail.example") in page.text
    assert len(await mails("registration_verify")) == 3
    assert await AuditEvent.count().where(AuditEvent.action == "registration.limited") == 1


async def test_five_requests_an_hour_per_network_then_429(http):
    await practice(self_registration=True)
    for n in range(5):
        assert (await ask(http, email=f"person{n}@mail.example")).status_code == 200
    page = await ask(http, email="sixth@mail.example")
    assert page.status_code == 429 and "Too many registrations" in page.text
    assert "sixth" not in page.text
    assert len(await mails()) == 5 and await Registration.count() == 5


async def test_a_filled_in_honeypot_gets_the_answer_and_nothing_else(http):
    await practice(self_registration=True)
    page = await ask(http, website="http://spam.example")
    assert page.status_code == 200 and SENT.format("nora@mail.example") in page.text
    assert await Registration.count() == 0 and not await mails()


async def test_an_expired_an_unknown_and_a_used_link_get_the_same_clear_page(app, http):
    await practice(self_registration=True)
    await ask(http)
    expired = await link_in_last_mail()
    await Registration.update({Registration.expires_at: utcnow() - timedelta(minutes=1)}).where(
        Registration.id > 0
    )
    assert await register(http, "first", email="first@mail.example") is not None
    used = await link_in_last_mail()
    account = {"username": "again", "password": PASSWORD, "password_again": PASSWORD}
    async with client_for(app) as fresh:
        for link in (expired, used, "/register/verify/not-a-token"):
            page = Page(await fresh.get(link))
            assert (
                page.status_code == 410 and "This link has expired or was already used" in page.text
            )
            assert (await post_form(fresh, link, page="/register")).status_code == 410
            r = await post_form(fresh, f"{link}/account", account, page="/register")
            assert r.status_code == 410
    assert await User.count().where(User.role == Role.client) == 1
    assert await Client.count() == 1


async def test_the_account_step_refuses_a_weak_password_or_a_taken_username_and_keeps_the_link(
    http,
):
    env = await practice(self_registration=True)
    await factories.client(env["practice"], "taken")
    await ask(http)
    link = await link_in_last_mail()
    await post_form(http, link, page=link)
    bad = [
        ({"username": "nora", "password": "short", "password_again": "short"}, "Use at least 8"),
        ({"username": "nora", "password": "password", "password_again": "password"}, "common"),
        ({"username": "nora", "password": PASSWORD, "password_again": "other"}, "not the same"),
        ({"username": "Taken", "password": PASSWORD, "password_again": PASSWORD}, "is taken"),
        (
            {"username": "no spaces", "password": PASSWORD, "password_again": PASSWORD},
            "Use letters",
        ),
    ]
    for data, message in bad:
        page = Page(await post_form(http, f"{link}/account", data, page=link))
        assert page.status_code == 422 and message in page.text, message
        assert f'value="{data["username"]}"' in page.text
    assert await Client.count() == 1
    data = {"username": "nora", "password": PASSWORD, "password_again": PASSWORD}
    assert (await post_form(http, f"{link}/account", data, page=link)).status_code == 303


async def test_an_address_that_got_an_account_meanwhile_is_refused_and_nothing_written(http):
    env = await practice(self_registration=True)
    await ask(http)
    link = await link_in_last_mail()
    # Between the request and the account step, staff gave that address an account.
    await factories.client(env["practice"], "nq", first_name="Nora")
    await User.update({User.email: "Nora@Mail.example"}).where(User.username == "nq")
    data = {"username": "nora", "password": PASSWORD, "password_again": PASSWORD}
    page = Page(await post_form(http, f"{link}/account", data, page=link))
    assert page.status_code == 409 and "exists already" in page.text
    assert await Client.count() == 1 and not await User.exists().where(User.username == "nora")
    assert (await Registration.select().first())["client"] is None


async def practice_with_hours(**kw) -> dict:
    env = await practice(self_registration=True, **kw)
    env["location"] = await factories.location(env["practice"], name="Downtown office")
    env["service"] = await factories.service(env["practice"], name="Individual therapy")
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    await availability.apply({"provider": [{
        "username": "ruiz", "slot_minutes": 60, "self_schedule": ["new", "active"],
        "min_notice_hours": 24, "horizon_days": 30,
        "hours": [{"days": every_day, "from": "09:00", "to": "12:00", "place": "Downtown office"}],
    }]})  # fmt: skip
    return env


async def book_first_slot(http: httpx.AsyncClient, env: dict) -> Page:
    query = (
        f"provider={env['ruiz']['provider_id']}&service={env['service']}&where={env['location']}"
    )
    start = (utcnow() + timedelta(days=3)).astimezone()
    data = {"provider": str(env["ruiz"]["provider_id"]), "service": str(env["service"]),
            "where": str(env["location"]), "start": ""}  # fmt: skip
    page = Page(await http.get(f"/schedule?{query}"))
    found = re.search(r"start=([0-9T:\-]+Z)", page.raw)
    data["start"] = found.group(1) if found else start.isoformat()
    return Page(await post_form(http, "/schedule/book", data, page="/schedule"))


async def test_a_waiting_client_is_told_up_front_cannot_book_and_can_once_approved(app, http):
    env = await practice_with_hours()
    await register(http)
    page = Page(await http.get("/schedule"))
    assert WAITING in page.text and "Call (617) 555-0142 to book now." in page.text
    refused = await book_first_slot(http, env)
    assert refused.status_code == 422 and WAITING in refused.text
    assert await Appointment.count() == 0
    client = await Client.select().first()
    await factories.staff("owner", Role.owner)
    async with signed_in(app, "owner") as owner:
        r = await post_form(owner, f"/staff/clients/{client['id']}/approval", {"action": "approve"},
                            page="/staff")  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == f"/staff/clients/{client['id']}"
    assert WAITING not in (await http.get("/schedule")).text
    booked = await book_first_slot(http, env)
    assert booked.status_code == 303, booked.text
    assert await Appointment.count() == 1


async def test_with_book_before_approval_a_new_client_books_at_once(http):
    env = await practice_with_hours(book_before_approval=True)
    await register(http)
    assert WAITING not in (await http.get("/schedule")).text
    assert (await book_first_slot(http, env)).status_code == 303
    assert await Appointment.count() == 1


async def test_the_approval_rule_costs_no_query_for_other_clients(app):
    client = {"id": 1, "practice": 1, "self_registered": False, "approved_at": None}
    with count_queries(app.state.engine) as seen:
        assert await approval_reason(client, None) == ""
        assert await approval_reason({**client, "self_registered": True, "approved_at": utcnow()}, None) == ""  # fmt: skip
    assert seen == []


async def waiting_client(app) -> tuple[dict, dict]:
    env = await practice(self_registration=True)
    async with client_for(app) as browser:
        await register(browser, provider=str(env["ruiz"]["provider_id"]))
    return env, await Client.select().first()


async def test_owner_approves_with_htmx_the_box_says_so_mailed_and_audited(app):
    env, client = await waiting_client(app)
    await factories.staff("owner", Role.owner)
    path = f"/staff/clients/{client['id']}/approval"
    async with signed_in(app, "owner") as owner:
        r = Page(await post_form(owner, path, {"action": "approve"}, page="/staff", htmx=True))
        assert r.status_code == 200 and "<html" not in r.text
        assert (
            'id="approval"' in r.raw and "Approved." in r.text and "Approve</button>" not in r.raw
        )
        again = Page(await post_form(owner, path, {"action": "approve"}, page="/staff", htmx=True))
        assert again.status_code == 409 and registration.HANDLED in again.text
        bad = await post_form(owner, path, {"action": "maybe"}, page="/staff", htmx=True)
        assert bad.status_code == 422 and "Choose Approve or Decline." in bad.text
    row = await Client.select().first()
    assert row["status"] == ClientStatus.active and row["approved_at"] is not None
    [sent] = await mails("registration_approved")
    assert sent["to_address"] == "nora@mail.example" and "/schedule" in sent["body"]
    [event] = await AuditEvent.select().where(AuditEvent.action == "registration.approved")
    assert event["subject"] == f"client:{client['id']}" and event["actor"] is not None


async def test_declining_closes_the_account_ends_its_sessions_mails_and_audits(app):
    env, client = await waiting_client(app)
    async with client_for(app) as nora:
        from tests.web import sign_in

        await sign_in(nora, "nora", PASSWORD)
        assert (await nora.get("/")).status_code == 200
        await factories.staff("manager", Role.manager)
        async with signed_in(app, "manager") as manager:
            r = await post_form(manager, f"/staff/clients/{client['id']}/approval",
                                {"action": "decline"}, page="/staff")  # fmt: skip
            assert r.status_code == 303
            assert "Nora" not in (await manager.get("/staff")).text  # no longer waiting
        assert (await nora.get("/")).status_code == 303  # signed out
    row = await Client.select().first()
    assert row["status"] == ClientStatus.inactive and row["approved_at"] is None
    user = await User.select().where(User.id == row["user"]).first()
    assert not user["active"] and await Session.count().where(Session.user == row["user"]) == 0
    [sent] = await mails("registration_declined")
    assert "(617) 555-0142" in sent["body"]
    assert await AuditEvent.count().where(AuditEvent.action == "registration.declined") == 1


async def test_biller_provider_of_others_and_clients_cannot_decide_registrations(app):
    env, client = await waiting_client(app)
    await factories.staff("biller", Role.biller)
    await factories.staff("owner", Role.owner)
    path = f"/staff/clients/{client['id']}/approval"
    for username, status in (("biller", 404), ("chen", 404), ("nora", 403)):
        async with signed_in(
            app, username, PASSWORD if username == "nora" else factories.PASSWORD
        ) as who:
            page = "/" if username == "nora" else "/staff"
            r = await post_form(who, path, {"action": "approve"}, page=page)
            assert r.status_code == status, username
    async with client_for(app) as anonymous:
        r = await post_form(anonymous, path, {"action": "approve"}, page="/login")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # A client id that does not exist is the same 404 for the owner.
    async with signed_in(app, "owner") as owner:
        assert (await post_form(owner, "/staff/clients/99999/approval", {"action": "approve"},
                                page="/staff")).status_code == 404  # fmt: skip
    assert (await Client.select().first())["approved_at"] is None
    # Their own provider (the one preferred at registration) may.
    async with signed_in(app, "ruiz") as ruiz:
        r = await post_form(ruiz, path, {"action": "approve"}, page="/staff")
        assert r.status_code == 303
    assert (await Client.select().first())["approved_at"] is not None


async def test_owner_and_manager_change_the_setting_audited_others_may_not(app, http):
    await practice()
    await factories.staff("owner", Role.owner)
    await factories.staff("manager", Role.manager)
    await factories.staff("biller", Role.biller)
    async with signed_in(app, "biller") as biller:
        assert (await biller.get("/staff/settings/registration")).status_code == 403
    async with signed_in(app, "ruiz") as ruiz:
        assert (await ruiz.get("/staff/settings/registration")).status_code == 403
    async with signed_in(app, "owner") as owner:
        page = Page(await owner.get("/staff/settings/registration"))
        assert page.status_code == 200 and "checked" not in page.raw
        r = await post_form(owner, "/staff/settings/registration",
                            {"self_registration": "on"}, page="/staff/settings/registration")  # fmt: skip
        assert r.status_code == 303
        page = Page(await owner.get(r.headers["location"]))
        assert "Self-registration settings saved." in page.text
    assert (await http.get("/register")).status_code == 200  # the cached practice was dropped
    async with signed_in(app, "manager") as manager:
        await post_form(manager, "/staff/settings/registration",
                        {"self_registration": "on", "book_before_approval": "on"},
                        page="/staff/settings/registration")  # fmt: skip
    row = await Practice.select().first()
    assert row["self_registration"] and row["book_before_approval"]
    events = (
        await AuditEvent.select()
        .where(AuditEvent.action == "practice.registration_settings_changed")
        .order_by(AuditEvent.id)
    )
    assert len(events) == 2
    detail = events[1]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["new"] == {"self_registration": True, "book_before_approval": True}


@pytest.mark.skipif(
    "self_registration" not in PracticeInfo.__dataclass_fields__,
    reason="PracticeInfo does not carry self_registration yet (the lead adds it)",
)
async def test_sign_in_links_to_registration_only_when_it_is_on(http):
    await practice()
    assert "/register" not in (await http.get("/login")).text
    await Practice.update({Practice.self_registration: True}).where(Practice.id > 0)
    from portal.practice import info

    info.changed()
    assert 'href="/register"' in (await http.get("/login")).text


async def test_the_registration_page_reads_the_same_few_queries_for_many_providers(app, http):
    env = await practice(self_registration=True)
    await http.get("/register")  # the practice is read once per process
    with count_queries(app.state.engine) as few:
        assert (await http.get("/register")).status_code == 200
    for n in range(10):
        await factories.provider(env["practice"], f"p{n}", display_name=f"Provider {n}")
    with count_queries(app.state.engine) as many:
        assert (await http.get("/register")).status_code == 200
    assert len(few) == len(many) <= 2
    assert await OutboxMail.count() == 0
