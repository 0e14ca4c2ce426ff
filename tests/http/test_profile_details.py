"""My Profile's details over HTTP: phones, emails, reminders, contacts, photo ID.

Every form: bad input is a 422 with the message and what was typed, in the section
(htmx) or in the whole page (no JavaScript); good input is the section again (htmx)
or a 303 to the section's page (/profile/phones ...). Another client's rows answer 404 and stay as they were.
Custom client demographics never reach a client page.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from urllib.parse import urljoin, urlsplit

import pytest

from portal.profile import page as profile_page
from portal.profile import reminders
from portal.tables import (
    AuditEvent,
    ClientContact,
    ClientEmail,
    ClientPhone,
    CustomField,
    CustomFieldValue,
    PhotoId,
    ReminderSettings,
    StoredFile,
)
from tests import factories
from tests.web import csrf_from, post_form, sign_in, signed_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"front of the card" * 10
JPEG = b"\xff\xd8\xff\xe0" + b"back of the card" * 10
PDF = b"%PDF-1.4\n%not an image\n"


@pytest.fixture
async def env(http):
    """Alice (signed in) and Bob, clients of one practice."""
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    alice = await factories.client(p, "alice", first_name="Alice")
    bob = await factories.client(p, "bob", first_name="Bob")
    await sign_in(http, "alice")
    return {"practice": p, "alice": alice, "bob": bob}


async def post(http, path: str, data: dict | None = None, *, htmx: bool = False, files=None):
    """A form of /profile; with htmx, HX-Request and the token in the form only."""
    return await post_form(
        http, path, data, page="/profile", files=files, htmx=htmx, token_header=False
    )


def text(r) -> str:
    """The response as a reader sees it: tags out, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", r.text)).split())


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    for row in rows:
        if isinstance(row["detail"], str):
            row["detail"] = json.loads(row["detail"])
    return rows


async def phones_of(client_id: int) -> list[tuple[str, str]]:
    rows = await ClientPhone.select(ClientPhone.kind, ClientPhone.number).where(
        ClientPhone.client == client_id
    )
    return [(r["kind"], r["number"]) for r in rows]


# --- Phones -----------------------------------------------------------------------------------


async def test_phone_numbers_are_validated_and_stored_in_e164(http, env, caplog):
    alice = env["alice"]["client_id"]
    cases = [
        ("", "Enter a phone number."),
        ("12", "That is not a valid phone number"),
        ("call me maybe", "Enter a phone number like (617) 555-0142"),
        ("(617) 555-0142 ext. 12", "Leave out the extension"),
    ]
    for number, message in cases:
        r = await post(http, "/profile/phones", {"kind": "mobile", "number": number}, htmx=True)
        assert r.status_code == 422, number
        assert "<html" not in r.text and 'id="phones"' in r.text
        assert message in text(r)
        assert 'id="phone-new-number-error"' in r.text
        assert re.search(r'id="phone-new-number"[^>]*aria-invalid="true"', r.text, re.S)
        assert f'value="{html.escape(number)}"' in r.text  # what was typed is kept
    r = await post(http, "/profile/phones", {"kind": "pager", "number": "6175550142"}, htmx=True)
    assert r.status_code == 422 and "Choose mobile, home or work." in text(r)
    assert await phones_of(alice) == []

    # Without JavaScript a bad number is the phones page, with the message.
    r = await post(http, "/profile/phones", {"kind": "home", "number": "12"})
    assert r.status_code == 422 and "<html" in r.text and "My Profile" in r.text
    assert "That is not a valid phone number" in text(r) and 'value="12"' in r.text

    r = await post(http, "/profile/phones", {"kind": "mobile", "number": "(617) 555-0142"})
    assert r.status_code == 303 and r.headers["location"] == "/profile/phones?done=phone-added"
    r = await post(
        http, "/profile/phones", {"kind": "work", "number": "+44 20 7946 0958"}, htmx=True
    )
    assert r.status_code == 200 and "<html" not in r.text and "Phone number added." in text(r)
    assert await phones_of(alice) == [("mobile", "+16175550142"), ("work", "+442079460958")]
    # Shown as people write them: national at home, international otherwise.
    assert "(617) 555-0142" in text(r) and "+44 20 7946 0958" in text(r)

    r = await post(http, "/profile/phones", {"kind": "home", "number": "617.555.0142"}, htmx=True)
    assert r.status_code == 422 and "You already have this phone number." in text(r)

    page = await http.get("/profile/phones?done=phone-added")
    assert "Phone number added." in text(page)
    event = (await events("profile.phone_added"))[0]
    assert event["subject"] == f"client:{alice}"
    assert event["detail"] == {"new": {"kind": "mobile", "number": "+16175550142"}}
    assert "+16175550142" not in caplog.text  # audited for staff, not logged


