"""Staff › a client's record over HTTP: every section for the owner (page and fragment),
the role boundaries of the access policy (404s), the audit of every read, the demographics
form, assigning a form, reading a submitted form and a card image, and the account actions
(deactivate, end sessions, reset two-factor, unlock) with what the client sees after."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.core.uploads import store
from portal.forms import assignments, definition, loader
from portal.insurance.policy import check_card
from portal.messaging import sending
from portal.practice.info import current_practice
from portal.tables import (
    AuditEvent,
    Client,
    ClientContact,
    ClientEmail,
    ClientPhone,
    CustomField,
    CustomFieldValue,
    FormAssignment,
    InsurancePolicy,
    LoginAttempt,
    ReminderSettings,
    Session,
    User,
)
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from portal.tables.people import ClientStatus
from portal.tables.scheduling import AppointmentStatus
from tests import factories
from tests.conftest import client_for
from tests.http.test_two_factor import enable_two_factor
from tests.web import Page, mails, post_form, sign_in, signed_in

INTAKE = {
    "slug": "intake",
    "title": "Intake questionnaire",
    "assign": ["alice"],
    "field": [
        {"name": "reason", "type": "long_text", "label": "What brings you here", "required": True},
        {"name": "signature", "type": "signature", "label": "Signature"},
    ],
}
CONSENT = {
    "slug": "consent",
    "title": "Consent to treatment",
    "assign": ["alice"],
    "field": [{"name": "agree", "type": "checkbox", "label": "I agree", "required": True}],
}
SECTIONS = [
    "profile", "demographics", "appointments", "insurance", "forms", "messages", "billing",
    "security",
]  # fmt: skip
# What each section shows of Alice (the scene's data).
SHOWS = {
    "profile": ["Alice", "(617) 555-0142", "alice@home.example", "Maria Tester", "Responsible party", "Text message", "1 Elm Street"],
    "demographics": ["Referral source", "Dr. Gomez", "Preferred language", "Gender"],
    "appointments": ["Dr. Elena Ruiz", "Individual therapy", "Scheduled", "Completed"],
    "insurance": ["Blue Harbor Health", "HBR123456", "Old Mutual Care", "Front of card"],
    "forms": ["Intake questionnaire", "Consent to treatment", "Assign another form"],
    "messages": ["Moving Thursday", "/staff/inbox/"],
    "billing": ["$100.00 owed", "Session charge"],
    "security": ["alice", "Active sessions", "Login history", "Signed in"],
}  # fmt: skip


async def scene() -> dict:
    """Alice (Dr. Ruiz's client) with something in every part of her record; Bob (James
    Chen's); one staff member of every role."""
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    alice = await factories.client(
        p, "alice", first_name="Alice", last_name="Tester", status=ClientStatus.active,
        date_of_birth=date(1986, 4, 21), address_line1="1 Elm Street", city="Boston",
        region="MA", postal_code="02110",
    )  # fmt: skip
    bob = await factories.client(p, "bob", first_name="Bob", status=ClientStatus.active)
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    chen = await factories.provider(p, "chen", display_name="James Chen")
    svc = await factories.service(p)
    loc = await factories.location(p)
    cid, now = alice["client_id"], utcnow()
    await factories.appointment(
        cid, ruiz["provider_id"], svc, now + timedelta(days=3), location_id=loc
    )
    await factories.appointment(
        cid, ruiz["provider_id"], svc, now - timedelta(days=20), status=AppointmentStatus.completed
    )
    await factories.appointment(bob["client_id"], chen["provider_id"], svc, now + timedelta(days=2))
    staff = {
        "owner": await factories.staff("olivia", Role.owner),
        "manager": await factories.staff("marcus", Role.manager),
        "scheduler": await factories.staff("priya", Role.scheduler),
        "biller": await factories.staff("tom", Role.biller),
    }
    await ClientPhone.insert(
        ClientPhone(client=cid, kind="mobile", number="+16175550142", created_at=now)
    )
    await ClientEmail.insert(
        ClientEmail(client=cid, address="alice@home.example", is_primary=True, created_at=now)
    )
    await ClientContact.insert(
        ClientContact(client=cid, name="Maria Tester", relationship="Mother", phone="+16175550100",
                      is_responsible_party=True, created_at=now)
    )  # fmt: skip
    await ReminderSettings.insert(
        ReminderSettings(client=cid, channel="text", days_before=2, updated_at=now)
    )
    referral = await CustomField.insert(
        CustomField(practice=p, label="Referral source", kind="text", position=1)
    ).returning(CustomField.id)
    language = await CustomField.insert(
        CustomField(practice=p, label="Preferred language", kind="choice", choices="English\nSpanish", position=2)
    ).returning(CustomField.id)  # fmt: skip
    await CustomFieldValue.insert(
        CustomFieldValue(field=referral[0]["id"], client=cid, value="Dr. Gomez")
    )
    front = await store(
        check_card(factories.image("PNG"), "front.png"), uploaded_by=alice["user_id"]
    )
    old = await InsurancePolicy.insert(
        InsurancePolicy(client=cid, payer="Old Mutual Care", member_id="OLD1", subscriber_name="Alice Tester",
                        subscriber_relationship="self", created_at=now - timedelta(days=400),
                        replaced_at=now - timedelta(days=30))
    ).returning(InsurancePolicy.id)  # fmt: skip
    current = await InsurancePolicy.insert(
        InsurancePolicy(client=cid, payer="Blue Harbor Health", member_id="HBR123456", subscriber_name="Alice Tester",
                        subscriber_relationship="self", card_front=front, created_at=now - timedelta(days=30))
    ).returning(InsurancePolicy.id)  # fmt: skip
    await Client.update({Client.insurance_choice: "insured"}).where(Client.id == cid)
    await loader.apply(definition.parse({"form": [INTAKE, CONSENT]}))
    practice = await current_practice()
    actor = Actor(alice["user_id"], "client", "", "http://testserver.local", practice)
    rows = await FormAssignment.select(
        FormAssignment.id, FormAssignment.template, FormAssignment.template.slug.as_alias("slug")
    ).where(FormAssignment.client == cid)
    forms = {r["slug"]: r for r in rows}
    intake = await assignments.one(cid, forms["intake"]["id"])
    await assignments.submit(
        cid, intake, {"reason": "Trouble sleeping", "signature": "Alice Tester"}, actor=actor
    )
    await factories.ledger(cid, EntryKind.charge, 15000, description="Session charge")
    await factories.ledger(cid, EntryKind.payment, 5000)
    row = await Client.select().where(Client.id == cid).first()
    thread = await sending.start_thread(
        row, actor=actor, to=ruiz["user_id"], subject="Moving Thursday", body="Could we move it?", files=[]
    )  # fmt: skip
    return {
        "practice": p, "alice": alice, "bob": bob, "ruiz": ruiz, "chen": chen, **staff,
        "cid": cid, "policy": current[0]["id"], "old_policy": old[0]["id"], "thread": thread,
        "intake": forms["intake"]["id"], "consent": forms["consent"]["id"],
        "consent_template": forms["consent"]["template"], "intake_template": forms["intake"]["template"],
        "language": language[0]["id"], "referral": referral[0]["id"],
    }  # fmt: skip


def base(s: dict) -> str:
    return f"/staff/clients/{s['cid']}"


async def get(http, path: str, *, htmx: bool = False) -> Page:
    headers = {"HX-Request": "true"} if htmx else {}
    return Page(await http.get(path, headers=headers))


# --- Every section, for the owner ------------------------------------------------------------


async def test_owner_reads_every_section_as_a_page_and_as_a_fragment(http, app):
    s = await scene()
    async with client_for(app) as alice:
        await sign_in(alice, "alice")  # a session and a line of login history
    await sign_in(http, "olivia")
    root = await get(http, base(s))
    assert root.status_code == 200
    assert (
        "Alice Tester" in root.text and "Born 21 April 1986" in root.text and "Active" in root.text
    )
    assert 'aria-current="page">Profile and contacts' in root.raw
    for key in SECTIONS:
        page = await get(http, f"{base(s)}/{key}")
        assert page.status_code == 200, (key, page.text)
        assert "<html" in page.raw and "Find a client" in page.text
        for text in SHOWS[key]:
            assert text in page.text, (key, text)
        fragment = await get(http, f"{base(s)}/{key}", htmx=True)
        assert fragment.status_code == 200
        assert "<html" not in fragment.raw and 'id="record-nav"' in fragment.raw
        assert 'hx-swap-oob="true"' in fragment.raw and "<title>" in fragment.raw
        for text in SHOWS[key]:
            assert text in fragment.text, (key, text)
    # The nav loads each section with htmx, pushing its URL; every section is in the owner's.
    for key in SECTIONS:
        assert (
            f'hx-get="{base(s)}/{key}" hx-target="#record-section" hx-push-url="true"' in root.raw
        )


async def test_every_section_read_is_audited_with_its_part(http):
    s = await scene()
    await sign_in(http, "olivia")
    parts = {"profile": "contact"}
    for key in SECTIONS:
        await AuditEvent.delete().where(AuditEvent.action == "staff.read")
        assert (await http.get(f"{base(s)}/{key}")).status_code == 200
        rows = (
            await AuditEvent.select()
            .where(AuditEvent.action == "staff.read")
            .output(load_json=True)
        )
        assert len(rows) == 1, key
        assert rows[0]["actor"] == s["owner"] and rows[0]["subject"] == f"client:{s['cid']}"
        assert rows[0]["detail"]["part"] == parts.get(key, key)


async def test_sections_cost_a_bounded_number_of_queries(app, http):
    s = await scene()
    await sign_in(http, "olivia")
    seen_counts = {}
    for rounds in (1, 2):
        if rounds == 2:  # more of everything: the counts stay the same
            for i in range(15):
                when = utcnow() - timedelta(days=40 + i)
                await factories.appointment(
                    s["cid"],
                    s["ruiz"]["provider_id"],
                    (await factories.service(s["practice"])),
                    when,
                )
                await factories.ledger(s["cid"], EntryKind.charge, 1000 + i)
                await LoginAttempt.insert(
                    LoginAttempt(
                        user=s["alice"]["user_id"],
                        username="alice",
                        ip="198.51.100.1",
                        outcome="success",
                        at=when,
                    )
                )
        counts = {}
        for key in SECTIONS:
            with count_queries(app.state.engine) as seen:
                assert (
                    await http.get(f"{base(s)}/{key}", headers={"HX-Request": "true"})
                ).status_code == 200
            counts[key] = len(seen)
        seen_counts[rounds] = counts
    assert seen_counts[1] == seen_counts[2], seen_counts
    # The session, the client row and its audit row, then the section's own reads (at most
    # five: the profile's invitation state, phones, emails, contacts and reminders).
    assert max(seen_counts[2].values()) <= 8, seen_counts


# --- Who may open what ------------------------------------------------------------------------


async def test_the_biller_cannot_open_forms_or_a_submitted_form(http):
    s = await scene()
    await sign_in(http, "tom")
    root = await get(http, base(s))
    assert (
        root.status_code == 200
        and "/forms" not in root.raw.split('id="record-nav"')[1].split("</nav>")[0]
    )
    for path in (
        "/forms",
        f"/forms/{s['intake']}",
        f"/forms/{s['intake']}/pdf",
        "/demographics",
        "/security",
    ):
        assert (await http.get(base(s) + path)).status_code == 404, path
    r = await post_form(
        http, f"{base(s)}/forms", {"template": str(s["consent_template"])}, page=base(s)
    )
    assert r.status_code == 404
    # Billing and insurance are the biller's; the thread addressed to Dr. Ruiz is not.
    assert (await http.get(f"{base(s)}/billing")).status_code == 200
    assert (await http.get(f"{base(s)}/insurance/{s['policy']}/front")).status_code == 200
    messages = await get(http, f"{base(s)}/messages")
    assert messages.status_code == 200 and "Moving Thursday" not in messages.text


async def test_a_provider_reaches_their_client_but_nothing_of_anyone_elses(http):
    s = await scene()
    await sign_in(http, "chen")  # Bob's provider, not Alice's
    paths = ["", *(f"/{k}" for k in SECTIONS), f"/forms/{s['intake']}", f"/forms/{s['intake']}/pdf",
             f"/insurance/{s['policy']}/front"]  # fmt: skip
    for path in paths:
        assert (await http.get(base(s) + path)).status_code == 404, path
    posts = {
        "/demographics": {"gender": "Female"}, "/forms": {"template": str(s["consent_template"])},
        "/deactivate": {}, "/reactivate": {}, "/sessions/end": {}, "/unlock": {},
        "/two-factor/reset": {"identity_check": "phone", "identity_confirmed": "yes"},
    }  # fmt: skip
    for path, data in posts.items():
        r = await post_form(http, base(s) + path, data, page="/staff")
        assert r.status_code == 404, path
    assert (await Client.select(Client.status).where(Client.id == s["cid"]).first())[
        "status"
    ] == "active"
    assert not await CustomFieldValue.exists().where(CustomFieldValue.value == "Female")
    assert not await AuditEvent.exists().where(AuditEvent.action == "staff.read")
    async with signed_in(http._transport.app, "ruiz") as ruiz:  # Alice's provider
        for key in SECTIONS:
            assert (await ruiz.get(f"{base(s)}/{key}")).status_code == 200, key
        page = await get(ruiz, f"{base(s)}/security")
        assert "Account actions" not in page.text  # no Part.manage
        r = await post_form(ruiz, f"{base(s)}/deactivate", page="/staff")
        assert r.status_code == 404


async def test_the_scheduler_sees_profile_and_appointments_only(http):
    s = await scene()
    await sign_in(http, "priya")
    nav = (await get(http, base(s))).raw.split('id="record-nav"')[1].split("</nav>")[0]
    assert "Profile and contacts" in nav and "Appointments" in nav
    for key in ("demographics", "insurance", "forms", "billing", "security"):
        assert key not in nav
        assert (await http.get(f"{base(s)}/{key}")).status_code == 404, key
    for key in ("profile", "appointments", "messages"):
        assert (await http.get(f"{base(s)}/{key}")).status_code == 200, key


async def test_clients_and_strangers_are_kept_out(http, app):
    s = await scene()
    assert (await http.get(base(s))).status_code in (302, 303, 401)
    await sign_in(http, "alice")
    assert (await http.get(f"{base(s)}/profile")).status_code == 403
    async with signed_in(app, "olivia") as owner:
        assert (await owner.get("/staff/clients/999999/profile")).status_code == 404
        assert (await owner.get(f"{base(s)}/nonsense")).status_code == 404


# --- Demographics -----------------------------------------------------------------------------


async def test_demographics_refused_keeps_input_and_saved_is_audited(http):
    s = await scene()
    await sign_in(http, "olivia")
    url = f"{base(s)}/demographics"
    bad = {"gender": "Female", "employment": "Astronaut", f"custom_{s['referral']}": "A friend",
           f"custom_{s['language']}": "Spanish"}  # fmt: skip
    r = await post_form(http, url, bad, page=url, htmx=True)
    page = Page(r)
    assert r.status_code == 422 and "<html" not in page.raw
    assert "Choose one of the listed options for employment." in page.text
    assert 'value="A friend"' in page.raw and "<option selected>Female</option>" in page.raw
    assert 'aria-describedby="demo-employment-error"' in page.raw
    assert (await Client.select(Client.gender).where(Client.id == s["cid"]).first())["gender"] == ""
    # Without JavaScript, the whole page with the same message.
    r = await post_form(http, url, bad, page=url)
    assert (
        r.status_code == 422 and "<html" in r.text and "Astronaut" not in r.text.split("<select")[0]
    )

    good = {**bad, "employment": "Student"}
    r = await post_form(http, url, good, page=url, htmx=True)
    assert r.status_code == 200 and "Demographics saved." in r.text
    row = await Client.select(Client.gender, Client.employment).where(Client.id == s["cid"]).first()
    assert row == {"gender": "Female", "employment": "Student"}
    values = {
        r["field"]: r["value"]
        for r in await CustomFieldValue.select().where(CustomFieldValue.client == s["cid"])
    }
    assert values == {s["referral"]: "A friend", s["language"]: "Spanish"}
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "staff.demographics_changed")
        .output(load_json=True)
        .first()
    )
    assert event["actor"] == s["owner"] and event["detail"]["client"] == s["cid"]
    # No JavaScript: post/redirect/get to the section, which says it was saved.
    r = await post_form(http, url, good, page=url)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?done=demographics"
    assert "Demographics saved." in (await http.get(r.headers["location"])).text


# --- Forms ------------------------------------------------------------------------------------


async def test_assign_a_form_and_a_clear_answer_when_it_is_open_already(http):
    s = await scene()
    await sign_in(http, "marcus")
    url = f"{base(s)}/forms"
    # The consent form is still open for Alice: assigning it again changes nothing.
    r = await post_form(http, url, {"template": str(s["consent_template"])}, page=url, htmx=True)
    assert (
        r.status_code == 409
        and "Consent to treatment is already waiting for this client." in Page(r).text
    )
    assert f'<option value="{s["consent_template"]}" selected>' in r.text
    r = await post_form(http, url, {"template": ""}, page=url, htmx=True)
    assert r.status_code == 422 and "Choose the form to assign." in r.text
    before = await FormAssignment.count().where(FormAssignment.client == s["cid"])
    # The intake was submitted: a new copy may be assigned.
    r = await post_form(http, url, {"template": str(s["intake_template"])}, page=url)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?done=assigned"
    assert await FormAssignment.count().where(FormAssignment.client == s["cid"]) == before + 1
    assert await AuditEvent.exists().where(
        AuditEvent.action == "forms.assigned", AuditEvent.actor == s["manager"]
    )
    page = await get(http, r.headers["location"])
    assert "The form was assigned." in page.text
    # The client sees it, to complete.
    new = await FormAssignment.select(FormAssignment.id).where(
        FormAssignment.client == s["cid"], FormAssignment.status == "open",
        FormAssignment.template == s["intake_template"],
    ).first()  # fmt: skip
    async with signed_in(http._transport.app, "alice") as alice:
        assert f'href="/forms/{new["id"]}"' in (await alice.get("/forms")).text