async def test_editing_and_removing_a_phone_is_audited_with_old_and_new(http, env):
    alice = env["alice"]["client_id"]
    await post(http, "/profile/phones", {"kind": "mobile", "number": "6175550142"})
    [phone] = await ClientPhone.select(ClientPhone.id).where(ClientPhone.client == alice)
    r = await post(
        http, f"/profile/phones/{phone['id']}", {"kind": "home", "number": "x"}, htmx=True
    )
    assert r.status_code == 422 and "Enter a phone number like" in text(r)
    # The edit form comes back open, with what was typed, tied to its error.
    assert re.search(r'<details class="edit" open>', r.text)
    assert re.search(rf'id="phone-{phone["id"]}-number"[^>]*value="x"', r.text, re.S)
    assert f'id="phone-{phone["id"]}-number-error"' in r.text

    r = await post(
        http,
        f"/profile/phones/{phone['id']}",
        {"kind": "home", "number": "617-555-0199"},
        htmx=True,
    )
    assert r.status_code == 200 and "Phone number saved." in text(r)
    assert await phones_of(alice) == [("home", "+16175550199")]
    [event] = await events("profile.phone_changed")
    assert event["detail"] == {
        "old": {"kind": "mobile", "number": "+16175550142"},
        "new": {"kind": "home", "number": "+16175550199"},
    }
    r = await post(http, f"/profile/phones/{phone['id']}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/profile/phones?done=phone-removed"
    assert await phones_of(alice) == []
    [event] = await events("profile.phone_removed")
    assert event["detail"] == {"old": {"kind": "home", "number": "+16175550199"}}


# --- Emails -----------------------------------------------------------------------------------


async def emails_of(client_id: int) -> list[tuple[str, bool]]:
    rows = (
        await ClientEmail.select(ClientEmail.address, ClientEmail.is_primary)
        .where(ClientEmail.client == client_id)
        .order_by(ClientEmail.id)
    )
    return [(r["address"], r["is_primary"]) for r in rows]


async def test_exactly_one_primary_email(http, env):
    alice = env["alice"]["client_id"]
    for bad in ("", "not-an-address", "a@b", "two@@example.com", "sp ace@example.com"):
        r = await post(http, "/profile/emails", {"address": bad}, htmx=True)
        assert r.status_code == 422, bad
        assert "Enter an email address" in text(r)
        assert re.search(r'id="email-new-address"[^>]*aria-invalid="true"', r.text, re.S)
    # The first address is the primary one, whether or not it was asked for.
    r = await post(http, "/profile/emails", {"address": "alice@Home.Example"})
    assert r.status_code == 303 and r.headers["location"] == "/profile/emails?done=email-added"
    await post(http, "/profile/emails", {"address": "alice@work.example"})
    assert await emails_of(alice) == [("alice@home.example", True), ("alice@work.example", False)]
    r = await post(http, "/profile/emails", {"address": "ALICE@work.example"}, htmx=True)
    assert r.status_code == 422 and "You already have this email address." in text(r)
    assert 'value="ALICE@work.example"' in r.text

    # Adding one as primary, or making one primary, unsets the other.
    await post(http, "/profile/emails", {"address": "alice@new.example", "primary": "1"})
    assert await emails_of(alice) == [
        ("alice@home.example", False),
        ("alice@work.example", False),
        ("alice@new.example", True),
    ]
    rows = await ClientEmail.select().where(ClientEmail.client == alice).order_by(ClientEmail.id)
    home, work, new = (r["id"] for r in rows)
    r = await post(http, f"/profile/emails/{work}/primary", htmx=True)
    assert r.status_code == 200 and "Your primary email address was changed." in text(r)
    assert [p for _, p in await emails_of(alice)] == [False, True, False]
    [event] = await events("profile.email_primary_changed")
    assert event["detail"] == {
        "old": {"primary": "alice@new.example"},
        "new": {"primary": "alice@work.example"},
    }

    # The primary address cannot be removed; another one can.
    r = await post(http, f"/profile/emails/{work}/delete", htmx=True)
    assert r.status_code == 422 and "This is your primary address." in text(r)
    assert f'id="email-{work}-error"' in r.text
    r = await post(http, f"/profile/emails/{work}/delete")
    assert r.status_code == 422 and "<html" in r.text and "This is your primary address." in text(r)
    r = await post(http, f"/profile/emails/{home}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/profile/emails?done=email-removed"
    await post(http, f"/profile/emails/{new}/delete")
    assert await emails_of(alice) == [("alice@work.example", True)]
    r = await post(http, f"/profile/emails/{work}/delete", htmx=True)
    assert r.status_code == 422 and "This is your only email address." in text(r)
    assert await emails_of(alice) == [("alice@work.example", True)]


# --- Reminders --------------------------------------------------------------------------------


async def test_reminder_settings_validation_and_extra_recipients(http, env):
    alice = env["alice"]["client_id"]
    page = text(await http.get("/profile/reminders"))
    assert "Appointment reminders" in page  # defaults shown before anything is saved

    r = await post(http, "/profile/reminders", {"channel": "email", "days_before": "1"}, htmx=True)
    assert r.status_code == 422 and "Email reminders need an email address" in text(r)
    await post(http, "/profile/emails", {"address": "alice@home.example"})
    for days in ("0", "6", "two", ""):
        r = await post(
            http, "/profile/reminders", {"channel": "email", "days_before": days}, htmx=True
        )
        assert r.status_code == 422 and "Choose 1 to 5 days before the appointment." in text(r), (
            days
        )
    r = await post(http, "/profile/reminders", {"channel": "pigeon", "days_before": "2"}, htmx=True)
    assert r.status_code == 422 and "Choose how to be reminded" in text(r)
    r = await post(http, "/profile/reminders", {"channel": "text", "days_before": "2"}, htmx=True)
    assert r.status_code == 422 and "Text reminders need a mobile phone number" in text(r)
    await post(http, "/profile/phones", {"kind": "home", "number": "6175550100"})
    r = await post(http, "/profile/reminders", {"channel": "both", "days_before": "2"}, htmx=True)
    assert r.status_code == 422 and "Text reminders need a mobile phone number" in text(r)
    await post(http, "/profile/phones", {"kind": "mobile", "number": "6175550101"})

    bad = {
        "channel": "both",
        "days_before": "3",
        "r0_name": "",
        "r0_email": "sam@family.example",
        "r1_name": "Robin",
        "r1_email": "robin-at-example",
        "r1_phone": "555",
        "r2_name": "Kit",
    }
    r = await post(http, "/profile/reminders", bad, htmx=True)
    assert r.status_code == 422
    t = text(r)
    assert "Enter this person's name." in t
    assert "Enter an email address like name@example.com." in t
    assert "That is not a valid phone number" in t
    assert "Give an email address or a phone number for this person." in t
    for field in ("r0-name", "r1-email", "r1-phone", "r2-email"):
        assert re.search(rf'id="reminder-{field}"[^>]*aria-invalid="true"', r.text, re.S), field
    # Everything typed is still there, the choices too.
    for value in ("sam@family.example", "Robin", "robin-at-example", "Kit"):
        assert f'value="{value}"' in r.text
    assert re.search(r'value="both" checked', r.text)
    assert re.search(r'<option value="3" selected>', r.text)
    assert await ReminderSettings.count() == 0

    good = {
        "channel": "both",
        "days_before": "3",
        "r0_name": "Sam Tester",
        "r0_email": "sam@family.example",
        "r1_name": "Robin Tester",
        "r1_phone": "(617) 555-0177",
    }
    r = await post(http, "/profile/reminders", good)
    assert r.status_code == 303 and r.headers["location"] == "/profile/reminders?done=reminders"
    saved = await reminders.reminder_settings(alice)
    assert saved["channel"] == "both" and saved["days_before"] == 3
    assert [(p["name"], p["email"], p["phone"]) for p in saved["recipients"]] == [
        ("Sam Tester", "sam@family.example", ""),
        ("Robin Tester", "", "+16175550177"),
    ]
    page = await http.get("/profile/reminders?done=reminders")
    assert "Reminder settings saved." in text(page) and 'value="(617) 555-0177"' in page.text

    # Ticking "stop reminding" drops a person; the audit keeps before and after.
    r = await post(
        http, "/profile/reminders", {**good, "channel": "email", "r0_remove": "1"}, htmx=True
    )
    assert r.status_code == 200 and "Reminder settings saved." in text(r)
    saved = await reminders.reminder_settings(alice)
    assert saved["channel"] == "email"
    assert [p["name"] for p in saved["recipients"]] == ["Robin Tester"]
    event = (await events("profile.reminders_changed"))[-1]
    assert event["detail"]["old"]["channel"] == "both"
    assert [p["name"] for p in event["detail"]["old"]["recipients"]] == [
        "Sam Tester",
        "Robin Tester",
    ]
    assert event["detail"]["new"]["channel"] == "email"

    too_many = {"channel": "none", "days_before": "1"}
    for i in range(reminders.MAX_RECIPIENTS + 1):
        too_many |= {f"r{i}_name": f"Person {i}", f"r{i}_email": f"p{i}@family.example"}
    r = await post(http, "/profile/reminders", too_many, htmx=True)
    assert r.status_code == 422 and "Add up to 5 people." in text(r)


# --- Contacts ---------------------------------------------------------------------------------


async def contacts_of(client_id: int) -> list[tuple]:
    rows = (
        await ClientContact.select(
            ClientContact.name,
            ClientContact.phone,
            ClientContact.email,
            ClientContact.is_responsible_party,
            ClientContact.responsible_for_payment,
        )
        .where(ClientContact.client == client_id)
        .order_by(ClientContact.id)
    )
    return [tuple(r.values()) for r in rows]


async def test_contacts_with_at_most_one_responsible_party(http, env):
    alice = env["alice"]["client_id"]
    r = await post(http, "/profile/contacts", {"relationship": "Mother"}, htmx=True)
    assert r.status_code == 422
    assert "Enter the contact's name." in text(r)
    assert "Give a phone number or an email address" in text(r)
    assert 'value="Mother"' in r.text
    r = await post(
        http, "/profile/contacts", {"name": "Pat", "phone": "123", "email": "pat@"}, htmx=True
    )
    assert r.status_code == 422
    assert "That is not a valid phone number" in text(r) and "Enter an email address like" in text(
        r
    )
    assert re.search(r'id="contact-new-phone"[^>]*aria-invalid="true"', r.text, re.S)
    r = await post(http, "/profile/contacts", {"name": "x" * 151, "email": "pat@family.example"})
    assert r.status_code == 422 and "<html" in r.text and "150 characters or fewer" in text(r)
    assert await contacts_of(alice) == []

    r = await post(
        http,
        "/profile/contacts",
        {"name": "Pat Tester", "relationship": "Mother", "phone": "(617) 555-0150",
         "is_responsible_party": "1", "responsible_for_payment": "1"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/profile/contacts?done=contact-added"
    r = await post(
        http,
        "/profile/contacts",
        {"name": "Lee Tester", "email": "lee@family.example", "is_responsible_party": "1"},
        htmx=True,
    )
    assert r.status_code == 200
    assert "Lee Tester is now your responsible party instead of Pat Tester." in text(r)
    assert await contacts_of(alice) == [
        ("Pat Tester", "+16175550150", "", False, True),
        ("Lee Tester", "", "lee@family.example", True, False),
    ]
    rows = (
        await ClientContact.select(ClientContact.id)
        .where(ClientContact.client == alice)
        .order_by(ClientContact.id)
    )
    pat, lee = (row["id"] for row in rows)

    # Editing Pat back into the role takes it from Lee: still one.
    r = await post(
        http, f"/profile/contacts/{pat}",
        {"name": "Pat Q. Tester", "relationship": "Mother", "phone": "617 555 0150",
         "is_responsible_party": "1"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/profile/contacts?done=contact-party"
    assert await contacts_of(alice) == [
        ("Pat Q. Tester", "+16175550150", "", True, False),
        ("Lee Tester", "", "lee@family.example", False, False),
    ]
    [event] = await events("profile.contact_changed")
    assert event["detail"]["old"]["name"] == "Pat Tester"
    assert event["detail"]["new"]["name"] == "Pat Q. Tester"
    assert event["detail"]["responsible_party_was"] == "Lee Tester"
    page = text(await http.get("/profile/contacts?done=contact-party"))
    assert "It is now your only responsible party." in page

    r = await post(http, f"/profile/contacts/{lee}", {"name": "", "email": "lee@"}, htmx=True)
    assert r.status_code == 422 and "Enter the contact's name." in text(r)
    assert re.search(rf'id="contact-{lee}-email"[^>]*value="lee@"', r.text, re.S)

    r = await post(http, f"/profile/contacts/{lee}/delete", htmx=True)
    assert r.status_code == 200 and "Contact removed." in text(r) and "Lee Tester" not in r.text
    assert [c[0] for c in await contacts_of(alice)] == ["Pat Q. Tester"]
    [event] = await events("profile.contact_removed")
    assert event["detail"]["old"]["email"] == "lee@family.example"


# --- Photo ID ---------------------------------------------------------------------------------


async def test_photo_id_images_are_checked_replaced_and_downloaded_by_their_owner(http, env):
    alice = env["alice"]["client_id"]
    r = await post(
        http, "/profile/photo-id", files={"front": ("", b"", "application/octet-stream")}, htmx=True
    )
    assert r.status_code == 422 and "Choose an image of the front or the back of your ID." in text(
        r
    )
    r = await post(
        http, "/profile/photo-id", files={"front": ("licence.pdf", PDF, "image/png")}, htmx=True
    )
    assert r.status_code == 422
    assert "is not a JPG, PNG, GIF, BMP file (judged by its content, not its name)" in text(r)
    assert re.search(r'id="photo-id-front"[^>]*aria-invalid="true"', r.text, re.S)
    big = PNG + b"\x00" * (10 * 1024 * 1024)
    r = await post(http, "/profile/photo-id", files={"back": ("huge.png", big, "image/png")})
    assert r.status_code == 422 and "<html" in r.text and "larger than 10 MB" in text(r)
    assert await StoredFile.count() == 0 and await PhotoId.count() == 0

    r = await post(
        http, "/profile/photo-id",
        files={"front": ("my licence.png", PNG, "image/png"), "back": ("back.jpeg", JPEG, "image/jpeg")},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/profile/photo-id?done=photo-id"
    page = await http.get("/profile/photo-id?done=photo-id")
    assert "Photo ID saved." in text(page)
    assert 'href="/profile/photo-id/front"' in page.text and "my licence.png" in page.text

    r = await http.get("/profile/photo-id/front")
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"].startswith("image/png")
    assert r.headers["content-disposition"].startswith('attachment; filename="my licence.png"')
    r = await http.get("/profile/photo-id/back")
    assert r.status_code == 200 and r.content == JPEG
    assert (await http.get("/profile/photo-id/side")).status_code == 404

    # A new front replaces the old one, whose bytes are gone; the back stays.
    new_front = PNG + b"new"
    r = await post(
        http, "/profile/photo-id", files={"front": ("new.png", new_front, "image/png")}, htmx=True
    )
    assert r.status_code == 200 and "Photo ID saved." in text(r) and "new.png" in r.text
    assert (await http.get("/profile/photo-id/front")).content == new_front
    assert (await http.get("/profile/photo-id/back")).content == JPEG
    assert await StoredFile.count() == 2
    events_ = await events("profile.photo_id_replaced")
    assert [e["detail"]["side"] for e in events_] == ["front", "back", "front"]
    assert events_[-1]["detail"]["old"]["name"] == "my licence.png"
    assert events_[-1]["detail"]["new"]["name"] == "new.png"
    assert events_[-1]["subject"] == f"client:{alice}"


# --- Who may touch what -----------------------------------------------------------------------


async def test_another_clients_rows_are_not_found(http, app, env):
    bob = env["bob"]["client_id"]
    bob_phone = (
        await ClientPhone.insert(
            ClientPhone(client=bob, kind="mobile", number="+16175550111")
        ).returning(ClientPhone.id)
    )[0]["id"]
    bob_emails = [
        (
            await ClientEmail.insert(ClientEmail(client=bob, address=a, is_primary=p)).returning(
                ClientEmail.id
            )
        )[0]["id"]
        for a, p in (("bob@home.example", True), ("bob@work.example", False))
    ]
    bob_contact = (
        await ClientContact.insert(
            ClientContact(client=bob, name="Bob's Mum", phone="+16175550112")
        ).returning(ClientContact.id)
    )[0]["id"]
    front = (
        await StoredFile.insert(
            StoredFile(
                content_type="image/png",
                display_name="bob.png",
                size=len(PNG),
                sha256=hashlib.sha256(PNG).hexdigest(),
                data=PNG,
            )
        ).returning(StoredFile.id)
    )[0]["id"]
    await PhotoId.insert(PhotoId(client=bob, front=front))

    attempts = [
        (f"/profile/phones/{bob_phone}", {"kind": "home", "number": "6175550199"}),
        (f"/profile/phones/{bob_phone}", {"kind": "home", "number": "not a number"}),
        (f"/profile/phones/{bob_phone}/delete", {}),
        (f"/profile/emails/{bob_emails[1]}/primary", {}),
        (f"/profile/emails/{bob_emails[1]}/delete", {}),
        (f"/profile/emails/{bob_emails[0]}/delete", {}),
        (f"/profile/contacts/{bob_contact}", {"name": "Mallory", "email": "m@evil.example"}),
        (f"/profile/contacts/{bob_contact}", {"name": ""}),
        (f"/profile/contacts/{bob_contact}/delete", {}),
        ("/profile/phones/999999", {"kind": "home", "number": "6175550199"}),
    ]
    for path, data in attempts:
        for htmx in (False, True):
            r = await post(http, path, data, htmx=htmx)
            assert r.status_code == 404, (path, htmx)
            assert "Bob" not in r.text and "bob@" not in r.text
    # Alice has no photo ID: Bob's is not hers to download.
    r = await http.get("/profile/photo-id/front")
    assert r.status_code == 404 and PNG not in r.content

    assert await phones_of(bob) == [("mobile", "+16175550111")]
    assert await emails_of(bob) == [("bob@home.example", True), ("bob@work.example", False)]
    assert [c[0] for c in await contacts_of(bob)] == ["Bob's Mum"]
    assert await PhotoId.count().where(PhotoId.front == front) == 1
    assert await AuditEvent.count().where(AuditEvent.action.like("profile.%")) == 0


async def test_staff_have_no_client_details_and_forms_need_csrf(http, app, env):
    # Without the CSRF token nothing is written.
    r = await http.post("/profile/phones", data={"kind": "mobile", "number": "6175550142"})
    assert r.status_code == 403
    assert await ClientPhone.count() == 0

    await factories.staff("ownr")
    async with signed_in(app, "ownr") as staff:
        page = await staff.get("/profile")
        assert page.status_code == 200
        assert 'id="phones"' not in page.text and "Photo ID" not in page.text
        token = csrf_from(page.text)
        r = await staff.post(
            "/profile/phones", data={"kind": "mobile", "number": "6175550142", "_csrf_token": token}
        )
        assert r.status_code == 403
        assert (await staff.get("/profile/photo-id/front")).status_code == 403
        for path in ("/profile/phones", "/profile/photo-id"):  # clients' sections only
            assert (await staff.get(path)).status_code == 403
    assert await ClientPhone.count() == 0


# --- Custom demographics stay with staff ------------------------------------------------------

SECRET_LABEL = "Zeta-Field Preferred Pseudonym 7Q"
SECRET_VALUE = "Quokka-Lantern-48213"
LINK = re.compile(r'(?:href|hx-get|action)="(/[^"#]*)')
# Not pages: leaving, or files to download (checked separately where they matter).
SKIP = re.compile(r"^/(logout|static/)|\.(pdf|ics)$|^/profile/photo-id/")


async def test_custom_demographics_never_reach_a_client_page(http, env):
    alice = env["alice"]["client_id"]
    field = (
        await CustomField.insert(
            CustomField(practice=env["practice"], label=SECRET_LABEL)
        ).returning(CustomField.id)
    )[0]["id"]
    await CustomFieldValue.insert(CustomFieldValue(field=field, client=alice, value=SECRET_VALUE))
    # Something in every section, so every partial renders its full markup.
    await post(http, "/profile/phones", {"kind": "mobile", "number": "6175550142"})
    await post(http, "/profile/emails", {"address": "alice@home.example"})
    await post(
        http,
        "/profile/contacts",
        {"name": "Pat", "email": "pat@family.example", "is_responsible_party": "1"},
    )
    await post(
        http,
        "/profile/reminders",
        {"channel": "both", "days_before": "2", "r0_name": "Sam", "r0_email": "sam@family.example"},
    )
    await post(http, "/profile/photo-id", files={"front": ("front.png", PNG, "image/png")})

    def clean(r, where: str) -> None:
        assert SECRET_VALUE not in r.text and SECRET_LABEL not in r.text, where
        assert "Zeta-Field" not in r.text and "Quokka" not in r.text, where

    # Every page reachable by following links from the dashboard and the profile.
    seen: set[str] = set()
    queue = ["/", "/profile", "/profile/phones?done=phone-added"]
    while queue and len(seen) < 80:
        path = queue.pop(0)
        if path in seen or SKIP.search(urlsplit(path).path):
            continue
        seen.add(path)
        r = await http.get(path)
        clean(r, path)
        if r.status_code == 200 and "text/html" in r.headers.get("content-type", ""):
            for link in LINK.findall(r.text):
                target = urljoin(path, html.unescape(link))
                if target not in seen:
                    queue.append(target)
    assert {"/", "/profile", "/profile/two-factor", "/profile/sessions"} <= seen
    assert "/profile/login-history" in seen
    sections = ("phones", "emails", "reminders", "contacts", "photo-id", "username-password")
    assert {f"/profile/{s}" for s in sections} <= seen

    # And every fragment the detail forms answer with, good and bad.
    for path, data in [
        ("/profile/phones", {"kind": "mobile", "number": "6175550143"}),
        ("/profile/phones", {"kind": "mobile", "number": "bad"}),
        ("/profile/emails", {"address": "bad"}),
        ("/profile/reminders", {"channel": "email", "days_before": "9"}),
        ("/profile/contacts", {"name": ""}),
    ]:
        for htmx in (True, False):
            r = await post(http, path, data, htmx=htmx)
            clean(r, f"POST {path}")
    r = await post(http, "/profile/photo-id", files={"back": ("x.pdf", PDF, "image/png")})
    clean(r, "POST /profile/photo-id")
    r = await http.get("/profile/photo-id/front")
    assert r.status_code == 200 and SECRET_VALUE.encode() not in r.content


async def test_the_demo_client_has_details_to_show():
    from portal.demo import practice as demo
    from portal.tables import Client, User

    await demo.seed(password="a demo passphrase for tests")
    user = await User.select(User.id, User.email).where(User.username == "client").first()
    client = await Client.select().where(Client.user == user["id"]).first()
    shown = await profile_page.context_for(client)
    assert [p["kind"] for p in shown["phones"]] == ["mobile", "work"]
    assert all(p["number"].startswith("+1617555") for p in shown["phones"])
    assert [(e["address"], e["is_primary"]) for e in shown["emails"]] == [(user["email"], True)]
    assert shown["reminders"]["channel"] == "both" and shown["reminders"]["days_before"] == 2
    [party] = shown["contacts"]
    assert party["is_responsible_party"] and party["responsible_for_payment"]
    assert party["relationship"] == "Spouse"
    # Only the demo client among those with accounts: the other demo clients have none of it
    # (the two the staff side adds, with no account, have a mobile number each).
    with_accounts = ClientPhone.client.user.is_not_null()
    assert await ClientPhone.count().where(with_accounts) == 2
    assert await ClientContact.count() == 1