async def test_a_submitted_form_reads_as_a_page_and_a_pdf(http):
    s = await scene()
    await sign_in(http, "ruiz")
    page = await get(http, f"{base(s)}/forms/{s['intake']}")
    assert page.status_code == 200
    assert (
        "Intake questionnaire" in page.text
        and "Trouble sleeping" in page.text
        and "Signed by Alice Tester" in page.text
    )
    pdf = await http.get(f"{base(s)}/forms/{s['intake']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # The consent form is still open: there is no response to read yet.
    assert (await http.get(f"{base(s)}/forms/{s['consent']}")).status_code == 404
    # Bob's id under Alice's record is nobody's.
    bob_form = await FormAssignment.insert(
        FormAssignment(client=s["bob"]["client_id"], template=s["intake_template"], assigned_at=utcnow(), status="submitted")
    ).returning(FormAssignment.id)  # fmt: skip
    assert (await http.get(f"{base(s)}/forms/{bob_form[0]['id']}")).status_code == 404


async def test_card_images_only_through_the_clients_own_policy(http):
    s = await scene()
    await sign_in(http, "tom")
    r = await http.get(f"{base(s)}/insurance/{s['policy']}/front")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG") and "attachment" in r.headers["content-disposition"]
    assert (await http.get(f"{base(s)}/insurance/{s['policy']}/back")).status_code == 404
    assert (await http.get(f"{base(s)}/insurance/{s['policy']}/side")).status_code == 404
    bob = f"/staff/clients/{s['bob']['client_id']}"
    assert (await http.get(f"{bob}/insurance/{s['policy']}/front")).status_code == 404


# --- The account actions ----------------------------------------------------------------------


async def test_deactivate_ends_sessions_and_the_client_cannot_sign_in(http, app):
    s = await scene()
    async with signed_in(app, "alice") as alice:
        assert (await alice.get("/")).status_code == 200
        await sign_in(http, "olivia")
        url = f"{base(s)}/deactivate"
        r = await post_form(http, url, page=f"{base(s)}/security", htmx=True)
        page = Page(r)
        assert r.status_code == 200 and "The client is inactive now" in page.text
        assert (
            'id="record-head" class="record-head" hx-swap-oob="true"' in page.raw
            and "Inactive" in page.text
        )
        assert "Reactivate client" in page.text
        assert (await alice.get("/")).status_code == 303  # the session ended
    assert not await Session.exists().where(Session.user == s["alice"]["user_id"])
    assert (await User.select(User.active).where(User.id == s["alice"]["user_id"]).first())[
        "active"
    ] is False
    assert (await Client.select(Client.status).where(Client.id == s["cid"]).first())[
        "status"
    ] == "inactive"
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "staff.client_deactivated")
        .output(load_json=True)
        .first()
    )
    assert event["detail"]["sessions_ended"] == 1 and event["actor"] == s["owner"]
    async with client_for(app) as fresh:
        r = await sign_in(fresh, "alice")
        assert r.status_code != 303 and "do not match an active account" in Page(r).text
    # Again: a clear refusal, nothing changed.
    r = await post_form(http, f"{base(s)}/deactivate", page=f"{base(s)}/security", htmx=True)
    assert r.status_code == 409 and "inactive already" in r.text
    # Reactivated, without JavaScript: she may sign in again.
    r = await post_form(http, f"{base(s)}/reactivate", page=f"{base(s)}/security")
    assert r.status_code == 303 and r.headers["location"] == f"{base(s)}/security?done=reactivated"
    async with client_for(app) as fresh:
        assert (await sign_in(fresh, "alice")).headers["location"] == "/"


async def test_end_all_the_clients_sessions(http, app):
    s = await scene()
    async with signed_in(app, "alice") as one, signed_in(app, "alice") as two:
        await sign_in(http, "marcus")
        page = await get(http, f"{base(s)}/security")
        assert page.text.count("Signed in ") >= 2
        r = await post_form(http, f"{base(s)}/sessions/end", page=f"{base(s)}/security", htmx=True)
        assert r.status_code == 200 and "Every session of the client was ended." in r.text
        assert "Not signed in anywhere." in r.text
        assert (await one.get("/")).status_code == 303 and (await two.get("/")).status_code == 303
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "staff.client_sessions_ended")
        .output(load_json=True)
        .first()
    )
    assert event["detail"]["sessions_ended"] == 2
    # The account itself stays active.
    async with client_for(app) as fresh:
        assert (await sign_in(fresh, "alice")).headers["location"] == "/"


async def test_two_factor_reset_needs_an_identity_check_then_mails_the_client(http, app):
    s = await scene()
    async with signed_in(app, "alice") as alice:
        await enable_two_factor(alice)
    await sign_in(http, "olivia")
    url, page = f"{base(s)}/two-factor/reset", f"{base(s)}/security"
    r = await post_form(
        http, url, {"identity_check": "", "identity_note": "Lost her phone"}, page=page, htmx=True
    )
    assert r.status_code == 422
    text = Page(r).text
    assert "Choose how you checked" in text and "Tick the box" in text and "Lost her phone" in text
    assert 'aria-describedby="reset-hint reset-check-error"' in r.text
    assert (
        await User.select(User.totp_enabled_at).where(User.id == s["alice"]["user_id"]).first()
    )["totp_enabled_at"]
    assert await mails("two_factor_reset") == []

    data = {
        "identity_check": "phone",
        "identity_note": "Called back on her mobile",
        "identity_confirmed": "yes",
    }
    r = await post_form(http, url, data, page=page, htmx=True)
    assert r.status_code == 200 and "Two-factor sign-in was reset" in r.text
    user = await User.select().where(User.id == s["alice"]["user_id"]).first()
    assert (
        user["totp_enabled_at"] is None
        and user["totp_secret"] == ""
        and user["totp_pending_secret"] == ""
    )
    sent = await mails("two_factor_reset")
    assert len(sent) == 1 and sent[0]["to_address"] == "alice@mail.example"
    assert "Harbor Counseling" in sent[0]["subject"] and "Tester" not in sent[0]["body"]
    assert "http://testserver.local/login" in sent[0]["body"]
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "staff.two_factor_reset")
        .output(load_json=True)
        .first()
    )
    assert (
        event["detail"]["identity_check"] == "phone"
        and event["detail"]["note"] == "Called back on her mobile"
    )
    assert event["actor"] == s["owner"]
    # She signs in with her password alone.
    async with client_for(app) as fresh:
        assert (await sign_in(fresh, "alice")).headers["location"] == "/"
    # Nothing left to reset.
    r = await post_form(http, url, data, page=page, htmx=True)
    assert r.status_code == 409 and "not on for this client" in r.text


async def test_unlock_lets_a_locked_client_sign_in(http, app, settings):
    s = await scene()
    async with client_for(app) as attacker:
        for _ in range(settings.security.max_failures_per_account):
            await sign_in(attacker, "alice", "not her password")
    async with client_for(app) as fresh:
        r = await sign_in(fresh, "alice")
        assert "Too many unsuccessful attempts" in Page(r).text
    await sign_in(http, "marcus")
    page = await get(http, f"{base(s)}/security")
    assert "Locked" in page.text and "Unlock sign-in" in page.text
    r = await post_form(http, f"{base(s)}/unlock", page=f"{base(s)}/security", htmx=True)
    assert r.status_code == 200 and "Sign-in was unlocked" in r.text
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "staff.sign_in_unlocked")
        .output(load_json=True)
        .first()
    )
    # The locked attempt refused above is not a failure; the five wrong passwords are kept here.
    assert [c["outcome"] for c in event["detail"]["cleared"]] == [
        "wrong_password"
    ] * settings.security.max_failures_per_account
    async with client_for(app) as fresh:
        assert (await sign_in(fresh, "alice")).headers["location"] == "/"
    r = await post_form(http, f"{base(s)}/unlock", page=f"{base(s)}/security", htmx=True)
    assert r.status_code == 409 and "not locked" in r.text


@pytest.mark.parametrize("path", ["/sessions/end", "/unlock", "/two-factor/reset"])
async def test_account_actions_on_a_client_without_an_account_are_refused(http, path):
    s = await scene()
    await Client.update({Client.user: None}).where(Client.id == s["cid"])
    await sign_in(http, "olivia")
    data = {"identity_check": "phone", "identity_confirmed": "yes"}
    r = await post_form(http, base(s) + path, data, page=f"{base(s)}/security", htmx=True)
    assert r.status_code == 409 and "no portal account yet" in r.text
